// Age-based trimming: everything older than the limit goes, nothing newer.
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { RetentionTrimmer } from '../../src/sink/retention.js';
import { uniquePrefix } from '../helpers/app.js';

const DAY = 86_400_000;

describe('RetentionTrimmer', () => {
  const redis = new Redis(inject('redisUrl'));
  const base = uniquePrefix('retention');
  const keys = [`${base}:{0}`, `${base}:{1}`, `${base}:erasures`];
  afterAll(async () => {
    await redis.del(...keys);
    redis.disconnect();
  });

  it('removes entries older than the retention and keeps every newer one, on every stream', async () => {
    const now = Date.now();
    const retention = 30 * DAY;
    const limit = now - retention;
    const ids: Record<string, string[]> = {};
    for (const key of keys) {
      ids[key] = [];
      // 450 old entries (several radix-tree nodes, so `~` alone would leave some), then new ones,
      // including some within a millisecond of the limit on either side
      const times = [
        ...Array.from({ length: 450 }, (_, i) => limit - 40 * DAY + i * 1000),
        limit - 1,
        limit,
        limit + 1,
        ...Array.from({ length: 30 }, (_, i) => limit + 1000 * (i + 2)),
        now,
      ];
      const pipe = redis.pipeline();
      times.forEach((t, i) => pipe.xadd(key, `${t}-${i}`, 'v', '1', 'hit', '{}'));
      await pipe.exec();
      ids[key] = times.map((t, i) => `${t}-${i}`);
    }
    const trimmer = new RetentionTrimmer(redis, { keys, retentionMs: retention, intervalMs: 0, now: () => now });
    expect(trimmer.minId()).toBe(`${limit}-0`);
    const removed = await trimmer.trimOnce();
    expect(removed).toBe(3 * 451);
    for (const key of keys) {
      const left = (await redis.xrange(key, '-', '+')).map(([id]) => id);
      const expected = ids[key]!.filter((id) => Number(id.split('-')[0]) >= limit);
      expect(left).toEqual(expected);
    }
    // idempotent
    expect(await trimmer.trimOnce()).toBe(0);
  });

  it('runs periodically once started, and stops', async () => {
    const key = `${base}:periodic`;
    keys.push(key);
    await redis.xadd(key, `${Date.now() - 10 * DAY}-0`, 'v', '1', 'hit', '{}');
    await redis.xadd(key, '*', 'v', '1', 'hit', '{}');
    const trimmer = new RetentionTrimmer(redis, { keys: [key], retentionMs: DAY, intervalMs: 1000 });
    trimmer.start();
    const until = Date.now() + 5000;
    while ((await redis.xlen(key)) !== 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await trimmer.stop();
    expect(await redis.xlen(key)).toBe(1);
  });
});
