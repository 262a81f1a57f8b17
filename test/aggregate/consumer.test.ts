// The reference aggregator in-process against a real Redis: erasure tombstones,
// duplicate record ids, and the report's small-cell suppression. The runs as real
// processes (a consumer SIGKILLed mid-way, the report CLI) are in
// test/aggregate/main.test.ts and test/aggregate/report-cli.test.ts.
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Aggregator } from '../../src/aggregate/consumer.js';
import { buildReport, formatReport, suppress } from '../../src/aggregate/report.js';
import { deviceClass, utcDay } from '../../src/aggregate/store.js';
import { loadAggregateConfig } from '../../src/config/index.js';
import type { HitRecord } from '../../src/contract/record.js';
import { uniquePrefix } from '../helpers/app.js';
import { record, todayStart } from '../helpers/aggregate.js';

const redis = new Redis(inject('redisUrl'));
const cleanup: string[] = [];
afterAll(async () => {
  for (const prefix of cleanup) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});

describe('erasure tombstones, duplicates and the report', () => {
  const base = uniquePrefix('agg1');
  cleanup.push(base);
  const cfg = loadAggregateConfig({
    REDIS_URL: inject('redisUrl'),
    STREAM_KEY: base,
    ERASURE_STREAM: `${base}:erasures`,
    AGG_PREFIX: `${base}:agg`,
    AGG_CONSUMER: 'solo',
    AGG_BLOCK_MS: '20',
  });
  const agg = new Aggregator(redis, cfg, pino({ level: 'silent' }));
  const add = (r: HitRecord) => redis.xadd(base, '*', 'v', '1', 'hit', JSON.stringify(r));
  const drain = async () => {
    while ((await agg.step(false)) > 0);
  };
  const day = utcDay(todayStart);
  const visitorsKey = `${base}:agg:{sB}:visitors:${day}`;
  const at = (h: number) => todayStart + h * 3_600_000;

  it('removes an erased visitor from the distinct-visitor counts and ignores their records in flight', async () => {
    await agg.ensureGroups();
    // 7 visitors see home, 6 of them news, visitor 0 also contact
    let n = 0;
    for (let v = 0; v < 7; v++) {
      await add(
        record(n++, { site: 'sB', visitor: `k1.v${v}`, ts: at(1) + v, props: { page: 'home', ch_ua_mobile: v < 5 } }),
      );
      if (v > 0)
        await add(record(n++, { site: 'sB', visitor: `k1.v${v}`, ts: at(1) + 100 + v, props: { page: 'news' } }));
    }
    await add(record(n, { site: 'sB', visitor: 'k1.v0', ts: at(1) + 200, props: { page: 'contact' } }));
    await drain();
    expect(await redis.hlen(visitorsKey)).toBe(7);

    // the same record again: counted once
    await add(record(0, { site: 'sB', visitor: 'k1.v0', ts: at(1), props: { page: 'home', ch_ua_mobile: true } }));
    await drain();
    expect(agg.stats.duplicates).toBe(1);
    expect(await redis.hget(`${base}:agg:{sB}:pv:${day}`, 'home')).toBe('7');

    // erasure of v0 (under two keys, as the collector publishes it)
    for (const visitor of ['k1.v0', 'k0.v0']) {
      await redis.xadd(
        `${base}:erasures`,
        '*',
        'v',
        '1',
        'tombstone',
        JSON.stringify({ site: 'sB', visitor, ts: at(2) }),
      );
    }
    await drain();
    expect(agg.stats.tombstones).toBe(2);
    expect(await redis.hlen(visitorsKey)).toBe(6);
    expect(await redis.hexists(visitorsKey, 'k1.v0')).toBe(0);

    // a record of v0 from before the erasure, still in flight: ignored
    await add(record(900, { site: 'sB', visitor: 'k1.v0', ts: at(1) + 300, props: { page: 'late' } }));
    await drain();
    expect(agg.stats.erasedSkipped).toBe(1);
    expect(await redis.hlen(visitorsKey)).toBe(6);
    expect(await redis.hexists(`${base}:agg:{sB}:pv:${day}`, 'late')).toBe(0);

    // v0 comes back after the erasure: new data, counted
    await add(record(901, { site: 'sB', visitor: 'k1.v0', ts: at(3), props: { page: 'home' } }));
    await drain();
    expect(await redis.hlen(visitorsKey)).toBe(7);
  });

  it('reports suppress cells below the minimum count', async () => {
    const report = await buildReport(redis, { prefix: `${base}:agg`, site: 'sB', from: day, to: day, minCount: 5 });
    // home 8, news 6, contact 1: contact is folded without its name; news, at or above the
    // minimum, stays shown (the 1 can be had as 15 − 8 − 6, but not which page it was)
    expect(report.pages.rows).toEqual([
      { label: 'home', count: 8 },
      { label: 'news', count: 6 },
    ]);
    expect(report.pages).toMatchObject({ other: null, suppressed: 1 });
    expect(report.totals.pageviews).toBe(15);
    expect(report.days).toEqual([{ day, pageviews: 15, visits: 8, visitors: 7 }]);
    // devices: 5 mobile visits (ch_ua_mobile), 3 unknown (no hint, no width): mobile is shown,
    // the 3 folded without its name and withheld
    expect(report.devices).toEqual({ rows: [{ label: 'mobile', count: 5 }], other: null, suppressed: 1 });
    expect(report.countries.rows).toEqual([{ label: 'FR', count: 8 }]);
    expect(report.geo.rows).toEqual([{ label: 'FR / Île-de-France / Paris', count: 8 }]);
    // nowhere in a report: a pseudonym
    expect(JSON.stringify(report) + formatReport(report)).not.toMatch(/k1\.|k0\./);

    const strict = await buildReport(redis, { prefix: `${base}:agg`, site: 'sB', from: day, to: day, minCount: 10 });
    expect(strict.pages.rows).toEqual([]);
    expect(strict.days[0]!.visitors).toBeNull();
    expect(strict.days[0]!.visits).toBeNull();
    expect(strict.totals.visits).toBeNull();
    expect(formatReport(strict)).toContain('<min');
  });
});

