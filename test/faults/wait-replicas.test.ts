// SINK_WAIT_REPLICAS on a plain primary with one replica (two redis-server processes on
// loopback, REDIS_URL to the primary): a 2xx waits until the replica has the hit; a
// replica that stops answering turns hits into 503 after SINK_TIMEOUT_MS (never a 2xx,
// never a hang), /readyz says durability: failing, and both come back when it answers.
// (A stopped replica never acknowledges; the Redis Cluster test stalls the link itself:
// test/faults/cluster-failover.test.ts.)
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { TEST_KEYS } from '../helpers/app.js';
import { type RedisProcess, startRedis, until } from '../helpers/processes.js';
import { DESKTOP_CHROME_UA } from '../helpers/user-agents.js';

const TIMEOUT_MS = 300;
const hit = (n: number) => ({
  method: 'POST' as const,
  url: `/event?s=1&idclient=replicawaiter${String(n).padStart(3, '0')}`,
  // a person's browser: a hit without a User-Agent is a robot's, answered 204 and never stored
  headers: { 'content-type': 'text/plain', 'user-agent': DESKTOP_CHROME_UA },
  payload: `{"events":[{"name":"page.display","data":{"page":"p${n}"}}]}`,
});

async function appOn(primary: RedisProcess, replicas: number, stream: string) {
  const config = loadConfig({
    REDIS_URL: primary.url,
    PSEUDONYM_KEYS: TEST_KEYS,
    GEOIP_DB: 'off',
    SINK_WAIT_REPLICAS: String(replicas),
    SINK_TIMEOUT_MS: String(TIMEOUT_MS),
    STREAM_KEY: stream,
    MAX_EVENT_LOOP_DELAY_MS: '0',
  });
  const app = await buildApp(config, { logger: createLogger('silent') });
  await app.ready();
  return app;
}

/** Every status of `n` hits sent at once, bounded: a hang fails the test instead of stalling it. */
async function send(app: Awaited<ReturnType<typeof appOn>>, from: number, n: number) {
  const replies = Promise.all(Array.from({ length: n }, (_, i) => app.inject(hit(from + i))));
  const bound = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error('hits not answered within 10 s')), 10_000),
  );
  return Promise.race([replies, bound]);
}

describe('SINK_WAIT_REPLICAS on a primary with one replica', () => {
  let primary: RedisProcess;
  let replica: RedisProcess;
  let onReplica: Redis;

  beforeAll(async () => {
    primary = await startRedis();
    replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
    const admin = new Redis(primary.url);
    const online = async () => /slave0:.*state=online/.test(await admin.info('replication'));
    await until('the replica to be online', online, 15_000);
    admin.disconnect();
    onReplica = new Redis(replica.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    onReplica?.disconnect();
    await replica?.stop();
    await primary?.stop();
  });

  it('answers 2xx once the replica has the hits; 503 while it does not answer, and readiness follows', async () => {
    const app = await appOn(primary, 1, 'replicated');
    try {
      const ready = await app.inject('/readyz');
      expect(ready.json().checks.durability).toBe('replicas:1');
      expect(ready.statusCode).toBe(200);

      const ok = await send(app, 0, 20);
      expect(ok.map((r) => r.statusCode)).toEqual(ok.map(() => 204));
      // WAIT counted the replica: it has every one of them already
      expect(await onReplica.xlen('replicated')).toBe(20);

      replica.proc.kill('SIGSTOP');
      // three rounds, each its own batch: three short waits in a row
      for (let round = 0; round < 3; round++) {
        const refused = await send(app, 100 + round * 10, 10);
        for (const r of refused) {
          expect(r.statusCode).toBe(503);
          expect(r.headers['retry-after']).toBeDefined();
          expect(r.json().message).toMatch(/replicas/);
        }
      }
      const notReady = await app.inject('/readyz');
      expect(notReady.statusCode).toBe(503);
      expect(notReady.json().checks).toMatchObject({ durability: 'failing', redis: 'ok', writes: 'ok' });
      const metrics = await app.operator.inject('/metrics');
      const short = /^collector_sink_batches_short_of_replicas_total (\d+)$/m.exec(metrics.body)?.[1];
      expect(Number(short)).toBeGreaterThanOrEqual(3);
      const refused = 'collector_hits_refused_total{tracker="piano",reason="sink_not_replicated",mode="exempt"} 30';
      expect(metrics.body.split('\n')).toContain(refused);

      replica.proc.kill('SIGCONT');
      // no hit needed: readiness probes the replicas itself while they are behind
      const readyAgain = async () => (await app.inject('/readyz')).statusCode === 200;
      await until('/readyz to answer 200 again', readyAgain, 15_000, 100);
      expect((await app.inject('/readyz')).json().checks.durability).toBe('replicas:1');
      const again = await send(app, 200, 10);
      expect(again.map((r) => r.statusCode)).toEqual(again.map(() => 204));
    } finally {
      replica.proc.kill('SIGCONT');
      await app.close();
    }
  });

  it('never answers 2xx when fewer replicas exist than asked: 503 after the timeout', async () => {
    const app = await appOn(primary, 2, 'two-replicas');
    try {
      const replies = await send(app, 0, 5);
      expect(replies.map((r) => r.statusCode)).toEqual(replies.map(() => 503));
    } finally {
      await app.close();
    }
  });
});
