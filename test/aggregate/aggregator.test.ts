// The reference aggregator against a real Redis, as real processes where it matters:
// two consumers share a group, one is SIGKILLed between counting and XACK, and after
// recovery every record is counted exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Aggregator } from '../../src/aggregate/consumer.js';
import { buildReport, formatReport, suppress } from '../../src/aggregate/report.js';
import { DAY_MS, deviceClass, utcDay } from '../../src/aggregate/store.js';
import { loadAggregateConfig } from '../../src/config.js';
import type { HitRecord } from '../../src/pipeline/record.js';
import { shardKey, streamKeys } from '../../src/sink/shards.js';
import { uniquePrefix } from '../helpers/app.js';

const root = path.resolve(import.meta.dirname, '../..');
const todayStart = Date.parse(`${utcDay(Date.now())}T00:00:00Z`);

function record(i: number, over: Partial<HitRecord> = {}): HitRecord {
  return {
    id: `rec${i}.0`,
    site: 'sA',
    event: 'page.display',
    mode: 'exempt',
    ts: todayStart + 3_600_000 + i,
    visitor: `k1.visitor${i % 40}`,
    geo: { country: 'FR', region: 'Île-de-France', city: 'Paris' },
    props: { page: `p${i % 10}`, device_screen_width: 1280 },
    ...over,
  };
}

interface Proc {
  child: ChildProcess;
  lines: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startAggregator(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/aggregate/main.ts'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += String(d);
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (d) => lines.push(`stderr: ${String(d)}`));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, lines, exit };
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const redis = new Redis(inject('redisUrl'));
const cleanup: string[] = [];
const procs: Proc[] = [];
afterAll(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
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
    const a = startAggregator({ ...env, AGG_CONSUMER: 'A', AGG_TEST_CRASH_AFTER: '150' });
    const b = startAggregator({ ...env, AGG_CONSUMER: 'B' });
    procs.push(a, b);
    await until('both aggregators to start', () => [a, b].every((p) => p.lines.some((l) => l.includes('aggregator started'))));

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
      for (const r of written.slice(off, off + 100)) pipe.xadd(shardKey(keys, r.visitor, r.id), '*', 'v', '1', 'hit', JSON.stringify(r));
      await pipe.exec();
    }

    expect(await a.exit).toEqual({ code: null, signal: 'SIGKILL' });
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
    await until('the survivor to count everything', async () => (await counted()) >= 1200 && (await pending()) === 0);
    // give a wrongly double-counting consumer a chance to show it
    await new Promise((r) => setTimeout(r, 700));
    b.child.kill('SIGTERM');
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
    const died = a.lines.find((l) => l.includes('dying before XACK'));
    expect(died).toBeDefined();
    expect(JSON.parse(died!).applied).toBeGreaterThanOrEqual(150);
    const stopped = JSON.parse(b.lines.find((l) => l.includes('aggregator stopped'))!);
    expect(stopped.claimed).toBeGreaterThan(0);
    expect(stopped.applied).toBeGreaterThan(0);
    expect(stopped.applied).toBeLessThan(1200);
    expect(stopped.duplicates).toBeGreaterThanOrEqual(60);
  });
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
      await add(record(n++, { site: 'sB', visitor: `k1.v${v}`, ts: at(1) + v, props: { page: 'home', ch_ua_mobile: v < 5 } }));
      if (v > 0) await add(record(n++, { site: 'sB', visitor: `k1.v${v}`, ts: at(1) + 100 + v, props: { page: 'news' } }));
    }
    await add(record(n++, { site: 'sB', visitor: 'k1.v0', ts: at(1) + 200, props: { page: 'contact' } }));
    await drain();
    expect(await redis.hlen(visitorsKey)).toBe(7);

    // the same record again: counted once
    await add(record(0, { site: 'sB', visitor: 'k1.v0', ts: at(1), props: { page: 'home', ch_ua_mobile: true } }));
    await drain();
    expect(agg.stats.duplicates).toBe(1);
    expect(await redis.hget(`${base}:agg:{sB}:pv:${day}`, 'home')).toBe('7');

    // erasure of v0 (under two keys, as the collector publishes it)
    for (const visitor of ['k1.v0', 'k0.v0']) {
      await redis.xadd(`${base}:erasures`, '*', 'v', '1', 'tombstone', JSON.stringify({ site: 'sB', visitor, ts: at(2) }));
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
    // home 8, news 6, contact 1: contact is hidden, and since "(other)" alone would be 1, news is folded in too
    expect(report.pages.rows).toEqual([{ label: 'home', count: 8 }]);
    expect(report.pages).toMatchObject({ other: 7, suppressed: 2 });
    expect(report.totals.pageviews).toBe(15);
    expect(report.days).toEqual([{ day, pageviews: 15, visits: 8, visitors: 7 }]);
    // devices: 5 mobile visits (ch_ua_mobile), 3 unknown (no hint, no width): the 3 cannot be
    // shown, nor can mobile (8 − 5 would give the 3 away), so only "(other)" 8 is
    expect(report.devices).toEqual({ rows: [], other: 8, suppressed: 2 });
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

  it('npm run report prints it as JSON or a table', async () => {
    const run = (format: string) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/aggregate/report-cli.ts', '--site', 'sB', '--from', day, '--to', day, '--format', format], {
          cwd: root,
          env: { ...process.env, REDIS_URL: inject('redisUrl'), AGG_PREFIX: `${base}:agg` },
        });
        let out = '';
        child.stdout.on('data', (d) => (out += String(d)));
        child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
      });
    const json = JSON.parse(await run('json'));
    expect(json.pages.rows).toEqual([{ label: 'home', count: 8 }]);
    expect(json.minCount).toBe(5);
    const text = await run('table');
    expect(text).toContain('Page views by page');
    expect(text).toMatch(/home\s+8/);
    expect(text).toContain('(other): 2 cell(s) suppressed');
  });
});

describe('suppress', () => {
  it('folds small cells, and enough others that none can be recovered from the total', () => {
    expect(suppress({ a: 10, b: 6, c: 2, d: 1 }, 5)).toEqual({ rows: [{ label: 'a', count: 10 }], other: 9, suppressed: 3 });
    expect(suppress({ a: 10, b: 6, c: 3, d: 2 }, 5)).toEqual({ rows: [{ label: 'a', count: 10 }, { label: 'b', count: 6 }], other: 5, suppressed: 2 });
    expect(suppress({ a: 3 }, 5)).toEqual({ rows: [], other: null, suppressed: 1 });
    expect(suppress({ a: 5, z: 0 }, 5)).toEqual({ rows: [{ label: 'a', count: 5 }], other: 0, suppressed: 0 });
  });
  it('classes devices from allowlisted properties', () => {
    expect(deviceClass({ ch_ua_mobile: true, device_screen_width: 1920 })).toBe('mobile');
    expect(deviceClass({ device_screen_width: 390 })).toBe('mobile');
    expect(deviceClass({ device_screen_width: 800 })).toBe('tablet');
    expect(deviceClass({ ch_ua_mobile: false, device_screen_width: 1280 })).toBe('desktop');
    expect(deviceClass({})).toBe('unknown');
  });
});
