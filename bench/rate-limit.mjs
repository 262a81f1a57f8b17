#!/usr/bin/env node
// The per-site rate limiter's cost: (1) what one bucket operation costs, in a tight
// loop; (2) what a refused hit costs the collector and its client: the collector (the
// production build) with SITE_RATE_LIMIT=1 under wrk at 100 connections, so nearly
// every hit is over the limit, and the same with no limit, side by side. Prints
// figures, asserts nothing.
//
//   npm run build && node bench/rate-limit.mjs [seconds per run, default 8]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const root = path.resolve(import.meta.dirname, '..');
const SECONDS = Number(process.argv[2] ?? 8);
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const { SiteRateLimiter } = await import(path.join(root, 'dist/plugins/rate-limit.js'));

// (1) the bucket alone
for (const [label, rate] of [
  ['take, under the limit', 1e9],
  ['take, over the limit', 1],
]) {
  const limiter = new SiteRateLimiter(() => rate);
  const sites = Array.from({ length: 100 }, (_, i) => `site-${i}`);
  const n = 2_000_000;
  for (let i = 0; i < 100_000; i++) limiter.take(sites[i % 100], 1);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) limiter.take(sites[i % 100], 1);
  console.log(`${label.padEnd(24)} ${(((performance.now() - t0) * 1e6) / n).toFixed(0)} ns per call`);
}

// (2) through HTTP
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const cpu = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(x[11]) + Number(x[12])) / CLK_TCK;
};
const body = JSON.stringify({
  events: [
    { name: 'page.display', data: { page: 'home', visitor_privacy_mode: 'exempt', visitor_privacy_consent: false } },
  ],
});
const reqFile = path.join(root, '.tmp/bench/rate-limit.req');
execFileSync('mkdir', ['-p', path.dirname(reqFile)]);
const now = Date.now().toString(36);
const lines = Array.from(
  { length: 512 },
  (_, i) => `/event?s=123456&idclient=${now}${String(i).padStart(8, 'x')}\t81.2.69.${i % 250}\t${body}`,
);
(await import('node:fs')).writeFileSync(reqFile, `${lines.join('\n')}\n`);

const redisPort = await freePort();
const redis = spawn(
  'redis-server',
  ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  { stdio: 'ignore' },
);
await sleep(500);
try {
  for (const [label, limit] of [
    ['no limit (SITE_RATE_LIMIT=0)', '0'],
    ['over the limit (SITE_RATE_LIMIT=1)', '1'],
  ]) {
    const port = await freePort();
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      ADMIN_PORT: 'off',
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      PSEUDONYM_KEYS: 'b:0123456789abcdef0123456789abcdef0123',
      TRUST_PROXY: '127.0.0.1',
      SITE_RATE_LIMIT: limit,
      LOG_LEVEL: 'warn',
    };
    const server = spawn(process.execPath, ['dist/server.js'], { cwd: root, env, stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      if (
        await fetch(`http://127.0.0.1:${port}/readyz`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await sleep(100);
    }
    const wrk = (secs) =>
      JSON.parse(
        execFileSync('wrk', [
          '-t1',
          '-c100',
          `-d${secs}s`,
          '--timeout',
          '5s',
          '-s',
          path.join(root, 'bench/wrk.lua'),
          `http://127.0.0.1:${port}`,
          '--',
          reqFile,
        ])
          .toString()
          .split('\n')
          .find((l) => l.startsWith('{"requests"')),
      );
    wrk(2); // warm-up
    const c0 = cpu(server.pid);
    const w = wrk(SECONDS);
    const c = cpu(server.pid) - c0;
    console.log(
      `${label.padEnd(36)} ${Math.round(w.requests / (w.duration_us / 1e6))} req/s, ${((100 * w.non2xx) / w.requests).toFixed(1)} % answered 429, p50 ${(w.p50_us / 1000).toFixed(2)} ms, p99 ${(w.p99_us / 1000).toFixed(2)} ms, server CPU ${((c * 1e6) / w.requests).toFixed(1)} µs per request`,
    );
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
} finally {
  redis.kill('SIGKILL');
}
