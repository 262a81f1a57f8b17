// The reference aggregator as real processes (serial, in the faults group: they spawn
// node processes): two consumers share a group, one is SIGKILLed between counting and
// XACK, and after recovery every record is counted exactly once; and the report CLI.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Aggregator } from '../../src/aggregate/consumer.js';
import { DAY_MS, utcDay } from '../../src/aggregate/store.js';
import { loadAggregateConfig } from '../../src/config/index.js';
import type { HitRecord } from '../../src/contract/record.js';
import { shardKey, streamKeys } from '../../src/contract/keys.js';
import { uniquePrefix } from '../helpers/app.js';
import { record, todayStart } from '../helpers/aggregate.js';

const root = path.resolve(import.meta.dirname, '../..');
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

describe('npm run report', () => {
  const base = uniquePrefix('aggcli');
  cleanup.push(base);
  const day = utcDay(todayStart);

  it('counts a few records in-process first', async () => {
    const cfg = loadAggregateConfig({ REDIS_URL: inject('redisUrl'), STREAM_KEY: base, ERASURE_STREAM: `${base}:erasures`, AGG_PREFIX: `${base}:agg`, AGG_CONSUMER: 'solo' });
    const agg = new Aggregator(redis, cfg, pino({ level: 'silent' }));
    await agg.ensureGroups();
    // home 8, news 6, contact 1 (visitors v0..v7)
    let n = 0;
    for (let v = 0; v < 8; v++) {
      await redis.xadd(base, '*', 'v', '1', 'hit', JSON.stringify(record(n++, { site: 'sB', visitor: `k1.v${v}`, props: { page: 'home' } })));
      if (v < 6) await redis.xadd(base, '*', 'v', '1', 'hit', JSON.stringify(record(n++, { site: 'sB', visitor: `k1.v${v}`, props: { page: 'news' } })));
    }
    await redis.xadd(base, '*', 'v', '1', 'hit', JSON.stringify(record(n++, { site: 'sB', visitor: 'k1.v0', props: { page: 'contact' } })));
    while ((await agg.step(false)) > 0);
    expect(agg.stats.applied).toBe(15);
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
