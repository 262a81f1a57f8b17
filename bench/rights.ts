// Prints what data-subject requests and the aggregator cost, on this machine:
//   node --import tsx bench/rights.ts [records=200000]
// Starts its own redis-server on a free loopback port, fills one stream with records
// of the documented size, then times an access scan (reads every entry), an erasure,
// and one aggregator process counting the whole stream. Bounded; stops by itself.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Aggregator } from '../src/aggregate/consumer.js';
import { loadAggregateConfig } from '../src/config/index.js';
import { scanVisitor } from '../src/sink/visitor-scan.js';

const N = Math.min(Number(process.argv[2] ?? 200_000), 2_000_000);

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
const url = `redis://127.0.0.1:${port}`;
const redis = new Redis(url, { lazyConnect: true });
redis.on('error', () => undefined); // refused while redis-server starts: retried below
for (let i = 0; i < 100; i++) {
  try {
    await redis.connect();
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 50));
  }
}

try {
  const props = {
    page: 'home',
    page_chapter1: 'news',
    page_chapter2: 'world',
    visitor_privacy_consent: false,
    visitor_privacy_mode: 'exempt',
    event_collection_platform: 'js',
    event_collection_version: '6.17.0',
    device_timestamp_utc: 1795923533.892,
    pageview_id: 'mx1ai3fs5saqoq44',
    device_screen_width: 1280,
    device_screen_height: 720,
    previous_url: '',
    page_title_html: 'Fixture Page Title',
    event_url_full: 'http://example.test/site/article.html',
    ch_ua_mobile: false,
    ch_ua_platform: 'Linux',
  };
  const now = Date.now();
  let t = performance.now();
  for (let off = 0; off < N; off += 1000) {
    const pipe = redis.pipeline();
    for (let i = off; i < Math.min(N, off + 1000); i++) {
      const rec = {
        id: `bench${i}.0`,
        site: '123456',
        event: 'page.display',
        mode: 'exempt',
        ts: now - (N - i),
        visitor: `k1.visitor${String(i % 50_000).padStart(16, '0')}`,
        geo: { country: 'FR', region: 'Île-de-France', city: 'Paris' },
        props: { ...props, page: `p${i % 200}` },
      };
      pipe.xadd('hits', '*', 'v', '1', 'hit', JSON.stringify(rec));
    }
    await pipe.exec();
  }
  const fillMs = performance.now() - t;
  const mem = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const sample = (await redis.xrange('hits', '-', '+', 'COUNT', 1))[0]![1][3]!.length;
  console.log(
    `stream: ${N} records of ${sample} bytes, filled in ${(fillMs / 1000).toFixed(1)} s, redis used_memory ${(mem / 2 ** 20).toFixed(0)} MiB`,
  );

  const target = [`k1.visitor${'7'.padStart(16, '0')}`];
  t = performance.now();
  const access = await scanVisitor(redis, ['hits'], '123456', target, { maxEntries: 1e12, timeMs: 600_000 });
  const accessMs = performance.now() - t;
  console.log(
    `access scan: ${access.scanned} entries in ${accessMs.toFixed(0)} ms = ${Math.round(access.scanned / (accessMs / 1000))} entries/s, ${access.records.length} records found`,
  );

  t = performance.now();
  const erase = await scanVisitor(
    redis,
    ['hits'],
    '123456',
    target,
    { maxEntries: 1e12, timeMs: 600_000 },
    { erase: true },
  );
  const eraseMs = performance.now() - t;
  console.log(`erasure: ${erase.scanned} entries scanned, ${erase.deleted} deleted in ${eraseMs.toFixed(0)} ms`);

  const cfg = loadAggregateConfig({ REDIS_URL: url, AGG_CONSUMER: 'bench', AGG_BATCH: '500' });
  const agg = new Aggregator(redis, cfg, pino({ level: 'silent' }));
  await agg.ensureGroups();
  t = performance.now();
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline && (await agg.step(false)) > 0);
  const aggMs = performance.now() - t;
  console.log(
    `aggregator (one process, batch 500): ${agg.stats.applied} records in ${(aggMs / 1000).toFixed(1)} s = ${Math.round(agg.stats.applied / (aggMs / 1000))} records/s`,
  );
} finally {
  await redis.quit().catch(() => redis.disconnect());
  server.kill('SIGTERM');
}
