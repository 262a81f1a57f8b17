// The bounded scan behind access and erasure: a bound reached gives complete:false
// and a cursor; following the cursors finds exactly what one unbounded scan finds.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { scanVisitor } from '../../src/sink/visitor-scan.js';
import { uniquePrefix } from '../helpers/app.js';

describe('scanVisitor', () => {
  const redis = new Redis(inject('redisUrl'));
  const base = uniquePrefix('scan');
  const keys = [`${base}:{0}`, `${base}:{1}`, `${base}:{2}`];
  const add = (key: string, rec: object) => redis.xadd(key, '*', 'v', '1', 'hit', JSON.stringify(rec));

  beforeAll(async () => {
    let n = 0;
    for (let i = 0; i < 120; i++) {
      const key = keys[i % 3]!;
      const visitor = i % 4 === 0 ? 'k1.TARGET' : i % 4 === 1 ? 'k0.TARGETOLD' : `k1.other${i}`;
      await add(key, {
        id: `r${n++}`,
        site: i % 8 === 0 ? 'elsewhere' : 's1',
        event: 'page.display',
        mode: 'exempt',
        ts: Date.now(),
        visitor,
        props: {},
      });
    }
    await redis.xadd(keys[0]!, '*', 'v', '1', 'hit', '{not json "visitor":"k1.TARGET"');
  });
  afterAll(async () => {
    await redis.del(...keys);
    redis.disconnect();
  });

  const bounds = { maxEntries: 1e9, timeMs: 60_000 };

  it('finds the site records of every given pseudonym, whatever the shard', async () => {
    const r = await scanVisitor(redis, keys, 's1', ['k1.TARGET', 'k0.TARGETOLD'], bounds);
    expect(r.complete).toBe(true);
    expect(r.scanned).toBe(121);
    // i%4 in {0,1}: 60 entries; minus site "elsewhere" (i%8===0: 15)
    expect(r.records).toHaveLength(45);
    expect(r.records.every((x) => x.site === 's1' && (x.visitor === 'k1.TARGET' || x.visitor === 'k0.TARGETOLD'))).toBe(
      true,
    );
  });

  it('stops at the entry bound and resumes from the cursor', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let calls = 0;
    for (;;) {
      const r = await scanVisitor(
        redis,
        keys,
        's1',
        ['k1.TARGET', 'k0.TARGETOLD'],
        { maxEntries: 17, timeMs: 60_000 },
        { cursor },
      );
      calls++;
      expect(r.scanned).toBeLessThanOrEqual(17);
      seen.push(...r.records.map((x) => x.id));
      if (r.complete) break;
      expect(r.cursor).toMatch(/^\d+:\d+-\d+$/);
      cursor = r.cursor;
      expect(calls).toBeLessThan(50);
    }
    expect(calls).toBeGreaterThan(7);
    expect(new Set(seen).size).toBe(45);
    expect(seen).toHaveLength(45);
  });

  it('stops at the time bound', async () => {
    let t = 0;
    const r = await scanVisitor(
      redis,
      keys,
      's1',
      ['k1.TARGET'],
      { maxEntries: 1e9, timeMs: 1 },
      { now: () => (t += 1) },
    );
    expect(r.complete).toBe(false);
    expect(r.cursor).toBe('0:0-0');
  });

  it('refuses a malformed cursor', async () => {
    await expect(scanVisitor(redis, keys, 's1', ['k1.TARGET'], bounds, { cursor: '9:1-0' })).rejects.toThrow(
      'invalid cursor',
    );
    await expect(scanVisitor(redis, keys, 's1', ['k1.TARGET'], bounds, { cursor: 'nope' })).rejects.toMatchObject({
      name: 'InvalidCursorError',
      code: 'ERR_INVALID_CURSOR',
    });
  });
});
