// The reference aggregator as real processes (src/aggregate/main.ts, `npm run aggregate`):
// two consumers share a group, one is SIGKILLed between counting and XACK, and after
// recovery every record is counted exactly once.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DAY_MS, utcDay } from '../../src/aggregate/store.js';
import type { HitRecord } from '../../src/contract/record.js';
import { shardKey, streamKeys } from '../../src/contract/keys.js';
import { uniquePrefix } from '../helpers/app.js';
import { record, todayStart } from '../helpers/aggregate.js';
import { type Proc, startScript, until } from '../helpers/processes.js';

/** src/aggregate/main.ts, or with `crashAfter` the aggregator that SIGKILLs itself after counting that many records (test/helpers/crashing-aggregator.ts). */
const startAggregator = (env: Record<string, string>, crashAfter?: number): Proc =>
  crashAfter === undefined
    ? startScript('src/aggregate/main.ts', { NODE_ENV: 'test', ...env })
    : startScript('test/helpers/crashing-aggregator.ts', { NODE_ENV: 'test', ...env }, [String(crashAfter)]);

const redis = new Redis(inject('redisUrl'));
const cleanup: string[] = [];
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  for (const prefix of cleanup) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});

describe('two aggregator processes, one killed mid-way', () => {
  it('counts every record exactly once after recovery, duplicates included', async () => {
    const base = uniquePrefix('agg');
    cleanup.push(base);
    const env = {
      REDIS_URL: inject('redisUrl'),
      STREAM_KEY: base,
      STREAM_SHARDS: '2',
      ERASURE_STREAM: `${base}:erasures`,
      AGG_PREFIX: `${base}:agg`,
      AGG_GROUP: 'g',
      AGG_BATCH: '20',
      AGG_BLOCK_MS: '100',
      AGG_CLAIM_IDLE_MS: '500',
      LOG_LEVEL: 'info',
    };
    const a = startAggregator({ ...env, AGG_CONSUMER: 'A' }, 150);
    const b = startAggregator({ ...env, AGG_CONSUMER: 'B' });
    procs.push(a, b);
    await until(
      'both aggregators to start',
      () => [a, b].every((p) => p.output.some((l) => l.includes('aggregator started'))),
      30_000,
    );

    // 1200 records over two days, plus 60 duplicates: 30 identical entries written
    // twice, 30 resends of the same request a little later (same id, later ts).
    const keys = streamKeys(base, 2);
    const unique: HitRecord[] = [];
    for (let i = 0; i < 1200; i++) unique.push(record(i, i % 2 ? { ts: todayStart - DAY_MS + 3_600_000 + i } : {}));
    const written: HitRecord[] = [...unique];
    for (let i = 0; i < 30; i++) written.splice(100 + i * 30, 0, unique[i * 7]!);
    for (let i = 0; i < 30; i++) written.push({ ...unique[i * 11 + 1]!, ts: unique[i * 11 + 1]!.ts + 2000 });
    for (let off = 0; off < written.length; off += 100) {
      const pipe = redis.pipeline();
      for (const r of written.slice(off, off + 100))
        pipe.xadd(shardKey(keys, r.visitor, r.id), '*', 'v', '1', 'hit', JSON.stringify(r));
      await pipe.exec();
    }

    expect(await a.exit).toMatchObject({ code: null, signal: 'SIGKILL' });
    const agg = (kind: string, day: number) => `${base}:agg:{sA}:${kind}:${utcDay(day)}`;
    const counted = async () => {
      const t1 = await redis.hget(agg('totals', todayStart), 'events');
      const t2 = await redis.hget(agg('totals', todayStart - DAY_MS), 'events');
      return Number(t1 ?? 0) + Number(t2 ?? 0);
    };
    const pending = async () => {
      let n = 0;
      for (const k of keys) n += Number(((await redis.xpending(k, 'g')) as [number])[0]);
      return n;
    };
    // An entry is counted before it is acknowledged: once nothing is pending, a double
    // count has already happened; the graceful stop below finishes any step under way.
    await until(
      'the survivor to count everything',
      async () => (await counted()) >= 1200 && (await pending()) === 0,
      30_000,
    );
    b.proc.kill('SIGTERM');
    expect((await b.exit).code).toBe(0);

    expect(await counted()).toBe(1200);
    expect(await pending()).toBe(0);
    for (const day of [todayStart, todayStart - DAY_MS]) {
      const expected: Record<string, string> = {};
      for (const r of unique.filter((x) => utcDay(x.ts) === utcDay(day))) {
        const p = r.props.page as string;
        expected[p] = String(Number(expected[p] ?? 0) + 1);
      }
      expect(await redis.hgetall(agg('pv', day))).toEqual(expected);
      expect(await redis.hget(agg('totals', day), 'pageviews')).toBe('600');
      // 40 visitors, split by parity over the two days
      expect(await redis.hlen(agg('visitors', day))).toBe(20);
    }

    // both worked; A died with entries pending that B claimed and dropped as counted already
    const died = a.output.find((l) => l.includes('dying before XACK'));
    expect(died).toBeDefined();
    expect(JSON.parse(died!).applied).toBeGreaterThanOrEqual(150);
    const stopped = JSON.parse(b.output.find((l) => l.includes('aggregator stopped'))!);
    expect(stopped.claimed).toBeGreaterThan(0);
    expect(stopped.applied).toBeGreaterThan(0);
    expect(stopped.applied).toBeLessThan(1200);
    expect(stopped.duplicates).toBeGreaterThanOrEqual(60);
  });
});
