// Load shedding: a lagging event loop or too many requests in flight give 503 at
// once (with Retry-After and a JSON error), and /readyz says "overloaded".
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { until } from '../helpers/processes.js';

const HIT = {
  method: 'POST' as const,
  url: '/event?s=1&idclient=abc',
  headers: { 'content-type': 'text/plain' },
  payload: '{"events":[{"name":"page.display","data":{"page":"p"}}]}',
};

describe('pressure', () => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('sheds hits while the event loop lags, and takes them again after', async () => {
    t = await startTestApp({ MAX_EVENT_LOOP_DELAY_MS: '50', LOG_LEVEL: 'warn' });
    expect((await t.app.inject(HIT)).statusCode).toBe(204);
    // block the loop 300 ms out of every ~310 ms until a hit is shed (at most 10 times:
    // on a busy machine the 250 ms sampling window may need more than one block to see it)
    let res = await t.app.inject(HIT);
    for (let i = 0; i < 10 && res.statusCode !== 503; i++) {
      await new Promise<void>((resolve) => {
        const end = Date.now() + 300;
        while (Date.now() < end);
        setTimeout(resolve, 10);
      });
      if (t.app.pressure.eventLoopDelayMs > 50) res = await t.app.inject(HIT);
    }
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toMatchObject({ statusCode: 503, error: 'overloaded' });
    const ready = await t.app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks.load).toBe('overloaded');
    // the loop is quiet again: the next sampling window clears the overload (no fixed wait)
    const app = t.app;
    await until('the overload to clear', () => app.pressure.overloaded() === undefined, 10_000, 25);
    expect((await t.app.inject(HIT)).statusCode).toBe(204);
  });

  it('refuses a hit beyond MAX_IN_FLIGHT_REQUESTS before reading its body', async () => {
    t = await startTestApp({ MAX_IN_FLIGHT_REQUESTS: '2', LOG_LEVEL: 'warn' });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as net.AddressInfo;
    const base = `http://127.0.0.1:${port}`;
    // two requests that sent their headers and half of their body
    const held = [0, 1].map(() => {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => undefined);
      s.write(
        `POST /event?s=1 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${HIT.payload.length}\r\n\r\n${HIT.payload.slice(0, 10)}`,
      );
      return s;
    });
    const app = t.app;
    await until('both held requests to be in flight', () => app.pressure.inFlight === 2, 10_000, 10);
    const refused = await fetch(`${base}${HIT.url}`, { method: 'POST', headers: HIT.headers, body: HIT.payload });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: 'overloaded' });
    for (const s of held) s.destroy();
    // aborted requests give their slot back
    await until('the aborted requests to leave', () => app.pressure.inFlight === 0, 10_000, 10);
    const ok = await fetch(`${base}${HIT.url}`, { method: 'POST', headers: HIT.headers, body: HIT.payload });
    expect(ok.status).toBe(204);
  });
});
