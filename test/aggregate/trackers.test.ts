// Matomo and Plausible hits through the collector, counted by the reference aggregator
// as it is (src/aggregate/ knows nothing of trackers): a site measured by both trackers
// at once gets one report, page views from both, visits and visitors from Matomo's _id
// only (a Plausible hit has no visitor).
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/aggregate/consumer.js';
import { buildReport, type Report } from '../../src/aggregate/report.js';
import { utcDay } from '../../src/aggregate/store.js';
import { loadAggregateConfig } from '../../src/config/index.js';
import { startTestApp, type TestApp, uniquePrefix, writeSitesFile } from '../helpers/app.js';

const ORIGIN = 'https://www.shop.test';

describe('the aggregator counts tracker records without change', () => {
  let t: TestApp;
  let report: Report;
  let applied: number;

  beforeAll(async () => {
    const streamKey = uniquePrefix('trackers-agg');
    t = await startTestApp({
      STREAM_KEY: streamKey,
      STREAM_SHARDS: '2',
      LOG_LEVEL: 'warn',
      SITES_FILE: writeSitesFile({ '12': { domains: ['www.shop.test'] } }),
    });
    const [base] = await t.listen();
    const first = Date.now();
    // Matomo: three visitors (matomo.js sendBeacon shape), five page views, one outlink
    // urlref (→ previous_url) on each visit's first page: a search engine, the site itself, none
    const views: [string, string, string, string?][] = [
      ['aaaaaaaaaaaaaaa1', 'Home', '/', 'https://www.ecosia.org/search?q=shop'],
      ['aaaaaaaaaaaaaaa1', 'News', '/news', `${ORIGIN}/`],
      ['bbbbbbbbbbbbbbb2', 'Home', '/', 'https://shop.test/old-home'],
      ['ccccccccccccccc3', 'Home', '/'],
      ['ccccccccccccccc3', 'Contact', '/contact?from=footer', `${ORIGIN}/`],
    ];
    let r = 100000;
    for (const [id, title, path, urlref] of views) {
      const q = new URLSearchParams({
        action_name: title,
        idsite: '12',
        rec: '1',
        r: String(r++),
        url: `${ORIGIN}${path}`,
        _id: id,
        send_image: '0',
        res: '390x844',
        ...(urlref ? { urlref } : {}),
      });
      const res = await fetch(`${base}/matomo.php?${q}`, {
        method: 'POST',
        headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
        body: '',
      });
      expect(res.status).toBe(204);
    }
    const link = new URLSearchParams({
      link: 'https://partner.test/x',
      idsite: '12',
      rec: '1',
      r: String(r),
      url: `${ORIGIN}/`,
      _id: 'aaaaaaaaaaaaaaa1',
    });
    expect((await fetch(`${base}/matomo.php?${link}`, { headers: { origin: ORIGIN } })).status).toBe(200);
    // Plausible: four page views (plausible-tracker's body), no visitor
    for (const path of ['/', '/', '/', '/pricing?plan=pro']) {
      const body = JSON.stringify({ n: 'pageview', u: `${ORIGIN}${path}`, d: 'shop.test', r: null, w: 1280, h: 0 });
      const res = await fetch(`${base}/api/event`, {
        method: 'POST',
        headers: { origin: ORIGIN, 'content-type': 'text/plain' },
        body,
      });
      expect(res.status).toBe(202);
    }
    const last = Date.now();

    if (t.config.redis.kind !== 'single') throw new Error('a single Redis is expected');
    const cfg = loadAggregateConfig({
      REDIS_URL: t.config.redis.url,
      STREAM_KEY: streamKey,
      STREAM_SHARDS: '2',
      ERASURE_STREAM: `${streamKey}:erasures`,
      AGG_PREFIX: `${streamKey}:agg`,
      AGG_CONSUMER: 'trackers-test',
      AGG_BLOCK_MS: '20',
    });
    const agg = new Aggregator(t.redis, cfg, pino({ level: 'silent' }));
    await agg.ensureGroups();
    for (let i = 0; i < 100 && (await agg.step(false)) > 0; i++);
    applied = agg.stats.applied;
    report = await buildReport(t.redis, {
      prefix: cfg.prefix,
      site: '12',
      from: utcDay(first),
      to: utcDay(last),
      minCount: 1,
    });
  });
  afterAll(async () => {
    const keys = await t.redis.keys(`${t.config.streamKey}:*`);
    if (keys.length) await t.redis.del(...keys);
    await t.close();
  });

  it('counts page views from both trackers, visits and visitors from Matomo only', () => {
    expect(applied).toBe(10); // 5 + 1 Matomo records, 4 Plausible ones
    expect(report.totals).toEqual({ pageviews: 9, visits: 3 });
    const days = report.days.filter((d) => d.pageviews !== 0);
    expect(days.reduce((n, d) => n + (d.visitors ?? 0), 0)).toBe(3);
    // Matomo names a page by its title, Plausible by its path
    expect(report.pages.rows).toEqual(
      expect.arrayContaining([
        { label: 'Home', count: 3 },
        { label: 'News', count: 1 },
        { label: 'Contact', count: 1 },
        { label: '/', count: 3 },
        { label: '/pricing', count: 1 },
      ]),
    );
    expect(report.pages.rows).toHaveLength(5);
    expect(report.optout.totals.measured).toBe(10);
    // device classes from Matomo's res (per visit): three visits on a 390 px screen
    expect(report.devices.rows).toEqual([{ label: 'mobile', count: 3 }]);
    // sources, per visit (Matomo's): Ecosia, the site's own host without www. (internal), none
    expect(report.sources.rows).toEqual([
      { label: '(direct)', count: 1, kind: 'direct' },
      { label: '(internal)', count: 1, kind: 'internal' },
      { label: 'Ecosia', count: 1, kind: 'search' },
    ]);
  });
});
