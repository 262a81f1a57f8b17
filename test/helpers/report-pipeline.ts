// A report made the whole way: the real SDK's requests (test/fixtures/sdk) posted to
// the collector (with the client addresses a load balancer would give), opt-out hits
// among them, the records counted by the reference aggregator, then the report. Used
// by test/aggregate/report-html.pipeline.test.ts and the browser test of the HTML page.
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { Aggregator } from '../../src/aggregate/consumer.js';
import { buildReport, type Report } from '../../src/aggregate/report.js';
import { AggregateStore, DAY_MS, utcDay } from '../../src/aggregate/store.js';
import { loadAggregateConfig } from '../../src/config/index.js';
import { optoutCounterKey, setApartCounterKey } from '../../src/contract/keys.js';
import { startTestApp, type TestApp, uniquePrefix } from './app.js';
import { record } from './aggregate.js';
import { replay, sdkRequest } from './fixtures.js';

export const MIN_COUNT = 5;

/** Page names, from the pages' scripts: hostile ones among them. */
const PAGES = {
  script: '<script>alert("pwned")</script>',
  long: `news/2026/${'a-very-long-article-title-that-goes-on-'.repeat(4)}and-on`,
  svg: '"><svg onload=alert(1)>',
  style: '</style><h1>defaced</h1>',
};

/** Client addresses (the embedded GeoLite2 City data) and where they are. */
const PLACES = [
  { ip: '81.2.69.142', cell: 'GB / England / Bracknell' },
  { ip: '78.192.10.1', cell: 'FR / Ile-de-France / Paris' },
  { ip: '90.12.34.56', cell: 'FR / Pays de la Loire / Ahuille' },
  { ip: '8.8.8.1', cell: 'US / ? / ?' },
  { ip: '2.2.2.1', cell: 'SE / ? / ?' },
  { ip: undefined, cell: '? / ? / ?' }, // no X-Forwarded-For: the collector sees 127.0.0.1, no place
];

interface Visitor {
  idclient: string;
  /** The referrer of the visit's first page ('' direct). */
  referrer: string;
  ip: string | undefined;
  width: number;
  pages: string[];
  click: boolean;
}

/**
 * 30 visitors, planned so that every table has shown cells, hidden ones, and an
 * "(other)" that is at the minimum exactly (no further folding) — except devices.
 *   places:  12 Bracknell, 8 Paris, 5 Ahuille | hidden: 3 US, 1 SE, 1 unknown
 *   pages:   home 30, news 20, <script> 8, long 7 | hidden: sport 3, <svg> 1, </style> 1
 *   devices: mobile 15, desktop 10 | hidden: tablet 4, unknown 1
 *   sources: Google 10, Qwant 6, X (t.co) 5, direct 5 | hidden: news.example.net 3, Bing 1
 *   5 click events; 7 opt-out and 2 no-consent hits (opt-outs: 9)
 */
/** Referrers of the visitors' first pages, by visitor number (below the first bound: the first referrer). */
const REFERRERS: readonly [below: number, referrer: string][] = [
  [10, 'https://www.google.fr/'],
  [16, 'https://www.qwant.com/?q=exempt+audience'],
  [21, 'https://t.co/Xy12Ab'],
  [24, 'https://news.example.net/2026/links'],
  [25, 'https://www.bing.com/search'],
];

function plan(site: string): Visitor[] {
  return Array.from({ length: 30 }, (_, v) => {
    const place = v < 12 ? 0 : v < 20 ? 1 : v < 25 ? 2 : v < 28 ? 3 : v === 28 ? 4 : 5;
    const pages = ['home'];
    if (v < 20) pages.push('news');
    if (v < 3) pages.push('sport');
    else if (v < 11) pages.push(PAGES.script);
    else if (v < 18) pages.push(PAGES.long);
    else if (v === 18) pages.push(PAGES.svg);
    else if (v === 19) pages.push(PAGES.style);
    const width = v % 2 === 0 ? 390 : v < 21 ? 1280 : v < 29 ? 800 : 0;
    const referrer = REFERRERS.find(([below]) => v < below)?.[1] ?? '';
    return {
      idclient: `${site}v${v}x${randomBytes(3).toString('hex')}`,
      referrer,
      ip: PLACES[place]!.ip,
      width,
      pages,
      click: v < 5,
    };
  });
}

