// The real SDK's requests, captured in a browser (see test/fixtures/sdk/README.md).
import { readFileSync } from 'node:fs';
import path from 'node:path';

export interface SdkRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  rawQueryString: string;
  headers: Record<string, string>;
  body: string;
}

export interface SdkFixture {
  scenario: string;
  requests: SdkRequest[];
}

const dir = path.resolve(import.meta.dirname, '../fixtures/sdk');

/** The fixtures were captured on 2026-11-29, around 03:40 UTC. */
const CAPTURED_AT = Date.parse('2026-11-29T04:00:00Z');

/**
 * Moves a captured request to today, as a browser's would be: the creation time that
 * starts the SDK's ids (`mx1ai3fs…`: visitor id and pageview_id) and
 * `cookie_creation_date` are shifted by whole minutes, nothing else changes. Without
 * this, the 13-month tracker rule would rightly strip the visitor of every fixture
 * from January 2028 on.
 */
function freshen(text: string, now = Date.now()): string {
  const shift = Math.floor(Math.max(0, now - CAPTURED_AT) / 60_000) * 60_000;
  if (shift === 0) return text;
  return text
    .replace(/\bmx1a[0-9a-z]{12}\b/g, (id) => (parseInt(id.slice(0, 8), 36) + shift).toString(36) + id.slice(8))
    .replace(
      /"cookie_creation_date":"([^"]+)"/g,
      (_, d: string) => `"cookie_creation_date":"${new Date(Date.parse(d) + shift).toISOString()}"`,
    );
}

export function sdkFixture(name: string): SdkFixture {
  return JSON.parse(freshen(readFileSync(path.join(dir, `${name}.json`), 'utf8'))) as SdkFixture;
}

/** A visitor id as the SDK makes it (creation time in base 36, then 8 random characters), made now. */
export function freshSdkId(suffix = 'q8w3e5r7'): string {
  return `${Date.now().toString(36)}${suffix}`;
}

export function sdkRequest(name: string, index = 0): SdkRequest {
  const r = sdkFixture(name).requests[index];
  if (!r) throw new Error(`fixture ${name} has no request ${index}`);
  return r;
}

/** POSTs a captured request to a listening collector, as the browser sent it. */
export async function replay(
  baseUrl: string,
  req: SdkRequest,
  opts: { headers?: Record<string, string>; query?: string } = {},
): Promise<Response> {
  return fetch(`${baseUrl}${req.path}?${opts.query ?? req.rawQueryString}`, {
    method: 'POST',
    headers: {
      'content-type': req.headers['content-type'] ?? 'text/plain;charset=UTF-8',
      origin: req.headers.origin ?? '',
      ...opts.headers,
    },
    body: req.body,
  });
}
