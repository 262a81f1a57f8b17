// The report's request validation (shared by the CLI and an HTTP route) and its
// opt-out comparison: the anonymous `optout:{site}:<hour>` counters summed per UTC day
// beside the events the aggregator counted, under the same suppression rules.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  buildReport,
  formatReport,
  parseReportQuery,
  ReportQueryError,
  suppress,
  suppressWithin,
} from '../../src/aggregate/report.js';
import { AggregateStore, DAY_MS, utcDay } from '../../src/aggregate/store.js';
import { optoutCounterKey, setApartCounterKey } from '../../src/contract/keys.js';
import { uniquePrefix } from '../helpers/app.js';
import { record, todayStart } from '../helpers/aggregate.js';

const redis = new Redis(inject('redisUrl'));
const cleanup: string[] = [];
afterAll(async () => {
  for (const pattern of cleanup) {
    const keys = await redis.keys(pattern);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
});

describe('parseReportQuery', () => {
  const now = Date.parse('2026-11-29T14:00:00Z');
  const error = (q: Record<string, unknown>) => {
    try {
      parseReportQuery(q, now);
    } catch (err) {
      expect(err).toBeInstanceOf(ReportQueryError);
      return { field: (err as ReportQueryError).field, message: (err as Error).message };
    }
    throw new Error('no error');
  };

  it('accepts a site and a period, and defaults to today', () => {
    expect(parseReportQuery({ site: '123456', from: '2026-11-01', to: '2026-11-30' }, now)).toEqual({
      site: '123456',
      from: '2026-11-01',
      to: '2026-11-30',
    });
    expect(parseReportQuery({ site: 'a.b-c_d' }, now)).toEqual({
      site: 'a.b-c_d',
      from: '2026-11-29',
      to: '2026-11-29',
    });
    expect(parseReportQuery({ site: 's', from: '2026-11-01' }, now)).toEqual({
      site: 's',
      from: '2026-11-01',
      to: '2026-11-01',
    });
    expect(parseReportQuery({ site: 's', from: '2024-02-29', to: '2026-05-09' }, now).to).toBe('2026-05-09'); // 800 days
  });

  it('refuses what is not a site or a calendar day, with a message saying what is wrong', () => {
    expect(error({})).toEqual({
      field: 'site',
      message: 'site is missing: give the site id (1-64 letters, digits, _ . -)',
    });
    expect(error({ site: 'a b' })).toEqual({ field: 'site', message: 'site must be 1-64 letters, digits, _ . -' });
    expect(error({ site: 'x'.repeat(65) }).field).toBe('site');
    expect(error({ site: ['1', '2'] })).toEqual({ field: 'site', message: 'site must be given once, as text' });
    expect(error({ site: '1', from: '29/11/2026' })).toEqual({
      field: 'from',
      message: 'from must be a UTC day written YYYY-MM-DD, e.g. 2026-11-29',
    });
    expect(error({ site: '1', from: '2026-11-29T00:00:00Z' }).field).toBe('from');
    expect(error({ site: '1', from: '2026-02-30' })).toEqual({
      field: 'from',
      message: 'from is not a calendar day: 2026-02-30',
    });
    expect(error({ site: '1', from: '2026-11-01', to: '2026-13-01' })).toEqual({
      field: 'to',
      message: 'to is not a calendar day: 2026-13-01',
    });
    expect(error({ site: '1', from: '2026-11-02', to: '2026-11-01' })).toEqual({
      field: 'to',
      message: 'to (2026-11-01) is before from (2026-11-02)',
    });
    expect(error({ site: '1', from: '2024-02-29', to: '2026-05-10' })).toEqual({
      field: 'to',
      message: 'to may be at most 800 days after from (2024-02-29 to 2026-05-10 is 801 days)',
    });
  });
});

describe('opt-out counters in the report', () => {
  const prefix = uniquePrefix('rep');
  // opt-out counters are not under a prefix: a site id of this test only
  const site = `optrep${randomBytes(4).toString('hex')}`;
  cleanup.push(`${prefix}*`, `optout:{${site}}:*`);
  const store = new AggregateStore(redis, prefix, 30 * DAY_MS, 3_600_000);
  const today = utcDay(todayStart);
  const yesterday = utcDay(todayStart - DAY_MS);
  const before = utcDay(todayStart - 2 * DAY_MS);
  const hour = (dayStart: number, h: number) => optoutCounterKey(site, dayStart + h * 3_600_000);

  it('sums the 24 hours of each day, beside the events measured, suppressing what is below the minimum', async () => {
    // measured: 12 events today (10 page views, 2 clicks), 6 yesterday, none the day before
    for (let i = 0; i < 12; i++)
      await store.applyRecord(record(i, { site, event: i < 10 ? 'page.display' : 'click.action' }));
    for (let i = 0; i < 6; i++) await store.applyRecord(record(100 + i, { site, ts: todayStart - DAY_MS + 5_000 + i }));
    // opt-outs: today 4 + 3 over two hours and both field forms (7); yesterday 3; the day before 9
    await redis.hincrby(hour(todayStart, 0), 'page.display', 4);
    await redis.hincrby(hour(todayStart, 23), 'page.display|home', 2);
    await redis.hincrby(hour(todayStart, 23), 'other', 1);
    await redis.hincrby(hour(todayStart - DAY_MS, 12), 'page.display', 3);
    await redis.hincrby(hour(todayStart - 2 * DAY_MS, 23), 'click.action', 9);
    // another site's counters, the hour after the period: not counted
    await redis.hincrby(optoutCounterKey(`${site}x`, todayStart), 'page.display', 50);
    await redis.hincrby(hour(todayStart + DAY_MS, 0), 'page.display', 50);
    cleanup.push(`optout:{${site}x}:*`);

    const r = await buildReport(redis, { prefix, site, from: before, to: today, minCount: 5 });
    expect(r.optout.days).toEqual([
      { day: before, measured: 0, optedOut: 9 },
      { day: yesterday, measured: 6, optedOut: null },
      { day: today, measured: 12, optedOut: 7 },
    ]);
    // the total of 19 would give yesterday's hidden 3 away (19 − 9 − 7): withheld
    expect(r.optout.totals).toEqual({ measured: 18, optedOut: null });
    // the rest of the report is what it was
    expect(r.days).toEqual([
      { day: before, pageviews: 0, visits: 0, visitors: 0 },
      { day: yesterday, pageviews: 6, visits: 6, visitors: 6 },
      { day: today, pageviews: 10, visits: 12, visitors: 12 },
    ]);
    expect(r.totals).toEqual({ pageviews: 16, visits: 18 });

    // two days without a hidden one: the total is shown
    const two = await buildReport(redis, { prefix, site, from: yesterday, to: today, minCount: 3 });
    expect(two.optout.totals).toEqual({ measured: 18, optedOut: 10 });
    expect(formatReport(two)).toMatch(new RegExp(`${today}\\s+12\\s+7\n`));
    expect(formatReport(r)).toMatch(new RegExp(`${yesterday}\\s+6\\s+<min`));
    expect(formatReport(r)).toMatch(/total\s+18\s+<min/);
  });

  it('covers an 800-day period', async () => {
    const from = utcDay(todayStart - 800 * DAY_MS);
    const r = await buildReport(redis, { prefix, site, from, to: today, minCount: 5 });
    expect(r.days).toHaveLength(801);
    expect(r.optout.days).toHaveLength(801);
    expect(r.optout.days.slice(-3)).toEqual([
      { day: before, measured: 0, optedOut: 9 },
      { day: yesterday, measured: 6, optedOut: null },
      { day: today, measured: 12, optedOut: 7 },
    ]);
    expect(r.optout.days.slice(0, -3).every((d) => d.measured === 0 && d.optedOut === 0)).toBe(true);
  });

  it('refuses a minimum count below 1', async () => {
    await expect(buildReport(redis, { prefix, site, from: today, to: today, minCount: 0 })).rejects.toThrow(
      /minimum count/,
    );
  });
});

describe('suppressWithin (places within countries)', () => {
  const K = 5;
  const countryOf = (place: string) => place.split(' / ')[0]!;

  it('folds more places of a country whose hidden places would be given away by subtraction', () => {
    // FR 8 is shown; FR / Paris 5 shown alone would give FR / Nice 3 = 8 − 5
    const places = new Map([
      ['FR / Paris', 5],
      ['FR / Nice', 3],
      ['GB / London', 12],
      ['GB / Leeds', 6],
    ]);
    const countries = suppress(
      new Map([
        ['FR', 8],
        ['GB', 18],
      ]),
      K,
    );
    const t = suppressWithin(places, countryOf, countries, K);
    expect(t.rows).toEqual([
      { label: 'GB / London', count: 12 },
      { label: 'GB / Leeds', count: 6 },
    ]);
    expect(t).toMatchObject({ other: 8, suppressed: 2 });
    // whatever a reader subtracts, each country's hidden places add up to 0 or at least K
    for (const c of countries.rows) {
      const hidden = c.count - t.rows.filter((r) => countryOf(r.label) === c.label).reduce((a, r) => a + r.count, 0);
      expect(hidden === 0 || hidden >= K).toBe(true);
    }
  });

  it('folds every place of a country the country table folded, and shows a country at the minimum with its place', () => {
    // US 3 is folded; DE 6 is at or above the minimum, shown, and so is DE / Berlin
    const countries = suppress(
      new Map([
        ['FR', 20],
        ['DE', 6],
        ['US', 3],
      ]),
      K,
    );
    expect(countries.rows.map((r) => r.label)).toEqual(['FR', 'DE']);
    const t = suppressWithin(
      new Map([
        ['FR / Paris', 20],
        ['DE / Berlin', 6],
        ['US / Austin', 3],
      ]),
      countryOf,
      countries,
      K,
    );
    expect(t.rows).toEqual([
      { label: 'FR / Paris', count: 20 },
      { label: 'DE / Berlin', count: 6 },
    ]);
    expect(t).toMatchObject({ other: null, suppressed: 1 });
  });

  it('leaves a table alone when nothing can be subtracted', () => {
    const countries = suppress(
      new Map([
        ['FR', 13],
        ['GB', 12],
      ]),
      K,
    );
    const places = new Map([
      ['GB / Bracknell', 12],
      ['FR / Paris', 8],
      ['FR / Ahuille', 5],
    ]);
    expect(suppressWithin(places, countryOf, countries, K)).toEqual(suppress(places, K));
  });
});

describe('places within countries, from Redis to buildReport', () => {
  const prefix = uniquePrefix('repgeo');
  cleanup.push(`${prefix}*`);
  const store = new AggregateStore(redis, prefix, 30 * DAY_MS, 3_600_000);
  const day = utcDay(todayStart);

  it('never lets a hidden place be had as its shown country minus its shown places', async () => {
    // FR 8 (Paris 5, Nice 3), GB 18 (London 12, Leeds 6), one visit per visitor
    const places = [
      { geo: { country: 'FR', region: 'Île-de-France', city: 'Paris' }, visits: 5 },
      { geo: { country: 'FR', region: "Provence-Alpes-Côte d'Azur", city: 'Nice' }, visits: 3 },
      { geo: { country: 'GB', region: 'England', city: 'London' }, visits: 12 },
      { geo: { country: 'GB', region: 'England', city: 'Leeds' }, visits: 6 },
    ];
    let n = 0;
    for (const p of places)
      for (let v = 0; v < p.visits; v++)
        await store.applyRecord(record(n, { site: 'geo', visitor: `k1.geo${n++}`, geo: p.geo }));
    const r = await buildReport(redis, { prefix, site: 'geo', from: day, to: day, minCount: 5 });
    expect(r.countries.rows).toEqual([
      { label: 'GB', count: 18 },
      { label: 'FR', count: 8 },
    ]);
    // the plain suppression would show Paris (5), and FR 8 − 5 would give Nice's 3 a country
    const paris = 'FR / Île-de-France / Paris';
    expect(
      suppress(new Map(r.geo.rows.map((row) => [row.label, row.count] as const).concat([[paris, 5]])), 5).rows.map(
        (row) => row.label,
      ),
    ).toContain(paris);
    expect(r.geo.rows).toEqual([
      { label: 'GB / England / London', count: 12 },
      { label: 'GB / England / Leeds', count: 6 },
    ]);
    expect(r.geo).toMatchObject({ other: 8, suppressed: 2 });
    for (const c of r.countries.rows) {
      const hidden =
        c.count -
        r.geo.rows.filter((row) => row.label.split(' / ')[0] === c.label).reduce((a, row) => a + row.count, 0);
      expect(hidden === 0 || hidden >= 5, `${c.label}: ${hidden} hidden`).toBe(true);
    }
  });
});

describe('sources in the report', () => {
  const prefix = uniquePrefix('repsrc');
  cleanup.push(`${prefix}*`);
  const store = new AggregateStore(redis, prefix, 30 * DAY_MS, 3_600_000);
  const day = utcDay(todayStart);

  it('counts visits by referrer host, names search engines and social networks, and keeps nothing but the host', async () => {
    const page = 'https://shop.example/products/';
    const visits: [props: Record<string, unknown>, times: number][] = [
      [{}, 7], // direct
      [{ previous_url: 'https://www.shop.example/cart', page_url: page }, 5], // internal
      [{ previous_url: 'https://www.google.fr/', page_url: page }, 4],
      [{ previous_url: 'https://www.google.com/', event_url_full: page }, 2], // Google: 6, just above
      [{ previous_url: 'https://www.bing.com/search', page_url: page }, 4], // just below
      [{ src_referrer_url: 'https://t.co/AbCdEf', page_url: page }, 5], // X, at the minimum
      [{ previous_url: 'https://blog.example.net:8443/post/42', page_url: page }, 4],
      [{ previous_url: 'https://m.facebook.com/', page_url: page }, 1],
    ];
    let n = 0;
    for (const [props, times] of visits) {
      for (let i = 0; i < times; i++)
        await store.applyRecord(record(n, { site: 'src', visitor: `k1.src${n++}`, props: { page: 'home', ...props } }));
    }
    // what the aggregator stored: hosts and the two markers, nothing of a path, port or query
    expect(Object.keys(await redis.hgetall(store.keys.day('src', 'src', day))).sort()).toEqual(
      [
        '(direct)',
        '(internal)',
        'blog.example.net',
        'm.facebook.com',
        't.co',
        'www.bing.com',
        'www.google.com',
        'www.google.fr',
      ].sort(),
    );
    const r = await buildReport(redis, { prefix, site: 'src', from: day, to: day, minCount: 5 });
    expect(r.sources.rows).toEqual([
      { label: '(direct)', count: 7, kind: 'direct' },
      { label: 'Google', count: 6, kind: 'search' },
      { label: '(internal)', count: 5, kind: 'internal' },
      { label: 'X (Twitter)', count: 5, kind: 'social' },
    ]);
    // Bing 4, blog.example.net 4, Facebook 1: folded without their names
    expect(r.sources).toMatchObject({ other: 9, suppressed: 3 });
    expect(r.sources.days).toEqual([{ day, search: 10, social: 6, website: null, direct: 7, internal: 5 }]);
    const text = formatReport(r);
    expect(text).toMatch(/Google \(search engine\)\s+6/);
    expect(text).toMatch(/X \(Twitter\) \(social network\)\s+5/);
    expect(text).toMatch(new RegExp(`${day}\\s+10\\s+6\\s+<min\\s+7\\s+5`));
    for (const hidden of ['Bing', 'bing', 'blog.example', 'Facebook', 'facebook'])
      expect(JSON.stringify(r) + text).not.toContain(hidden);
  });
});

describe('set-apart counters in the report', () => {
  const prefix = uniquePrefix('repset');
  const site = `setrep${randomBytes(4).toString('hex')}`;
  cleanup.push(`setapart:{${site}}:*`, `setapart:{${site}x}:*`);
  const at = (dayStart: number, h: number) => setApartCounterKey(site, dayStart + h * 3_600_000);
  const today = utcDay(todayStart);
  const yesterday = utcDay(todayStart - DAY_MS);
  const before = utcDay(todayStart - 2 * DAY_MS);

  it('sums robots and spam per day over the 24 hours, with the same suppression', async () => {
    await redis.hincrby(at(todayStart, 3), 'robot', 40);
    await redis.hincrby(at(todayStart, 15), 'robot', 2);
    await redis.hincrby(at(todayStart, 15), 'spam', 7);
    await redis.hincrby(at(todayStart - DAY_MS, 23), 'robot', 4);
    await redis.hincrby(at(todayStart - 2 * DAY_MS, 0), 'spam', 6);
    // another site, and the hour after the period: not counted
    await redis.hincrby(setApartCounterKey(`${site}x`, todayStart), 'robot', 50);
    await redis.hincrby(at(todayStart + DAY_MS, 0), 'robot', 50);
    const r = await buildReport(redis, { prefix, site, from: before, to: today, minCount: 5 });
    expect(r.setApart.days).toEqual([
      { day: before, robots: 0, spam: 6 },
      { day: yesterday, robots: null, spam: 0 },
      { day: today, robots: 42, spam: 7 },
    ]);
    // 46 robots would give yesterday's 4 away (46 − 42): withheld; spam 13 has no hidden day
    expect(r.setApart.totals).toEqual({ robots: null, spam: 13 });
    const text = formatReport(r);
    expect(text).toContain('Set apart, not audience');
    expect(text).toMatch(new RegExp(`${yesterday}\\s+<min\\s+0`));
    expect(text).toMatch(/total\s+<min\s+13\s*$/);
  });
});
