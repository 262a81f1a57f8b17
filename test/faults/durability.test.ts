// SINK_WAIT_AOF=on: a 2xx waits for Redis's AOF fsync (WAITAOF 1 0). Where WAITAOF
// cannot work (Redis < 7.2, or appendonly off), /readyz says so and hits get 503,
// never a 2xx that did not wait for the disk.
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { TEST_KEYS } from '../helpers/app.js';
import { type RedisProcess, sleep, startRedis, waitAofServer } from '../helpers/fault-processes.js';

const HIT = { method: 'POST' as const, url: '/event?s=1&idclient=abc', headers: { 'content-type': 'text/plain' }, payload: '{"events":[{"name":"page.display","data":{"page":"p"}}]}' };

async function appOn(redis: RedisProcess) {
  const config = loadConfig({ REDIS_URL: redis.url, PSEUDONYM_KEYS: TEST_KEYS, GEOIP_DB: 'off', SINK_WAIT_AOF: 'on', SINK_TIMEOUT_MS: '2000', STREAM_KEY: 'durable' });
  const app = await buildApp(config, { logger: createLogger('silent') });
  await app.ready();
  return app;
}

/** /readyz once the WAITAOF probe has answered (bounded). */
async function readiness(app: Awaited<ReturnType<typeof appOn>>) {
  let res = await app.inject('/readyz');
  for (let i = 0; i < 40 && res.json().checks.durability === 'aof-fsync' && res.statusCode !== 200; i++) {
    await sleep(50);
    res = await app.inject('/readyz');
  }
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
    let res = await app.inject('/readyz');
    for (let i = 0; i < 40 && res.json().checks.durability !== 'failing'; i++) {
      await sleep(50);
      res = await app.inject('/readyz');
    }
    expect(res.statusCode).toBe(503);
    expect(res.json().checks.durability).toBe('failing');
    const hit = await app.inject(HIT);
    expect(hit.statusCode).toBe(503);
    expect(hit.headers['retry-after']).toBe('1');
    await app.close();
  });

  const bin = waitAofServer();
  it.skipIf(!bin)(`acknowledges only after the AOF fsync (${bin ?? 'no Redis >= 7.2 / Valkey found: see .ci/run'})`, async () => {
    redis = await startRedis({ aof: true, fsync: 'everysec', bin });
    const app = await appOn(redis);
    const ready = await readiness(app);
    expect(ready.json().checks).toMatchObject({ durability: 'aof-fsync', redis: 'ok' });
    expect(ready.statusCode).toBe(200);
    const started = performance.now();
    const replies = await Promise.all(Array.from({ length: 20 }, () => app.inject(HIT)));
    console.log(`WAITAOF with appendfsync everysec: 20 hits acknowledged in ${Math.round(performance.now() - started)} ms`);
    expect(replies.map((r) => r.statusCode)).toEqual(replies.map(() => 204));
    expect(await app.redis.xlen('durable')).toBe(20);
    await app.close();
  });
});
