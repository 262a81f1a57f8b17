// GET /healthz and GET /readyz (src/routes/health.ts): every check by name, and each
// one that turns the collector not ready, made real (a Redis holding writes, a
// shutdown under way). Redis refusing writes is test/faults/redis-oom.test.ts; no Redis
// at all is test/routes/collect.test.ts; event-loop lag is test/plugins/pressure.test.ts.
import { describe, expect, it } from 'vitest';
import { startTestApp } from '../helpers/app.js';
import { usePrivateRedis } from '../helpers/private-redis.js';
import { until } from '../helpers/processes.js';

const hit = (i: number) => ({
  method: 'POST' as const,
  url: `/event?s=1&idclient=health-${i}`,
  headers: { 'content-type': 'text/plain' },
  payload: `{"events":[{"name":"page.display","data":{"page":"p${i}"}}]}`,
});

describe('health checks', () => {
  it('ready: 200 and every check named', async () => {
    const t = await startTestApp();
    try {
      const health = await t.app.inject('/healthz');
      expect(health.statusCode).toBe(200);
      expect(health.json()).toEqual({ status: 'ok' });
      const ready = await t.app.inject('/readyz');
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({
        status: 'ready',
        checks: { redis: 'ok', geolocation: 'ok', shutdown: 'ok', load: 'ok', durability: 'ack', writes: 'ok' },
      });
      // the operator's listener answers the same, for probes that never pass the balancer
      const operator = await t.operator.inject('/readyz');
      expect(operator.statusCode).toBe(200);
      expect(operator.json()).toEqual(ready.json());
    } finally {
      await t.close();
    }
  });

  it('without geolocation: still ready, the check says disabled', async () => {
    const t = await startTestApp({ GEOIP_DB: 'off' });
    try {
      const ready = await t.app.inject('/readyz');
      expect(ready.statusCode).toBe(200);
      expect(ready.json().checks.geolocation).toBe('disabled');
    } finally {
      await t.close();
    }
  });

  it('shutting down: 503 "closing" at once, while the hits still coming are taken', async () => {
    const t = await startTestApp();
    let stopping: Promise<void> | undefined;
    try {
      stopping = t.app.shutdown(1500);
      const ready = await t.app.inject('/readyz');
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'not ready', checks: { shutdown: 'closing', redis: 'ok' } });
      expect(ready.headers.connection).toBe('close');
      const res = await t.app.inject(hit(1));
      expect(res.statusCode).toBe(204);
      expect(res.headers.connection).toBe('close');
      await stopping;
      expect((await t.records()).map((r) => r.props)).toEqual([{ page: 'p1' }]);
    } finally {
      await stopping;
      await t.close().catch(() => undefined);
    }
  });

  describe('with a Redis that holds writes', () => {
    const redis = usePrivateRedis();

    it('not ready ("overloaded") once the events waiting reach 90 % of SINK_MAX_PENDING, ready again when they are written', async () => {
      const t = await startTestApp({
        REDIS_URL: redis.url,
        SINK_MAX_PENDING: '10',
        SINK_TIMEOUT_MS: '20000',
        STREAM_TRIM_INTERVAL: 'off',
      });
      await redis.client.client('PAUSE', 20_000, 'WRITE');
      try {
        const replies = Array.from({ length: 9 }, (_, i) => t.app.inject(hit(i)));
        await until('9 events waiting for Redis', () => t.app.sink.pending === 9, 10_000, 10);
        const busy = await t.app.inject('/readyz');
        expect(busy.statusCode).toBe(503);
        // (the redis check may say failing too: its PING can wait behind the held write
        // on the same connection past its 500 ms, as with a Redis that stopped answering)
        expect(busy.json().checks).toMatchObject({ load: 'overloaded', shutdown: 'ok', writes: 'ok' });
        // the tenth fits, the eleventh does not: refused at once, not queued
        const tenth = t.app.inject(hit(9));
        await until('the tenth waiting too', () => t.app.sink.pending === 10, 10_000, 10);
        const eleventh = await t.app.inject(hit(10));
        expect(eleventh.statusCode).toBe(503);
        expect(eleventh.headers['retry-after']).toBeDefined();
        await redis.client.client('UNPAUSE');
        expect((await Promise.all([...replies, tenth])).map((r) => r.statusCode)).toEqual(Array(10).fill(204));
        expect(t.app.sink.pending).toBe(0);
        const calm = await t.app.inject('/readyz');
        expect(calm.statusCode).toBe(200);
        expect((await t.records()).length).toBe(10);
      } finally {
        await redis.client.client('UNPAUSE');
        await t.close();
      }
    });
  });
});
