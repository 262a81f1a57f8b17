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

export function sdkFixture(name: string): SdkFixture {
  return JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as SdkFixture;
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
    headers: { 'content-type': req.headers['content-type'] ?? 'text/plain;charset=UTF-8', origin: req.headers.origin ?? '', ...opts.headers },
    body: req.body,
  });
}
