// Shared by the adapter tests: fixture loading and the checks every adapter output must pass.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { EXEMPT_PROPERTIES } from '../../src/policy/allowlists.js';
import { bodySchema, eventSchema, firstProblem, type HitEvent } from '../../src/contract/wire.js';
import { FormatError } from '../../src/formats/types.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures');

export function fixture<T>(tracker: 'matomo' | 'plausible', name: string): T {
  return JSON.parse(readFileSync(path.join(fixtures, tracker, `${name}.json`), 'utf8')) as T;
}

export interface FixtureRequest {
  method: string;
  path: string;
  rawQueryString: string;
  headers: Record<string, string>;
  body: string;
  note?: string;
  name?: string;
  expect?: 'accepted' | 'refused';
}

export function expectValidEvents(events: HitEvent[]): void {
  for (const e of events) {
    const r = eventSchema.safeParse(e);
    expect(r.success, r.success ? '' : `${e.name}: ${JSON.stringify(firstProblem(r.error))}`).toBe(true);
  }
  // and the Piano path's body schema, for a hit that writes something
  if (events.length > 0) expect(bodySchema.safeParse({ events }).success).toBe(true);
}

/** Runs fn, which must throw a FormatError; returns it. */
export function formatError(fn: () => unknown): FormatError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FormatError);
    return err as FormatError;
  }
  throw new Error('expected a FormatError, nothing was thrown');
}

/** The adapter-specific names must stay off Piano's exempt allowlist: they survive only where a site adds them. */
export function expectNotExempt(names: string[]): void {
  for (const n of names) expect(EXEMPT_PROPERTIES, n).not.toContain(n);
}
