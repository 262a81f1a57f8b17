// Redis killed (SIGKILL) and frozen (SIGSTOP) under steady load, against the real
// collector process: every 2xx hit is in the stream, every other answer is a 503 with
// Retry-After (never a dropped connection), readiness turns 503 and comes back with
// Redis, ingestion resumes by itself, and RSS does not grow without bound. How fast each
// of these happens depends on the machine: bench/faults.ts runs the same scenarios and
// prints those figures; this file asserts none of them.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniquePrefix } from '../helpers/app.js';
import { type Outcome, storedIds, summary } from '../helpers/load.js';
import { type CollectorProcess, type RedisProcess, startCollector, startRedis } from '../helpers/processes.js';
import { type OutageRun, redisFreezeUnderLoad, redisKillUnderLoad } from '../helpers/scenarios.js';

const RATE = Number(process.env.FAULT_RATE ?? 2000); // hits/s
const SECONDS = Number(process.env.FAULT_SECONDS ?? 9);
// "does not grow without bound": the outage's refused hits must not pile up in memory.
// Growth seen on the shared 2-core machine: 1–10 MB (bench/faults.ts); 2000 hits/s of
// ~1.2 KB bodies buffered for 2.5 s would be ~6 MB of bodies alone, so this bound only
// catches a leak of the whole load many times over, never the GC's own swings.
const RSS_GROWTH_BOUND = 256 * 1024 * 1024;

/** Each answer: a 204, or a 503 with Retry-After and a JSON error; never a dropped connection. */
function expectOnly204Or503(outcomes: Outcome[]) {
  for (const o of outcomes) {
    expect(o.error, `hit ${o.index}`).toBeUndefined();
    expect([204, 503], `hit ${o.index}`).toContain(o.status);
    if (o.status === 503) {
      expect(o.retryAfter).toBe('1');
      expect(JSON.parse(o.body!)).toMatchObject({ statusCode: 503, error: expect.any(String) });
    }
  }
}

describe('Redis outage under load (real processes)', () => {
  let redis: RedisProcess;
  let collector: CollectorProcess;
  let client: Redis;
  const streamKey = uniquePrefix('outage');

  beforeAll(async () => {
    // AOF on: an acknowledged XADD was written to the AOF before the reply, so it survives a SIGKILL
    redis = await startRedis({ aof: true, fsync: 'everysec' });
    collector = await startCollector({ REDIS_URL: redis.url, STREAM_KEY: streamKey, GEOIP_DB: 'off' });
    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    client.on('error', () => undefined);
  });
  afterAll(async () => {
    client?.disconnect();
    await collector?.stop();
    await redis?.stop();
  });

  /** The checks both outages share: nothing 2xx lost, only 204 or 503, readiness turned and came back, ingestion resumed. */
  async function expectSurvived(run: OutageRun) {
    const ids = await storedIds(client, [streamKey]);
    const ok = [...run.load.accepted, ...run.after.accepted];
    expect(
      ok.filter((o) => !ids.has(o.recordId)).map((o) => o.page),
      summary('during the outage', run.load),
    ).toEqual([]);
    expectOnly204Or503([...run.load.outcomes, ...run.after.outcomes]);
    expect(run.load.statuses['503'], `the outage was real: ${summary('during the outage', run.load)}`).toBeGreaterThan(
      0,
    );
    // readiness: not 200 at some point after the fault, 200 again after the recovery
    expect(
      run.ready.some((s) => s.at >= run.faultAt && s.status !== 200),
      JSON.stringify(run.ready),
    ).toBe(true);
    expect(run.readyAgain, '/readyz 200 again within 15 s of the recovery').toBe(true);
    // and the same process takes hits again, without a restart
    expect(Object.keys(run.after.statuses), summary('after the recovery', run.after)).toEqual(['204']);
    expect(collector.proc.exitCode).toBeNull();
  }

  it('kill -9 and restart: no 2xx hit lost, 503s with Retry-After, readiness follows, bounded RSS', async () => {
    const pid = collector.proc.pid;
    await client.connect();
    const run = await redisKillUnderLoad(collector, redis, { ratePerSecond: RATE, seconds: SECONDS });
    await expectSurvived(run);
    expect(collector.proc.pid).toBe(pid);
    const baseline = run.rss.filter((s) => s.at < run.faultAt).at(-1)!.bytes;
    const peak = Math.max(...run.rss.filter((s) => s.at >= run.faultAt && s.at <= run.recoveredAt).map((s) => s.bytes));
    expect(peak - baseline).toBeLessThan(RSS_GROWTH_BOUND);
  });

  it('frozen Redis (SIGSTOP): 503s, the unanswered connection is dropped and remade, then it resumes by itself', async () => {
    // frozen for 4 s: the watchdog drops a connection unanswered for max(2 s, 4 × SINK_TIMEOUT_MS = 2 s)
    const run = await redisFreezeUnderLoad(collector, redis, { ratePerSecond: 1000, seconds: 7, faultMs: 4000 });
    await expectSurvived(run);
    expect(
      collector.output.some((l) => l.includes('redis stopped answering: reconnecting')),
      collector.text(),
    ).toBe(true);
  });
});