export const EXPECTED = {
  pageviews: 70,
  events: 75,
  visits: 30,
  optedOut: 9,
  pages: [
    { label: 'home', count: 30 },
    { label: 'news', count: 20 },
    { label: PAGES.script, count: 8 },
    { label: PAGES.long, count: 7 },
  ],
  hiddenPages: ['sport', PAGES.svg, PAGES.style],
  countries: [
    { label: 'FR', count: 13 },
    { label: 'GB', count: 12 },
  ],
  geo: [
    { label: PLACES[0]!.cell, count: 12 },
    { label: PLACES[1]!.cell, count: 8 },
    { label: PLACES[2]!.cell, count: 5 },
  ],
  hiddenPlaces: ['US', 'SE', 'US / ? / ?', 'SE / ? / ?'],
  devices: [
    { label: 'mobile', count: 15 },
    { label: 'desktop', count: 10 },
  ],
  hiddenDevices: ['tablet', 'unknown'],
  sources: [
    { label: 'Google', count: 10, kind: 'search' },
    { label: 'Qwant', count: 6, kind: 'search' },
    { label: '(direct)', count: 5, kind: 'direct' },
    { label: 'X (Twitter)', count: 5, kind: 'social' },
  ],
  hiddenSources: ['news.example.net', 'Bing', 'bing.com'],
  /** Set-apart counters written as the collector would (HINCRBY): robots 12 and spam 3 on the last day. */
  setApart: { robot: 12, spam: 3 },
};

export const ADMIN_TOKEN = 'report-admin-token-0123';

export interface PipelineRun {
  site: string;
  report: Report;
  /** The period of the report. */
  query: { from: string; to: string };
  /** The collector the hits went through (its operator listener serves /admin/report). */
  app: TestApp;
  /** Every visitor pseudonym the collector wrote (none may be in a report). */
  pseudonyms: string[];
  close(): Promise<void>;
}

/** Posts the planned hits through the collector, counts them with the aggregator, builds the report. */
export async function reportThroughPipeline(): Promise<PipelineRun> {
  // (digits: without a sites file a site id is 1-10 digits)
  const site = String(1_000_000_000 + (randomBytes(4).readUInt32BE() % 1_000_000_000));
  const streamKey = uniquePrefix('report');
  const t: TestApp = await startTestApp({
    TRUST_PROXY: '127.0.0.1',
    STREAM_KEY: streamKey,
    STREAM_SHARDS: '2',
    LOG_LEVEL: 'warn',
    // GET /admin/report reads the same aggregates
    AGG_PREFIX: `${streamKey}:agg`,
    REPORT_MIN_COUNT: String(MIN_COUNT),
    ADMIN_TOKEN: ADMIN_TOKEN,
  });
  try {
    const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const exempt = sdkRequest('exempt');
    const now = new Date().toISOString();
    const post = async (v: Visitor, page: string, event: string, referrer = '') => {
      const body = exempt.body
        .replace('"previous_url":""', `"previous_url":${JSON.stringify(referrer)}`)
        .replace('"name":"page.display"', `"name":${JSON.stringify(event)}`)
        .replace('"page":"home"', `"page":${JSON.stringify(page)}`)
        .replace(/"device_screen_width":\d+/, `"device_screen_width":${v.width}`)
        .replace(/"cookie_creation_date":"[^"]*"/, `"cookie_creation_date":"${now}"`);
      const res = await replay(
        base,
        { ...exempt, body },
        {
          query: `s=${site}&idclient=${encodeURIComponent(v.idclient)}`,
          headers: v.ip ? { 'x-forwarded-for': v.ip } : {},
        },
      );
      if (res.status !== 204) throw new Error(`collector answered ${res.status}: ${await res.text()}`);
    };
    const first = Date.now();
    for (const v of plan(site)) {
      for (const [i, page] of v.pages.entries()) await post(v, page, 'page.display', i === 0 ? v.referrer : '');
      if (v.click) await post(v, 'home', 'click.action');
    }
    for (const [fixture, times] of [
      ['optout', 7],
      ['no-consent', 2],
    ] as const) {
      const req = sdkRequest(fixture);
      for (let i = 0; i < times; i++) {
        const res = await replay(base, req, {
          query: req.rawQueryString.replace('s=123456', `s=${site}`),
          headers: { 'x-forwarded-for': '81.2.69.142' },
        });
        if (res.status !== 204) throw new Error(`collector answered ${res.status} to an opt-out`);
      }
    }
    const last = Date.now();
    // the collector's side of issue 19 lands from another branch: its counters, written as it will
    await t.redis.hincrby(setApartCounterKey(site, last), 'robot', EXPECTED.setApart.robot);
    await t.redis.hincrby(setApartCounterKey(site, last), 'spam', EXPECTED.setApart.spam);

    if (t.config.redis.kind !== 'single') throw new Error('a single Redis is expected');
    const cfg = loadAggregateConfig({
      REDIS_URL: t.config.redis.url,
      STREAM_KEY: t.config.streamKey,
      STREAM_SHARDS: '2',
      ERASURE_STREAM: `${t.config.streamKey}:erasures`,
      AGG_PREFIX: `${t.config.streamKey}:agg`,
      AGG_CONSUMER: 'report-test',
      AGG_BLOCK_MS: '20',
    });
    const agg = new Aggregator(t.redis, cfg, pino({ level: 'silent' }));
    await agg.ensureGroups();
    for (let i = 0; i < 100 && (await agg.step(false)) > 0; i++);
    if (agg.stats.applied !== EXPECTED.events)
      throw new Error(`the aggregator counted ${agg.stats.applied} records, not ${EXPECTED.events}`);

    const report = await buildReport(t.redis, {
      prefix: cfg.prefix,
      site,
      from: utcDay(first),
      to: utcDay(last),
      minCount: MIN_COUNT,
    });
    const pseudonyms = [...new Set((await t.records()).map((r) => r.visitor as string).filter(Boolean))];
    return {
      site,
      report,
      query: { from: utcDay(first), to: utcDay(last) },
      app: t,
      pseudonyms,
      async close() {
        const keys = [
          ...(await t.redis.keys(`${cfg.prefix}:*`)),
          ...(await t.redis.keys(`optout:{${site}}:*`)),
          ...(await t.redis.keys(`setapart:{${site}}:*`)),
          cfg.erasureStream,
        ];
        if (keys.length) await t.redis.del(...keys);
        await t.close();
      },
    };
  } catch (err) {
    await t.close();
    throw err;
  }
}

