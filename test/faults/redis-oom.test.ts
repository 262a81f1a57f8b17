// Redis at maxmemory (noeviction): it still answers PING but refuses every write. The
// public client must hear the cause in the collector's words only (Redis's own text,
// "OOM command not allowed ... script: <sha>", goes to the logs), readiness must say
// the writes fail, and both must come back by themselves once Redis takes writes again.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILING_AFTER_BATCHES } from '../../src/sink/batcher.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { type RedisProcess, startRedis, until } from '../helpers/processes.js';

describe('Redis out of memory', () => {
  let redis: RedisProcess;
  let admin: Redis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    t = await startTestApp({ REDIS_URL: redis.url, GEOIP_DB: 'off' });
  });
  afterAll(async () => {
    await t?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  const hit = (page: string) =>
    t.app.inject({
      method: 'POST',
      url: '/event?s=123456&idclient=abcdefgh12345678',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ events: [{ name: 'page.display', data: { page } }] }),
    });

  it('answers 503 in its own words, reports the failing writes, and recovers by itself', async () => {
    expect((await hit('before')).statusCode).toBe(204);
    // past maxmemory with noeviction: every write is refused, PING still answers
    await admin.set('filler', 'x'.repeat(2 * 1024 * 1024));
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1mb');

    const bodies: string[] = [];
    for (let i = 0; i < FAILING_AFTER_BATCHES + 1; i++) {
      const res = await hit(`oom-${i}`);
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      bodies.push(res.body);
    }
    for (const body of bodies) {
      expect(JSON.parse(body)).toEqual({
        statusCode: 503,
        error: 'sink_failed',
        message: 'hit not stored: the event store refused the write',
      });
      expect(body).not.toMatch(/OOM|maxmemory|script|redis/i);
    }
    // the detail is where operators look
    expect(t.logs.join('\n')).toMatch(/OOM command not allowed/);

    const ready = await t.app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not ready', checks: { redis: 'ok', writes: 'failing' } });
    expect((await t.operator.inject({ url: '/metrics' })).body).toMatch(/^collector_sink_writes_failing 1$/m);

    // Redis takes writes again: readiness probes and comes back without a hit arriving
    await admin.config('SET', 'maxmemory', '0');
    // (bounded: 15 s, however busy the machine; it takes a probe interval or two)
    await until(
      '/readyz to answer 200 again',
      async () => (await t.app.inject({ url: '/readyz' })).statusCode === 200,
      15_000,
      100,
    );
    expect((await hit('after')).statusCode).toBe(204);
    expect((await t.records()).map((r) => (r.props as { page: string }).page)).toEqual(['before', 'after']);
  });
});
