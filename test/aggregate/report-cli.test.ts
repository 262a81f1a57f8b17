// `npm run report` (src/aggregate/report-cli.ts) as a real process: a table or JSON,
// `--format html [--out FILE]`, and its refusals of a bad request.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Aggregator } from '../../src/aggregate/consumer.js';
import { AggregateStore, DAY_MS, utcDay } from '../../src/aggregate/store.js';
import { loadAggregateConfig } from '../../src/config/index.js';
import { optoutCounterKey } from '../../src/contract/keys.js';
import { uniquePrefix } from '../helpers/app.js';
import { record, todayStart } from '../helpers/aggregate.js';
import { root, runScript } from '../helpers/processes.js';

const redis = new Redis(inject('redisUrl'));
const prefix = uniquePrefix('repcli');
const site = prefix.replace(/[^A-Za-z0-9]/g, '').slice(-20);
const tablePrefix = uniquePrefix('aggcli');
const dir = mkdtempSync(path.join(tmpdir(), 'report-cli-'));
afterAll(async () => {
  for (const pattern of [`${prefix}*`, `optout:{${site}}:*`, `${tablePrefix}*`]) {
    const keys = await redis.keys(pattern);
    if (keys.length) await redis.del(...keys);
  }
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

const report = (args: string[], aggPrefix = prefix) =>
  runScript('src/aggregate/report-cli.ts', args, { REDIS_URL: inject('redisUrl'), AGG_PREFIX: aggPrefix });

describe('npm run report -- --format html', () => {
  const day = utcDay(todayStart);
  const yesterday = utcDay(todayStart - DAY_MS);

  it('writes the page to stdout, or whole to --out', async () => {
    const store = new AggregateStore(redis, prefix, 30 * DAY_MS, 3_600_000);
    for (let i = 0; i < 12; i++)
      await store.applyRecord(record(i, { site, visitor: `k1.v${i}`, props: { page: i < 7 ? 'home' : 'news' } }));
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

describe('npm run report', () => {
  const base = tablePrefix;
  const day = utcDay(todayStart);

  it('counts a few records in-process first', async () => {
    const cfg = loadAggregateConfig({
      REDIS_URL: inject('redisUrl'),
      STREAM_KEY: base,
      ERASURE_STREAM: `${base}:erasures`,
      AGG_PREFIX: `${base}:agg`,
      AGG_CONSUMER: 'solo',
    });
    const agg = new Aggregator(redis, cfg, pino({ level: 'silent' }));
    await agg.ensureGroups();
    // home 8, news 6, contact 1 (visitors v0..v7)
    let n = 0;
    for (let v = 0; v < 8; v++) {
      await redis.xadd(
        base,
        '*',
        'v',
        '1',
        'hit',
        JSON.stringify(record(n++, { site: 'sB', visitor: `k1.v${v}`, props: { page: 'home' } })),
      );
      if (v < 6)
        await redis.xadd(
          base,
          '*',
          'v',
          '1',
          'hit',
          JSON.stringify(record(n++, { site: 'sB', visitor: `k1.v${v}`, props: { page: 'news' } })),
        );
    }
    await redis.xadd(
      base,
      '*',
      'v',
      '1',
      'hit',
      JSON.stringify(record(n, { site: 'sB', visitor: 'k1.v0', props: { page: 'contact' } })),
    );
    while ((await agg.step(false)) > 0);
    expect(agg.stats.applied).toBe(15);
  });

  it('npm run report prints it as JSON or a table', async () => {
    const run = async (format: string) => {
      const r = await report(['--site', 'sB', '--from', day, '--to', day, '--format', format], `${base}:agg`);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    const json = JSON.parse(await run('json'));
    // news (6) is at or above the minimum: shown, though contact (1) alone is then withheld
    expect(json.pages.rows).toEqual([
      { label: 'home', count: 8 },
      { label: 'news', count: 6 },
    ]);
    expect(json.pages).toMatchObject({ other: null, suppressed: 1 });
    expect(json.minCount).toBe(5);
    const text = await run('table');
    expect(text).toContain('Page views by page');
    expect(text).toMatch(/home\s+8/);
    expect(text).toMatch(/news\s+6/);
    expect(text).toMatch(/\(other\): 1 cell\(s\) suppressed\s+<min/);
    expect(text).not.toContain('contact');
  });

  // What a site owner types: npm itself, the build it runs first (prereport), then the
  // report, piped into a JSON parser. Any line of build chatter on stdout breaks it.
  it('npm run -s report -- --format json | node -e JSON.parse(…): stdout is the report alone', async () => {
    const parse = `const t=require('fs').readFileSync(0,'utf8');process.stdout.write(JSON.stringify(JSON.parse(t).pages.rows))`;
    const cmd = `npm run -s report -- --site sB --from ${day} --to ${day} --format json | node -e "${parse}"`;
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      REDIS_URL: inject('redisUrl'),
      AGG_PREFIX: `${base}:agg`,
    };
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      // bash -o pipefail: a failing report fails the pipeline, not only a failing parser
      execFile('bash', ['-o', 'pipefail', '-c', cmd], { cwd: root, env, timeout: 150_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0, stdout, stderr }),
      );
    });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual([
      { label: 'home', count: 8 },
      { label: 'news', count: 6 },
    ]);
    // the build's own report went to stderr
    expect(out.stderr).toContain('copy-assets:');
  }, 180_000);
});
