// Shared by the tracker route tests: the Matomo and Plausible fixtures sent through HTTP,
// and what a request left in Redis (new records, opt-out counter changes).
import { createRequire } from 'node:module';
import { optoutCounterKey } from '../../src/contract/keys.js';
import { fixture, type FixtureRequest } from '../formats/helpers.js';
import type { TestApp } from './app.js';

/** The Matomo organisation's Node client (npm matomo-tracker 2.2.4, index.js): what the tests use of it. */
export interface MatomoTracker {
  track(options: string | Record<string, string | number>): void;
  trackBulk(events: Record<string, string | number>[], callback?: (body: string) => void): void;
  on(event: 'error', listener: (err: unknown) => void): void;
}
type MatomoTrackerCtor = new (siteId: number | string, trackerUrl: string, noURLValidation?: boolean) => MatomoTracker;
export const MatomoTracker = createRequire(import.meta.url)('matomo-tracker') as MatomoTrackerCtor;

export type Rec = {
  id: string;
  site: string;
  event: string;
  mode: string;
  tracker?: string;
  visitor?: string;
  geo?: Record<string, string>;
  props: Record<string, unknown>;
};

/** The requests of a Matomo fixture file (test/fixtures/matomo), as matomo.js builds them. */
export function matomoRequests(name: 'transports' | 'actions' | 'bulk' | 'hostile'): FixtureRequest[] {
  return fixture<{ requests: FixtureRequest[] }>('matomo', name).requests;
}

/** Sends a fixture request to a listening collector, as the browser sent it (headers may be changed or dropped with undefined). */
export function send(
  base: string,
  r: FixtureRequest,
  opts: { headers?: Record<string, string | undefined>; query?: string; body?: string; path?: string } = {},
): Promise<Response> {
  const query = opts.query ?? r.rawQueryString;
  const headers = Object.fromEntries(
    Object.entries({ ...r.headers, ...opts.headers }).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const body = opts.body ?? r.body;
  return fetch(`${base}${opts.path ?? r.path}${query ? `?${query}` : ''}`, {
    method: r.method,
    headers,
    ...(r.method === 'GET' ? {} : { body }),
  });
}

/** Runs `fn`, then returns the records it added to the stream and the opt-out counts it added for `site` this hour. */
export async function whatChanged(
  t: TestApp,
  site: string,
  fn: () => Promise<void>,
): Promise<{ records: Rec[]; optouts: Record<string, number> }> {
  const before = (await t.records()).length;
  const key = optoutCounterKey(site, Date.now());
  const countersBefore = await t.redis.hgetall(key);
  await fn();
  const records = (await t.records()).slice(before) as Rec[];
  const countersAfter = await t.redis.hgetall(key);
  const optouts: Record<string, number> = {};
  for (const [f, n] of Object.entries(countersAfter)) {
    const d = Number(n) - Number(countersBefore[f] ?? 0);
    if (d !== 0) optouts[f] = d;
  }
  return { records, optouts };
}

/** The value of one sample line of /metrics (`name{labels} value`), or undefined. */
export function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}