describe('suppress', () => {
  it('folds the cells below the minimum without their names, and never a cell at or above it', () => {
    expect(suppress({ a: 10, b: 6, c: 2, d: 1 }, 5)).toEqual({
      rows: [
        { label: 'a', count: 10 },
        { label: 'b', count: 6 },
      ],
      other: null,
      suppressed: 2,
    });
    expect(suppress({ a: 10, b: 6, c: 3, d: 2 }, 5)).toEqual({
      rows: [
        { label: 'a', count: 10 },
        { label: 'b', count: 6 },
      ],
      other: 5,
      suppressed: 2,
    });
    expect(suppress({ a: 3 }, 5)).toEqual({ rows: [], other: null, suppressed: 1 });
    expect(suppress({ a: 5, z: 0 }, 5)).toEqual({ rows: [{ label: 'a', count: 5 }], other: 0, suppressed: 0 });
    // just above and just below the minimum: 18 beside 2 (issue 20), 5 beside 4
    expect(suppress({ second: 18, rare: 2 }, 5)).toEqual({
      rows: [{ label: 'second', count: 18 }],
      other: null,
      suppressed: 1,
    });
    expect(suppress({ at: 5, below: 4, above: 6 }, 5)).toEqual({
      rows: [
        { label: 'above', count: 6 },
        { label: 'at', count: 5 },
      ],
      other: null,
      suppressed: 1,
    });
    // whatever the cells, every shown row is at or above the minimum, every cell at or above it is shown
    const cells = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, (i * 7) % 11]));
    const t = suppress(cells, 5);
    expect(t.rows.map((r) => r.label).sort()).toEqual(
      Object.entries(cells)
        .filter(([, n]) => n >= 5)
        .map(([l]) => l)
        .sort(),
    );
  });
  it('classes devices from allowlisted properties', () => {
    expect(deviceClass({ ch_ua_mobile: true, device_screen_width: 1920 })).toBe('mobile');
    expect(deviceClass({ device_screen_width: 390 })).toBe('mobile');
    expect(deviceClass({ device_screen_width: 800 })).toBe('tablet');
    expect(deviceClass({ ch_ua_mobile: false, device_screen_width: 1280 })).toBe('desktop');
    expect(deviceClass({})).toBe('unknown');
  });
});
