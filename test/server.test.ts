// The entry point as a real process: WORKERS=2 forks two workers under a node:cluster
// primary, SIGTERM drains a hit that is still waiting for Redis before every worker
// exits, and a worker that cannot start stops the primary instead of a fork loop.
// Its own redis-server: the drain test stalls Redis on purpose (DEBUG SLEEP).
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisProcess, root, startCollector, startRedis, until } from './helpers/processes.js';

const HIT = '{"events":[{"name":"page.display","data":{"page":"home","visitor_privacy_mode":"exempt"}}]}';

let redisServer: RedisProcess;
let redis: Redis;

beforeAll(async () => {
  redisServer = await startRedis({ debugCommand: true });
  redis = new Redis(redisServer.url);
});

afterAll(async () => {
  await redis?.quit();
  await redisServer?.stop();
});

/** src/server.ts as a process against this file's Redis; not waited for (a primary and its workers start apart). */
const startServer = (env: Record<string, string>) =>
  startCollector({ REDIS_URL: redisServer.url, GEOIP_DB: 'off', LOG_LEVEL: 'info', ...env }, { wait: 'none' });

const listeningPids = (out: string) =>
  new Set([...out.matchAll(/"pid":(\d+),[^\n]*Server listening/g)].map((m) => m[1]));

describe('server.ts with WORKERS=2', () => {
  it('serves from two worker processes and drains a hit in flight on SIGTERM', async () => {
    const stream = `test:workers:${Date.now()}`;
    const s = await startServer({ WORKERS: '2', STREAM_KEY: stream, SHUTDOWN_DELAY_MS: '0' });
    try {
      await until('two workers listening', () => listeningPids(s.text()).size === 2, 30_000);
      expect(s.text()).toMatch(/"component":"primary"[^\n]*"workers":2[^\n]*starting workers/);

      const post = () =>
        fetch(`${s.base}/event?s=1&idclient=visitor-${Math.random()}`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain;charset=UTF-8', connection: 'close' },
          body: HIT,
        });
      expect((await post()).status).toBe(204);

      // stall Redis, send a hit (it waits for the XADD ack), then ask the primary to stop
      const staller = new Redis(redisServer.url);
      // connected first, so that the DEBUG SLEEP reaches Redis before the hit's XADD can
      await staller.ping();
      const stalled = staller.call('DEBUG', 'SLEEP', '0.4');
      const inFlight = post();
      await new Promise((r) => setTimeout(r, 50));
      s.proc.kill('SIGTERM');
      const res = await inFlight;
      await stalled;
      await staller.quit();
      expect(res.status).toBe(204); // answered only once Redis acknowledged it
      expect((await s.exit).code).toBe(0);
      expect(await redis.xlen(stream)).toBe(2);
      expect(s.text()).toMatch(/"component":"primary"[^\n]*"signal":"SIGTERM"[^\n]*"msg":"closing"/);
      expect(s.text().match(/"signal":"SIGTERM"[^\n]*shutting down: not ready, draining/g)?.length).toBe(2); // each worker
    } finally {
      await s.stop();
      await redis.del(stream);
    }
  });

  it('stops with the failing code when a worker cannot start, without forking again', async () => {
    const s = await startServer({ WORKERS: '2', GEOIP_DB: path.join(root, 'does-not-exist.mmdb') });
    const exit = await Promise.race([s.exit, new Promise((r) => setTimeout(() => r('timeout'), 30_000))]);
    await s.stop();
    expect(exit).toMatchObject({ code: 1 });
    expect(s.text()).toMatch(/worker failed to start; stopping/);
    expect(s.text().match(/cannot start/g)?.length ?? 0).toBeLessThanOrEqual(2);
  });
});
