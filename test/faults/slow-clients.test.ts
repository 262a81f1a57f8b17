// Slowloris: a client that sends its headers, or its body, a byte at a time is cut
// off once HTTP_HEADERS_TIMEOUT_MS / HTTP_REQUEST_TIMEOUT_MS have passed (checked every
// HTTP_TIMEOUT_CHECK_MS), while normal clients keep being served.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';

const HEADERS_MS = 1000;
const REQUEST_MS = 2000;
const CHECK_MS = 200;
// generous slack for a loaded machine: the bound we promise is timeout + check interval
const SLACK_MS = 1500;

/** Opens a socket, writes `first`, then one byte of `drip` every 100 ms; resolves when the server closes it. */
function dripClient(port: number, first: string, drip: string): Promise<{ ms: number; response: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const sock = net.connect(port, '127.0.0.1');
    let response = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    sock.on('connect', () => {
      sock.write(first);
      timer = setInterval(() => {
        if (i < drip.length && !sock.destroyed) sock.write(drip[i++]!);
      }, 100);
    });
    sock.on('data', (d) => (response += String(d)));
    sock.on('error', () => undefined); // a reset also counts as cut off
    sock.on('close', () => {
      clearInterval(timer);
      resolve({ ms: performance.now() - started, response });
    });
    // bounded: the test never waits on its own more than 10 s
    setTimeout(() => {
      sock.destroy();
      reject(new Error('the server did not cut the slow client off within 10 s'));
    }, 10_000).unref();
  });
}

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

  it('slow headers: disconnected after the headers timeout', async () => {
    const { ms, response } = await dripClient(port, 'POST /event?s=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: ' + 'a'.repeat(200));
    console.log(`slow headers cut after ${Math.round(ms)} ms (timeout ${HEADERS_MS} ms, check every ${CHECK_MS} ms)`);
    expect(ms).toBeGreaterThanOrEqual(HEADERS_MS - 50);
    expect(ms).toBeLessThan(HEADERS_MS + CHECK_MS + SLACK_MS);
    expect(response).toMatch(/^HTTP\/1\.1 408/);
  });

  it('slow body: disconnected after the request timeout', async () => {
    const body = '{"events":[{"name":"page.display","data":{"page":"' + 'a'.repeat(200) + '"}}]}';
    const head = `POST /event?s=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`;
    const { ms, response } = await dripClient(port, head, body);
    console.log(`slow body cut after ${Math.round(ms)} ms (timeout ${REQUEST_MS} ms, check every ${CHECK_MS} ms)`);
    expect(ms).toBeGreaterThanOrEqual(REQUEST_MS - 50);
    expect(ms).toBeLessThan(REQUEST_MS + CHECK_MS + SLACK_MS);
    expect(response === '' || /^HTTP\/1\.1 408/.test(response)).toBe(true);
  });

  it('a normal client is served meanwhile', async () => {
    const slow = dripClient(port, 'POST /event?s=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: ' + 'a'.repeat(200));
    const res = await fetch(`http://127.0.0.1:${port}/event?s=1&idclient=abc`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"events":[{"name":"page.display","data":{"page":"home"}}]}',
    });
    expect(res.status).toBe(204);
    await slow;
  });
});
