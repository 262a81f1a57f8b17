// Redis killed (SIGKILL) and frozen (SIGSTOP) under steady load, against the real
// collector process: every 2xx hit is in the stream, the rest got a quick 503 with
// Retry-After, readiness follows Redis, ingestion resumes by itself, RSS stays bounded.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEYS, uniquePrefix } from '../helpers/app.js';
import { percentile, pollStatus, runLoad, storedIds, type Outcome } from '../helpers/fault-load.js';
import { type CollectorProcess, type RedisProcess, sleep, startCollector, startRedis } from '../helpers/fault-processes.js';

const RATE = Number(process.env.FAULT_RATE ?? 2000); // hits/s
const SECONDS = Number(process.env.FAULT_SECONDS ?? 9);
const RSS_GROWTH_BOUND = 64 * 1024 * 1024;

function summary(outcomes: Outcome[]) {
  const by: Record<string, number> = {};
  for (const o of outcomes) by[o.error ?? String(o.status)] = (by[o.error ?? String(o.status)] ?? 0) + 1;
  return by;
}

describe('Redis outage under load (real processes)', () => {
  let redis: RedisProcess;
  let collector: CollectorProcess;
  let client: Redis;
  const streamKey = uniquePrefix('outage');

  beforeAll(async () => {
    // AOF on: an acknowledged XADD was written to the AOF before the reply, so it survives a SIGKILL
    redis = await startRedis({ aof: true, fsync: 'everysec' });
    collector = await startCollector({
      REDIS_URL: redis.url,
      STREAM_KEY: streamKey,
      PSEUDONYM_KEYS: TEST_KEYS,
      GEOIP_DB: 'off',
      LOG_LEVEL: 'warn',
    });
    client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    client.on('error', () => undefined);
  });
  afterAll(async () => {
    client?.disconnect();
    await collector?.stop();
    await redis?.stop();
  });

  it('kill -9 and restart: no 2xx hit lost, fast 503s, readiness follows, bounded RSS', async () => {
    const pid = collector.proc.pid;
    const ready = pollStatus(`${collector.base}/readyz`, 100);
    const rss: { at: number; bytes: number }[] = [];
    const rssTimer = setInterval(() => rss.push({ at: Date.now(), bytes: collector.rss() }), 100);

    let killedAt = 0;
    let restartedAt = 0;
    const faults = (async () => {
      await sleep(SECONDS * 280);
      killedAt = Date.now();
      await redis.kill('SIGKILL');
      await sleep(SECONDS * 280);
      await redis.restart();
      restartedAt = Date.now();
    })();
    const { outcomes, startedAt } = await runLoad({ base: collector.base, ratePerSecond: RATE, durationMs: SECONDS * 1000, maxRequests: RATE * SECONDS, concurrency: 64 });
    await faults;
    // wait (bounded) for readiness, then prove ingestion resumed without a restart
    const until = Date.now() + 10_000;
    while (Date.now() < until && (ready.samples.at(-1)?.status ?? 0) !== 200) await sleep(50);
    ready.stop();
    clearInterval(rssTimer);
    const after = await runLoad({ base: collector.base, ratePerSecond: 500, durationMs: 2000, maxRequests: 200, concurrency: 8 });

    const all = [...outcomes, ...after.outcomes];
    const ok = all.filter((o) => o.status === 204);
    const refused = outcomes.filter((o) => o.status === 503);
    await client.connect();
    const ids = await storedIds(client, [streamKey]);
    const missing = ok.filter((o) => !ids.has(o.recordId));
    const landedAnyway = refused.filter((o) => ids.has(o.recordId)).length;

    const notReadyAt = ready.samples.find((s) => s.at >= killedAt && s.status !== 200)?.at;
    const readyAgainAt = ready.samples.find((s) => s.at >= restartedAt && s.status === 200)?.at;
    const firstOkAfter = outcomes.find((o) => o.status === 204 && startedAt + o.sentAt >= restartedAt);
    const before = rss.filter((s) => s.at < killedAt).map((s) => s.bytes);
    const during = rss.filter((s) => s.at >= killedAt && s.at <= restartedAt).map((s) => s.bytes);
    const baseline = before.at(-1)!;
    const growth = Math.max(...during) - baseline;
    const lat503 = refused.map((o) => o.ms);
    const figures = {
      requests: outcomes.length,
      statuses: summary(all),
      stored_2xx: ok.length,
      missing_2xx: missing.length,
      refused_503_that_landed_anyway: landedAnyway,
      latency_503_ms: { p50: percentile(lat503, 50), p99: percentile(lat503, 99), max: Math.max(...lat503) },
      readyz_503_after_kill_ms: notReadyAt ? notReadyAt - killedAt : null,
      readyz_200_after_restart_ms: readyAgainAt ? readyAgainAt - restartedAt : null,
      first_2xx_after_restart_ms: firstOkAfter ? startedAt + firstOkAfter.sentAt - restartedAt : null,
      rss_baseline_mb: +(baseline / 2 ** 20).toFixed(1),
      rss_growth_during_outage_mb: +(growth / 2 ** 20).toFixed(1),
    };
    console.log('redis kill -9 outage figures', JSON.stringify(figures));

    expect(collector.proc.pid).toBe(pid);
    expect(collector.proc.exitCode).toBeNull();
    expect(missing.map((o) => o.index)).toEqual([]);
    // every answer is a 204 or a 503 with Retry-After and a JSON error; no dropped connection
    for (const o of all) {
      expect(o.error).toBeUndefined();
      expect([204, 503]).toContain(o.status);
      if (o.status === 503) {
        expect(o.retryAfter).toBe('1');
        expect(JSON.parse(o.body!)).toMatchObject({ statusCode: 503, error: expect.any(String) });
      }
    }
    expect(refused.length).toBeGreaterThan(0); // the outage was real
    expect(percentile(lat503, 99)).toBeLessThan(1000);
    expect(figures.readyz_503_after_kill_ms).not.toBeNull();
    expect(figures.readyz_503_after_kill_ms!).toBeLessThanOrEqual(2000);
    expect(figures.readyz_200_after_restart_ms).not.toBeNull();
    expect(figures.readyz_200_after_restart_ms!).toBeLessThanOrEqual(5000);
    expect(after.outcomes.every((o) => o.status === 204)).toBe(true);
    expect(growth).toBeLessThan(RSS_GROWTH_BOUND);
  });

  it('frozen Redis (SIGSTOP): 503 within 1 s, reconnects past 2 s, then it resumes by itself', async () => {
    const ready = pollStatus(`${collector.base}/readyz`, 100);
    let stoppedAt = 0;
    let resumedAt = 0;
    const faults = (async () => {
      await sleep(1000);
      stoppedAt = Date.now();
      redis.proc.kill('SIGSTOP');
      await sleep(2500);
      redis.proc.kill('SIGCONT');
      resumedAt = Date.now();
    })();
    const { outcomes, startedAt } = await runLoad({ base: collector.base, ratePerSecond: 1000, durationMs: 6000, maxRequests: 6000, concurrency: 64 });
    await faults;
    ready.stop();

    const ok = outcomes.filter((o) => o.status === 204);
    const refused = outcomes.filter((o) => o.status === 503);
    const ids = await storedIds(client, [streamKey]);
    const missing = ok.filter((o) => !ids.has(o.recordId));
    const lat503 = refused.map((o) => o.ms);
    const notReadyAt = ready.samples.find((s) => s.at >= stoppedAt && s.status !== 200)?.at;
    const readyAgainAt = ready.samples.find((s) => s.at >= resumedAt && s.status === 200)?.at;
    const lastOk = outcomes.filter((o) => o.status === 204).at(-1);
    const figures = {
      requests: outcomes.length,
      statuses: summary(outcomes),
      missing_2xx: missing.length,
      latency_503_ms: { p50: percentile(lat503, 50), p99: percentile(lat503, 99), max: Math.max(...lat503) },
      readyz_503_after_stop_ms: notReadyAt ? notReadyAt - stoppedAt : null,
      readyz_200_after_cont_ms: readyAgainAt ? readyAgainAt - resumedAt : null,
      last_2xx_sent_after_cont_ms: lastOk ? startedAt + lastOk.sentAt - resumedAt : null,
    };
    console.log('redis SIGSTOP figures', JSON.stringify(figures));

    expect(missing.map((o) => o.index)).toEqual([]);
    for (const o of outcomes) {
      expect(o.error).toBeUndefined();
      expect([204, 503]).toContain(o.status);
    }
    expect(refused.length).toBeGreaterThan(0);
    expect(percentile(lat503, 99)).toBeLessThan(1000);
    expect(figures.readyz_503_after_stop_ms!).toBeLessThanOrEqual(2000);
    expect(figures.readyz_200_after_cont_ms!).toBeLessThanOrEqual(5000);
    expect(figures.last_2xx_sent_after_cont_ms!).toBeGreaterThan(0); // hits were stored again after SIGCONT
    // the watchdog dropped the unanswered connection (SINK stuck threshold: max(2 s, 4 x 500 ms))
    expect(collector.output.some((l) => l.includes('redis stopped answering: reconnecting'))).toBe(true);
  });
});
