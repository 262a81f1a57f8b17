// SINK_WAIT_AOF=on: a 2xx waits for Redis's AOF fsync (WAITAOF 1 0). Where WAITAOF
// cannot work (Redis < 7.2, or appendonly off), /readyz says so and hits get 503,
// never a 2xx that did not wait for the disk.
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { TEST_KEYS } from '../helpers/app.js';
import { injectAsBrowser } from '../helpers/browser-user-agent.js';
import { type RedisProcess, startRedis, until, waitAofServer } from '../helpers/processes.js';

const HIT = {
  method: 'POST' as const,
  url: '/event?s=1&idclient=abc',
  headers: { 'content-type': 'text/plain' },
  payload: '{"events":[{"name":"page.display","data":{"page":"p"}}]}',
};

async function appOn(redis: RedisProcess) {
  const config = loadConfig({
    REDIS_URL: redis.url,
    PSEUDONYM_KEYS: TEST_KEYS,
    GEOIP_DB: 'off',
    SINK_WAIT_AOF: 'on',
    SINK_TIMEOUT_MS: '2000',
    STREAM_KEY: 'durable',
    MAX_EVENT_LOOP_DELAY_MS: '0',
  });
  const app = await buildApp(config, { logger: createLogger('silent') });
  injectAsBrowser(app);
  await app.ready();
  return app;
}

/** /readyz once `settled` says its answer is final (bounded: 15 s, however busy the machine). */
async function readiness(
  app: Awaited<ReturnType<typeof appOn>>,
  settled: (res: { statusCode: number; json(): { checks: Record<string, string> } }) => boolean,
) {
  let res = await app.inject('/readyz');
  await until('the WAITAOF probe to answer', async () => settled((res = await app.inject('/readyz'))), 15_000).catch(
    () => undefined,
  );
  return res;
}

describe('durable mode (SINK_WAIT_AOF)', () => {
  let redis: RedisProcess | undefined;
  afterEach(async () => {
    await redis?.stop();
    redis = undefined;
  });

  it('refuses hits and reports not ready when Redis cannot WAITAOF', async () => {
    redis = await startRedis({ aof: false }); // the default redis-server, appendonly off
    const app = await appOn(redis);
    const res = await readiness(app, (r) => r.json().checks.durability === 'failing');
    expect(res.statusCode).toBe(503);
    expect(res.json().checks.durability).toBe('failing');
    const hit = await app.inject(HIT);
    expect(hit.statusCode).toBe(503);
    expect(hit.headers['retry-after']).toBe('1');
    await app.close();
  });

  const bin = waitAofServer();
  it.skipIf(!bin)(
    `acknowledges only after the AOF fsync (${bin ?? 'no Redis >= 7.2 / Valkey found: see .ci/run'})`,
    async () => {
      redis = await startRedis({ aof: true, fsync: 'everysec', bin });
      const app = await appOn(redis);
      const ready = await readiness(app, (r) => r.json().checks.durability !== 'aof-fsync' || r.statusCode === 200);
      expect(ready.json().checks).toMatchObject({ durability: 'aof-fsync', redis: 'ok' });
      expect(ready.statusCode).toBe(200);
      // (what the wait costs: npx tsx bench/durability.ts)
      const replies = await Promise.all(Array.from({ length: 20 }, () => app.inject(HIT)));
      expect(replies.map((r) => r.statusCode)).toEqual(replies.map(() => 204));
      expect(await app.redis.xlen('durable')).toBe(20);
      await app.close();
    },
  );
});
