// Slowloris: a client that sends its headers, or its body, a byte at a time is cut off
// once HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS have passed (Node checks every
// HTTP_TIMEOUT_CHECK_MS), never before, while normal clients keep being served. When
// exactly it is cut (timeout + up to one check interval on a quiet machine) is a figure
// of bench/faults.ts; here the bound is the one that matters and cannot flake: cut off
// long before the client would have finished (it drips for 20 s or more).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.js';
import { dripClient, SLOW_BODY, SLOW_HEADERS } from './helpers/scenarios.js';

const HEADERS_MS = 1000;
const REQUEST_MS = 2000;
const CHECK_MS = 200;
/** The clients give up (and the test fails) if the server has not cut them off by then. */
const GIVE_UP_MS = 10_000;

describe('slow clients are cut off', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await startTestApp({
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
      HTTP_TIMEOUT_CHECK_MS: String(CHECK_MS),
      LOG_LEVEL: 'warn',
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as net.AddressInfo).port;
  });
  afterAll(() => t?.close());

  it('slow headers: disconnected with a 408 once the headers timeout has passed', async () => {
    const { ms, response } = await dripClient(port, SLOW_HEADERS.first, SLOW_HEADERS.drip, { giveUpMs: GIVE_UP_MS });
    expect(ms).toBeGreaterThanOrEqual(HEADERS_MS - 50); // never before its timeout
    expect(response).toMatch(/^HTTP\/1\.1 408/);
  });

  it('slow body: disconnected once the request timeout has passed', async () => {
    const { ms, response } = await dripClient(port, SLOW_BODY.first, SLOW_BODY.drip, { giveUpMs: GIVE_UP_MS });
    expect(ms).toBeGreaterThanOrEqual(REQUEST_MS - 50);
    expect(response === '' || /^HTTP\/1\.1 408/.test(response)).toBe(true);
  });

  it('a normal client is served meanwhile', async () => {
    const slow = dripClient(port, SLOW_HEADERS.first, SLOW_HEADERS.drip, { giveUpMs: GIVE_UP_MS });
    const res = await fetch(`http://127.0.0.1:${port}/event?s=1&idclient=abc`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"events":[{"name":"page.display","data":{"page":"home"}}]}',
    });
    expect(res.status).toBe(204);
    await slow;
  });
});
