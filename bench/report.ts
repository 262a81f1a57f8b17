// Times the report on aggregates of 1,000,000 records:
//   npx tsx bench/report.ts [records=1000000] [days=30] [runs=7]
// Starts its own redis-server on a free loopback port and writes the aggregate hashes
// DIRECTLY (HSET of the final counts, not through AggregateStore.applyRecord, which
// would take ~40 s at the aggregator's ~25k records/s and give the same hashes): the
// records are drawn with a seeded generator over `days` UTC days ending today, ~5,000
// pages and ~300 geo cells (both Zipf-like), four device classes, a visit every ~2.5
// page views, ~10% click events, and opt-out counters for every hour (~4% of events).
// Then times buildReport (the JSON report) and renderReportHtml, median of `runs`.
// Bounded; stops its redis-server by itself.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { buildReport } from '../src/aggregate/report.js';
import { renderReportHtml } from '../src/aggregate/report-html.js';
import { AggregateKeys, DAY_MS, utcDay } from '../src/aggregate/store.js';
import { optoutCounterKey } from '../src/contract/keys.js';

const N = Math.min(Math.max(Number(process.argv[2] ?? 1_000_000), 1), 20_000_000);
const DAYS = Math.min(Math.max(Number(process.argv[3] ?? 30), 1), 800);
const RUNS = Math.min(Math.max(Number(process.argv[4] ?? 7), 1), 50);
const SITE = '123456';
const PREFIX = 'agg';
const PAGES = 5000;
const GEO_CELLS = 300;

