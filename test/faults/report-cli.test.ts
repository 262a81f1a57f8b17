// `npm run report -- --format html [--out FILE]` as a real process (in the faults group
// with the other process tests), and its refusals of a bad request.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { AggregateStore, DAY_MS, utcDay } from '../../src/aggregate/store.js';
import { optoutCounterKey } from '../../src/contract/keys.js';
import { uniquePrefix } from '../helpers/app.js';
import { record, todayStart } from '../helpers/aggregate.js';

const root = path.resolve(import.meta.dirname, '../..');
const redis = new Redis(inject('redisUrl'));
const prefix = uniquePrefix('repcli');
const site = prefix.replace(/[^A-Za-z0-9]/g, '').slice(-20);
const dir = mkdtempSync(path.join(tmpdir(), 'report-cli-'));
afterAll(async () => {
  for (const pattern of [`${prefix}*`, `optout:{${site}}:*`]) {
    const keys = await redis.keys(pattern);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

function report(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/aggregate/report-cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, REDIS_URL: inject('redisUrl'), AGG_PREFIX: prefix },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run report -- --format html', () => {
  const day = utcDay(todayStart);
  const yesterday = utcDay(todayStart - DAY_MS);

  it('writes the page to stdout, or whole to --out', async () => {
    const store = new AggregateStore(redis, prefix, 30 * DAY_MS, 3_600_000);
    for (let i = 0; i < 12; i++) await store.applyRecord(record(i, { site, visitor: `k1.v${i}`, props: { page: i < 7 ? 'home' : 'news' } }));
    await redis.hincrby(optoutCounterKey(site, todayStart + 5 * 3_600_000), 'page.display', 6);

    const out = await report(['--site', site, '--from', yesterday, '--to', day, '--format', 'html']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^<!doctype html>/);
    expect(out.stdout).toContain(`<h1>Audience of site ${site}</h1>`);
    expect(out.stdout).toContain(`data-day="${day}" data-pageviews="12" data-visits="12" data-visitors="12"`);
    expect(out.stdout).toContain(`data-day="${day}" data-optedout="6"`);
    expect(out.stdout).toMatch(/Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC\./);

    const file = path.join(dir, 'report.html');
    const written = await report(['--site', site, '--from', yesterday, '--to', day, '--format', 'html', '--out', file]);
    expect(written).toMatchObject({ code: 0, stdout: '' });
    const html = readFileSync(file, 'utf8');
    expect(html.replace(/Generated [^.]*\./, '')).toBe(out.stdout.replace(/Generated [^.]*\./, ''));
    expect(readdirSync(dir)).toEqual(['report.html']); // no partial file left

    // --out works for the other formats too
    const json = path.join(dir, 'report.json');
    expect((await report(['--site', site, '--from', day, '--format', 'json', '--out', json])).code).toBe(0);
    expect(JSON.parse(readFileSync(json, 'utf8')).optout.totals).toEqual({ measured: 12, optedOut: 6 });
  });

  it('refuses a bad request with a message and the usage (exit 64), writing nothing', async () => {
    const file = path.join(dir, 'never.html');
    const cases: [string[], string][] = [
      [['--from', day], '--site is missing'],
      [['--site', 'a b'], '--site must be 1-64 letters, digits, _ . -'],
      [['--site', site, '--from', '2026-02-30'], '--from is not a calendar day: 2026-02-30'],
      [['--site', site, '--from', day, '--to', yesterday], `--to (${yesterday}) is before from (${day})`],
      [['--site', site, '--format', 'pdf'], '--format must be table, json or html'],
    ];
    for (const [args, message] of cases) {
      const r = await report([...args, '--out', file]);
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain('usage: npm run report');
    }
    expect(existsSync(file)).toBe(false);
  });
});