/** Referrers of the long period's visits: search engines, social networks, websites, direct, internal. */
const LONG_REFERRERS: readonly Record<string, string>[] = [
  { previous_url: 'https://www.google.com/' },
  {},
  { previous_url: 'https://www.google.fr/' },
  { previous_url: 'https://duckduckgo.com/' },
  { previous_url: 'https://www.linkedin.com/feed/' },
  {},
  { previous_url: 'https://news.ycombinator.com/item' },
  { previous_url: 'https://www.example.org/news' },
  { previous_url: 'https://blog.partner.example/links' },
  { previous_url: 'https://www.qwant.com/' },
  { previous_url: 'https://mastodon.social/@someone' },
];

/**
 * A longer period for the look of the page: `days` days of aggregates ending today,
 * counted by the real store (AggregateStore.applyRecord) from records like the
 * collector's, and opt-out counters as the collector writes them. A weekly rhythm, one
 * visitor in four back for a second visit in the evening, a few dozen pages, opt-outs
 * over several hours; a quiet day every 17 (below the minimum).
 */
export async function longPeriod(
  redis: TestApp['redis'],
  prefix: string,
  site: string,
  days: number,
): Promise<{ from: string; to: string }> {
  const store = new AggregateStore(redis, prefix, 800 * DAY_MS, 3_600_000);
  const today = Date.parse(`${utcDay(Date.now())}T00:00:00Z`);
  const hour = 3_600_000;
  let n = 0;
  for (let d = 0; d < days; d++) {
    const start = today - (days - 1 - d) * DAY_MS;
    const weekday = new Date(start).getUTCDay();
    const quiet = d % 17 === 5;
    const visitors = quiet ? 2 : Math.round((weekday === 0 || weekday === 6 ? 14 : 26) + 8 * Math.sin(d / 9) + (d % 5));
    const pending: Promise<unknown>[] = [];
    for (let v = 0; v < visitors; v++) {
      const place = PLACES[v % 7 === 6 ? 3 : v % 3]!;
      const [country, region, city] = place.cell.split(' / ').map((p) => (p === '?' ? undefined : p));
      const visits = v % 4 === 0 ? 2 : 1;
      for (let visit = 0; visit < visits; visit++) {
        const views = 1 + ((v + visit) % 3);
        for (let p = 0; p < views; p++) {
          const page = p === 0 ? 'home' : `news/2026/story-${(v * 7 + p * 3 + d) % 40}`;
          pending.push(
            store.applyRecord(
              record(n++, {
                site,
                ts: start + (8 + visit * 10) * hour + v * 60_000 + p * 1000,
                visitor: `k1.${String(v).padStart(4, '0')}${'A'.repeat(18)}`,
                geo: { ...(country ? { country } : {}), ...(region ? { region } : {}), ...(city ? { city } : {}) },
                props: {
                  page,
                  device_screen_width: v % 2 ? 1280 : 390,
                  page_url: `https://www.example.org/${page}`,
                  ...LONG_REFERRERS[(v + d) % LONG_REFERRERS.length]!,
                },
              }),
            ),
          );
        }
      }
    }
    // opt-outs: about one visitor in six, over three hours of the day
    const optedOut = quiet ? 1 : Math.round(visitors / 6 + (d % 3));
    for (let i = 0; i < optedOut; i++) {
      pending.push(redis.hincrby(optoutCounterKey(site, start + (9 + (i % 3) * 5) * hour), 'page.display', 1));
    }
    // set apart by the collector: crawlers every night, a spam wave now and then
    pending.push(redis.hincrby(setApartCounterKey(site, start + 3 * hour), 'robot', 20 + ((d * 7) % 30)));
    if (d % 6 < 2) pending.push(redis.hincrby(setApartCounterKey(site, start + 14 * hour), 'spam', 3 + (d % 9)));
    await Promise.all(pending);
  }
  return { from: utcDay(today - (days - 1) * DAY_MS), to: utcDay(today) };
}