/** mulberry32: a small seeded generator, so every run writes the same aggregates. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(42);

/** Index drawn with weight 1/(i+1)^s (a Zipf-like long tail). */
function zipf(n: number, s: number): () => number {
  const cum: number[] = [];
  let sum = 0;
  for (let i = 0; i < n; i++) cum.push((sum += 1 / (i + 1) ** s));
  return () => {
    const x = rand() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

const pageNames = Array.from({ length: PAGES }, (_, i) =>
  i === 0
    ? 'home'
    : `${['news', 'sport', 'culture', 'economy', 'travel'][i % 5]}/2026/article-${String(i).padStart(4, '0')}-${'lorem-ipsum-dolor'.slice(0, 5 + (i % 13))}`,
);
const countries = ['FR', 'BE', 'CH', 'CA', 'GB', 'DE', 'US', 'ES', 'IT', 'MA', 'SN', 'CI', 'LU', 'NL', 'TN'];
const geoNames = Array.from(
  { length: GEO_CELLS },
  (_, i) => `${countries[i % countries.length]}|Region ${i % 40}|City ${i}`,
);
const devices = ['mobile', 'desktop', 'tablet', 'unknown'];
const deviceWeights = [0.55, 0.35, 0.08, 0.02];

async function startRedis(): Promise<{ redis: Redis; stop: () => void }> {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const redis = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true });
  redis.on('error', () => undefined); // refused while redis-server starts: retried below
  for (let i = 0; i < 100; i++) {
    try {
      await redis.connect();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { redis, stop: () => server.kill('SIGTERM') };
}

async function fill(redis: Redis): Promise<{ to: string; from: string; keys: number; fields: number }> {
  const keys = new AggregateKeys(PREFIX);
  const today = Date.parse(`${utcDay(Date.now())}T00:00:00Z`);
  const dayStarts = Array.from({ length: DAYS }, (_, i) => today - (DAYS - 1 - i) * DAY_MS);
  // weekly pattern: weekends at 60%
  const dayWeight = dayStarts.map((t) => ([0, 6].includes(new Date(t).getUTCDay()) ? 0.6 : 1));
  const dayCum: number[] = [];
  dayWeight.reduce((s, w) => (dayCum.push(s + w), s + w), 0);
  const pickPage = zipf(PAGES, 1.2);
  const pickGeo = zipf(GEO_CELLS, 1.5);
  type Day = {
    totals: { pageviews: number; visits: number; events: number };
    pv: Map<string, number>;
    geo: Map<string, number>;
    device: Map<string, number>;
    hours: number[];
  };
  const perDay: Day[] = dayStarts.map(() => ({
    totals: { pageviews: 0, visits: 0, events: 0 },
    pv: new Map(),
    geo: new Map(),
    device: new Map(),
    hours: Array(24).fill(0),
  }));
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (let i = 0; i < N; i++) {
    const x = rand() * dayCum[dayCum.length - 1]!;
    let d = 0;
    while (dayCum[d]! < x) d++;
    const day = perDay[d]!;
    day.totals.events++;
    day.hours[Math.min(23, Math.floor(rand() * rand() * 24 + rand() * 12))]!++;
    if (rand() < 0.1) continue; // a click: an event, not a page view
    day.totals.pageviews++;
    inc(day.pv, pageNames[pickPage()]!);
    if (rand() < 0.4) {
      day.totals.visits++;
      inc(day.geo, geoNames[pickGeo()]!);
      let u = rand();
      let dev = 0;
      while (dev < devices.length - 1 && u >= deviceWeights[dev]!) u -= deviceWeights[dev++]!;
      inc(day.device, devices[dev]!);
    }
  }
  let nKeys = 0;
  let nFields = 0;
  for (let d = 0; d < DAYS; d++) {
    const day = perDay[d]!;
    const name = utcDay(dayStarts[d]!);
    const pipe = redis.pipeline();
    const hset = (key: string, m: Map<string, number> | Record<string, number>) => {
      const obj = m instanceof Map ? Object.fromEntries(m) : m;
      if (Object.keys(obj).length === 0) return;
      pipe.hset(key, obj);
      nKeys++;
      nFields += Object.keys(obj).length;
    };
    hset(keys.day(SITE, 'totals', name), day.totals);
    hset(keys.day(SITE, 'pv', name), day.pv);
    hset(keys.day(SITE, 'geo', name), day.geo);
    hset(keys.day(SITE, 'device', name), day.device);
    // distinct visitors: a pseudonym-shaped field per visitor (the report only reads HLEN)
    const visitors: Record<string, number> = {};
    for (let v = 0; v < Math.round(day.totals.visits * 0.8); v++)
      visitors[`k1.${String(v).padStart(22, 'A')}`] = dayStarts[d]!;
    hset(keys.day(SITE, 'visitors', name), visitors);
    for (let h = 0; h < 24; h++) {
      const optedOut = Math.round(day.hours[h]! * 0.04);
      if (optedOut > 0)
        hset(optoutCounterKey(SITE, dayStarts[d]! + h * 3_600_000), {
          'page.display': Math.ceil(optedOut * 0.9),
          other: Math.floor(optedOut * 0.1),
        });
    }
    await pipe.exec();
  }
  return { from: utcDay(dayStarts[0]!), to: utcDay(dayStarts[DAYS - 1]!), keys: nKeys, fields: nFields };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;

const { redis, stop } = await startRedis();
try {
  let t = performance.now();
  const f = await fill(redis);
  const mem = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  console.log(
    `aggregates of ${N} records over ${DAYS} days (${f.from} to ${f.to}), hashes written directly: ${f.keys} hashes, ${f.fields} fields, in ${((performance.now() - t) / 1000).toFixed(1)} s, redis used_memory ${(mem / 2 ** 20).toFixed(0)} MiB`,
  );
  const opts = { prefix: PREFIX, site: SITE, from: f.from, to: f.to, minCount: 5 };
  const build: number[] = [];
  const render: number[] = [];
  let json = '';
  let html = '';
  for (let i = 0; i < RUNS; i++) {
    t = performance.now();
    const report = await buildReport(redis, opts);
    json = JSON.stringify(report);
    build.push(performance.now() - t);
    t = performance.now();
    html = renderReportHtml(report, { generatedAt: new Date() });
    render.push(performance.now() - t);
  }
  const report = JSON.parse(json) as Awaited<ReturnType<typeof buildReport>>;
  console.log(
    `report: ${report.pages.rows.length} pages shown (${report.pages.suppressed} folded), ${report.geo.rows.length} places shown (${report.geo.suppressed} folded); JSON ${(json.length / 1024).toFixed(0)} KiB, HTML ${(Buffer.byteLength(html) / 1024).toFixed(0)} KiB`,
  );
  console.log(
    `buildReport + JSON.stringify: median ${ms(median(build))} (min ${ms(Math.min(...build))}, max ${ms(Math.max(...build))}, ${RUNS} runs)`,
  );
  console.log(
    `renderReportHtml:             median ${ms(median(render))} (min ${ms(Math.min(...render))}, max ${ms(Math.max(...render))}, ${RUNS} runs)`,
  );
} finally {
  await redis.quit().catch(() => redis.disconnect());
  stop();
}
