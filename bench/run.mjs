#!/usr/bin/env node
// Side-by-side benchmark: the collector (production build, real .mmdb, real keys)
// against a bare Fastify server that only parses the JSON body and answers 204.
//
//   npm run bench                 full run (~8 minutes)
//   npm run bench -- --quick      a smoke run (~1.5 minutes), figures too noisy to quote
//   npm run bench -- --out bench/last-run.md   also writes the report as Markdown
//   npm run bench -- --profile    runs the collector under node --cpu-prof for 20 s at
//                                 100 connections and prints where its CPU time goes
//
// Everything runs on 127.0.0.1 and stops by itself: a private redis-server on a free
// port, the two servers, and wrk (a C load generator that costs little CPU) driven by
// bench/wrk.lua. Runs alternate baseline/collector (A B A B ...) after a warm-up and
// every figure is the median over the pairs: single runs on a shared 2-core machine
// swing by ±30%. Ratios are computed per pair, then the median is taken.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const outIdx = args.indexOf('--out');
const OUT = outIdx !== -1 ? args[outIdx + 1] : undefined;
const sitesIdx = args.indexOf('--sites');
const PROFILE = args.includes('--profile');
// --only 1-event:100 runs one case and skips the memory and workers phases (for iterating)
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

const PLAN = QUICK
  ? { pairs: 2, seconds: 3, warmup: 2, soakSeconds: 15, workerPairs: 1, conns: [100, 500] }
  : { pairs: 5, seconds: 5, warmup: 3, soakSeconds: 60, workerPairs: 3, conns: [100, 500] };
const HARD_LIMIT_MS = 25 * 60_000; // the whole run stops by itself whatever happens
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// ---------------------------------------------------------------- processes
const children = new Set();
function start(cmd, argv, env = {}, name = cmd) {
  const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.name = name;
  child.output = '';
  const keep = (d) => {
    child.output = (child.output + d).slice(-8000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}
async function stop(child, signal = 'SIGTERM', ms = 15_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  if (await Promise.race([exited.then(() => true), sleep(ms).then(() => false)])) return;
  child.kill('SIGKILL');
  await exited;
}
function stopAllNow() {
  for (const c of children) c.kill('SIGKILL');
}
process.on('exit', stopAllNow);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(130));
const hardStop = setTimeout(() => {
  console.error(`benchmark exceeded ${HARD_LIMIT_MS / 60000} minutes: stopping`);
  process.exit(2);
}, HARD_LIMIT_MS);
hardStop.unref();

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
async function waitFor(check, what, ms = 20_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`${what} not ready within ${ms} ms`);
}
const httpOk = (url) => async () => (await fetch(url)).ok;

/** A process and all its descendants (cluster workers). */
function processTree(pid) {
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    try {
      for (const t of readdirSync(`/proc/${pids[i]}/task`)) {
        const kids = readFileSync(`/proc/${pids[i]}/task/${t}/children`, 'utf8').trim();
        if (kids) pids.push(...kids.split(/\s+/).map(Number));
      }
    } catch {
      /* gone */
    }
  }
  return pids;
}
/** User + system CPU seconds of a process tree (live processes only). */
function cpuSeconds(pid) {
  let ticks = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
    } catch {
      /* gone */
    }
  }
  return ticks / CLK_TCK;
}
/** Resident memory of a process tree, in MB. */
function rssMb(pid) {
  let kb = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

// ---------------------------------------------------------------- requests
// The captures date from 2026-11-29: their ids and cookie dates are moved to now, as a
// browser's would be (the 13-month rule would otherwise strip their visitors).
const NOW = Date.now();
const freshen = (text) =>
  text
    .replace(/\bmx1a[0-9a-z]{12}\b/g, (id) => NOW.toString(36) + id.slice(8))
    .replace(/"cookie_creation_date":"[^"]+"/g, `"cookie_creation_date":"${new Date(NOW).toISOString()}"`);
function fixture(name) {
  return JSON.parse(freshen(readFileSync(path.join(root, 'test/fixtures/sdk', name), 'utf8')));
}
const optin = fixture('optin.json');
const sendEvents = fixture('send-events.json');
const ONE_EVENT = optin.requests[0].body; // a real page.display, byte for byte
const eventsOf = (body) => JSON.parse(body).events;
const FIVE_EVENTS = JSON.stringify({
  events: [
    ...eventsOf(optin.requests[0].body),
    ...eventsOf(sendEvents.requests[0].body),
    ...eventsOf(optin.requests[1].body),
  ],
});
if (eventsOf(FIVE_EVENTS).length !== 5) throw new Error('the 5-event body does not hold 5 events');
const SITE = optin.requests[0].query.s;
// exempt mode: the SDK's own exempt page.display (1 KB, 26 properties), and a small one
const EXEMPT_EVENT = fixture('exempt.json').requests[0].body;
const SMALL_EXEMPT = JSON.stringify({
  events: [
    {
      name: 'page.display',
      data: {
        page: 'home',
        page_chapter1: 'news',
        visitor_privacy_mode: 'exempt',
        visitor_privacy_consent: false,
        device_timestamp_utc: 1795923533.892,
      },
    },
  ],
});

const B36 = '0123456789abcdefghijklmnopqrstuvwxyz';
// as the SDK makes them: creation time in base 36, then random characters
const visitorId = () => NOW.toString(36) + Array.from(randomBytes(8), (b) => B36[b % 36]).join('');
/**
 * 4096 requests: a new visitor id on each, client addresses from 1024 IPv4 /24
 * prefixes and 128 IPv6 /48 prefixes (about one in eight), sent through the trusted
 * proxy header, so the geolocation cache sees realistic prefix reuse.
 */
function requestFile(body, file) {
  const v4 = Array.from({ length: 1024 }, () => {
    const b = randomBytes(3);
    return `${1 + (b[0] % 222)}.${b[1]}.${b[2]}`; // 1-222: unicast, mostly allocated
  });
  const v6 = Array.from(
    { length: 128 },
    () => `2a0${randomBytes(1)[0] % 10}:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`,
  );
  const lines = [];
  for (let i = 0; i < 4096; i++) {
    const r = randomBytes(2);
    const client =
      i % 8 === 7 ? `${v6[r[0] % v6.length]}::${r[1].toString(16)}` : `${v4[((r[0] << 8) | r[1]) % 1024]}.${r[1]}`;
    lines.push(`/event?s=${SITE}&idclient=${visitorId()}\t${client}\t${body}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

// ---------------------------------------------------------------- load
async function wrk(port, conns, seconds, reqFile) {
  const child = start(
    'wrk',
    [
      '-t1',
      `-c${conns}`,
      `-d${seconds}s`,
      '--timeout',
      '5s',
      '-s',
      path.join(root, 'bench/wrk.lua'),
      `http://127.0.0.1:${port}`,
      '--',
      reqFile,
    ],
    {},
    'wrk',
  );
  const code = await new Promise((r) => child.once('exit', r));
  const line = child.output.split('\n').find((l) => l.startsWith('{"requests"'));
  if (code !== 0 || !line) throw new Error(`wrk failed (${code}): ${child.output.slice(-500)}`);
  return JSON.parse(line);
}

/** One measured run against a server: load, CPU, peak RSS. */
let redisPid = 0;
async function measure(server, conns, seconds, body) {
  const cpu0 = cpuSeconds(server.pid);
  const redisCpu0 = redisPid ? cpuSeconds(redisPid) : 0;
  let peak = rssMb(server.pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(server.pid))), 100);
  const w = await wrk(server.port, conns, seconds, body.file);
  clearInterval(sampler);
  peak = Math.max(peak, rssMb(server.pid));
  const cpu = cpuSeconds(server.pid) - cpu0;
  const redisCpu = redisPid ? cpuSeconds(redisPid) - redisCpu0 : 0;
  const ok = w.requests - w.non2xx;
  const secs = w.duration_us / 1e6;
  return {
    rps: ok / secs,
    eps: (ok * body.events) / secs,
    p50: w.p50_us / 1000,
    p99: w.p99_us / 1000,
    max: w.max_us / 1000,
    cpuPerEvent: ok > 0 ? (cpu * 1e6) / (ok * body.events) : NaN,
    redisCpuPerEvent: ok > 0 ? (redisCpu * 1e6) / (ok * body.events) : NaN,
    rss: peak,
    ok,
    non2xx: w.non2xx,
    errors: w.connect_err + w.read_err + w.write_err + w.timeouts,
  };
}

// ---------------------------------------------------------------- stream check
let redis;
async function streamLength() {
  return redis.xlen('hits');
}
async function settledLength() {
  // the collector answers only after the ack, but requests wrk abandoned at the end
  // may still be in flight: wait until the length stops moving
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const n = await streamLength();
    if (n === last) return n;
    last = n;
    await sleep(100);
  }
  return last;
}
const streamChecks = [];
async function checkedRun(collector, conns, seconds, body) {
  const before = await settledLength();
  const r = await measure(collector, conns, seconds, body);
  const grown = (await settledLength()) - before;
  const min = r.ok * body.records;
  const max = (r.ok + r.non2xx + conns) * body.records;
  const ok = grown >= min && grown <= max;
  streamChecks.push({ ok, grown, min, max, conns, body: body.label });
  await redis.del('hits'); // keeps Redis memory bounded across the run
  return r;
}

// ---------------------------------------------------------------- statistics
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const METRICS = ['rps', 'eps', 'p50', 'p99', 'max', 'cpuPerEvent', 'redisCpuPerEvent', 'rss'];
function summarise(runs) {
  return Object.fromEntries(METRICS.map((k) => [k, median(runs.map((r) => r[k]))]));
}
function pairRatios(as, bs) {
  return Object.fromEntries(METRICS.map((k) => [k, median(as.map((a, i) => bs[i][k] / a[k]))]));
}
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d).replace(/\B(?=(\d{3})+(?!\d))/g, ',') : 'n/a');

// ---------------------------------------------------------------- main
async function main() {
  const t0 = Date.now();
  if (!existsSync(path.join(root, 'dist/server.js'))) throw new Error('dist/server.js is missing: run npm run build');
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error('wrk is not installed: apt-get install -y wrk');
  }
  const tmp = path.join(root, '.tmp/bench');
  mkdirSync(tmp, { recursive: true });

  const redisPort = await freePort();
  const redisServer = start(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {},
    'redis',
  );
  redisServer.port = redisPort;
  redisPid = redisServer.pid;
  redis = new Redis({ port: redisPort, host: '127.0.0.1', lazyConnect: true });
  redis.on('error', () => undefined); // reconnect attempts at the very end are noise
  await waitFor(
    async () => (await redis.connect().catch(() => redis.status === 'ready'), (await redis.ping()) === 'PONG'),
    'redis',
  );

  let sitesFile;
  if (sitesIdx !== -1) sitesFile = path.resolve(args[sitesIdx + 1]);
  else if (existsSync(path.join(root, 'bench/sites.json'))) sitesFile = path.join(root, 'bench/sites.json');

  const collectorEnv = (workers) => ({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    REDIS_URL: `redis://127.0.0.1:${redisPort}`,
    PSEUDONYM_KEYS: `bench:${randomBytes(24).toString('base64url')}`,
    TRUST_PROXY: '127.0.0.1',
    LOG_LEVEL: 'info',
    WORKERS: String(workers),
    ADMIN_PORT: 'off',
    // the limiter runs on every hit (its cost is part of the figures) but never refuses
    SITE_RATE_LIMIT: process.env.BENCH_SITE_RATE_LIMIT ?? '10000000',
    ...(sitesFile ? { SITES_FILE: sitesFile } : {}),
  });
  async function startServer(kind, workers = 1, nodeArgs = []) {
    const port = await freePort();
    // BENCH_AB_DIST=<dir in the repository holding another build of dist/>: that build
    // takes the baseline's place, for an A/B of two versions of the collector
    const abDist = process.env.BENCH_AB_DIST;
    const child =
      kind === 'baseline' && abDist
        ? start(
            process.execPath,
            [...nodeArgs, path.join(abDist, 'server.js')],
            { ...collectorEnv(workers), PORT: String(port) },
            'collector A',
          )
        : kind === 'baseline'
          ? start(process.execPath, [...nodeArgs, 'bench/baseline.mjs'], { PORT: String(port) }, 'baseline')
          : start(
              process.execPath,
              [
                ...nodeArgs,
                ...(process.env.BENCH_COLLECTOR_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
                'dist/server.js',
              ],
              { ...collectorEnv(workers), PORT: String(port) },
              `collector x${workers}`,
            );
    child.port = port;
    await waitFor(httpOk(`http://127.0.0.1:${port}/healthz`), child.name).catch((err) => {
      throw new Error(`${err.message}\n${child.output}`);
    });
    if (kind === 'collector' || abDist)
      await waitFor(httpOk(`http://127.0.0.1:${port}/readyz`), `${child.name} readiness`);
    return child;
  }

  if (PROFILE) return profile(startServer);
  const baseline = await startServer('baseline');
  const collector = await startServer('collector', 1);

  // how many stream entries one request of each body makes (the privacy rules decide)
  const bodies = [];
  for (const [label, text, conns] of [
    ['1-event', ONE_EVENT, PLAN.conns],
    ['5-event', FIVE_EVENTS, PLAN.conns],
    ['exempt-1-event', EXEMPT_EVENT, [100]],
    ['small-exempt', SMALL_EXEMPT, [100]],
  ]) {
    const before = await streamLength();
    const res = await fetch(`http://127.0.0.1:${collector.port}/event?s=${SITE}&idclient=${visitorId()}`, {
      method: 'POST',
      // the User-Agent wrk.lua sends: a person's browser (a robot's hit would only move a counter)
      headers: {
        'content-type': 'text/plain;charset=UTF-8',
        origin: 'https://www.example.com',
        'x-forwarded-for': '81.2.69.160',
        'user-agent':
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
      },
      body: text,
    });
    if (res.status !== 204)
      throw new Error(`the collector refused the ${label} body: ${res.status} ${await res.text()}`);
    const records = (await streamLength()) - before;
    bodies.push({
      label,
      conns,
      events: eventsOf(text).length,
      records,
      bytes: Buffer.byteLength(text),
      file: requestFile(text, path.join(tmp, `${label}.req`)),
    });
  }
  await redis.del('hits');

  const machine = {
    date: new Date().toISOString(),
    cpu: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: execFileSync('redis-server', ['--version']).toString().trim().split(' ')[2]?.replace('v=', ''),
    wrk: 'wrk 4 (1 thread)',
    loadavg: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    plan: PLAN,
    sitesFile: sitesFile ? path.relative(root, sitesFile) : 'none',
  };
  log(
    `machine: ${machine.cpu}, ${machine.memory}, ${machine.os}, node ${machine.node}, redis ${machine.redis}, load ${machine.loadavg}`,
  );
  log(
    `plan: ${PLAN.pairs} pairs of ${PLAN.seconds}s after a ${PLAN.warmup}s warm-up per server and case; sites file: ${machine.sitesFile}`,
  );
  for (const b of bodies)
    log(`body ${b.label}: ${b.events} events, ${b.bytes} bytes, ${b.records} stream entries per request`);

  // ---- A/B pairs
  const cases = [];
  for (const body of bodies) {
    for (const conns of body.conns) {
      if (ONLY && ONLY !== `${body.label}:${conns}`) continue;
      const label = `${body.label}, ${conns} conns`;
      log(`case ${label}: warm-up`);
      await measure(baseline, conns, PLAN.warmup, body);
      await checkedRun(collector, conns, PLAN.warmup, body);
      const a = [];
      const b = [];
      for (let i = 0; i < PLAN.pairs; i++) {
        a.push(await measure(baseline, conns, PLAN.seconds, body));
        b.push(await checkedRun(collector, conns, PLAN.seconds, body));
        log(
          `  pair ${i + 1}: baseline ${fmt(a.at(-1).rps)} req/s, collector ${fmt(b.at(-1).rps)} req/s (${b.at(-1).non2xx} non-2xx)`,
        );
      }
      cases.push({
        label,
        body,
        conns,
        baseline: summarise(a),
        collector: summarise(b),
        ratio: pairRatios(a, b),
        non2xx: b.reduce((n, r) => n + r.non2xx, 0),
        errors: b.reduce((n, r) => n + r.errors, 0),
      });
    }
  }

  if (ONLY) {
    for (const c of cases) {
      log(
        `${c.label}: baseline ${fmt(c.baseline.rps)} req/s ${fmt(c.baseline.cpuPerEvent, 1)} µs/event p99 ${fmt(c.baseline.p99, 1)} ms ${fmt(c.baseline.rss)} MB; collector ${fmt(c.collector.rps)} req/s ${fmt(c.collector.cpuPerEvent, 1)} µs/event (redis ${fmt(c.collector.redisCpuPerEvent, 1)}) p99 ${fmt(c.collector.p99, 1)} ms ${fmt(c.collector.rss)} MB; ratio ${fmt(c.ratio.rps, 2)}`,
      );
    }
    return;
  }
  // ---- memory over a long run
  log(`memory: collector alone, ${PLAN.soakSeconds}s at 100 connections, 1-event bodies`);
  const soakBody = bodies[0];
  const samples = [];
  const sampler = setInterval(() => samples.push({ t: Date.now(), rss: rssMb(collector.pid) }), 1000);
  const soakBefore = await settledLength();
  const soak = await measure(collector, 100, PLAN.soakSeconds, soakBody);
  clearInterval(sampler);
  const soakGrown = (await settledLength()) - soakBefore;
  streamChecks.push({
    ok: soakGrown >= soak.ok * soakBody.records && soakGrown <= (soak.ok + soak.non2xx + 100) * soakBody.records,
    grown: soakGrown,
    min: soak.ok * soakBody.records,
    max: (soak.ok + soak.non2xx + 100) * soakBody.records,
    conns: 100,
    body: 'soak',
  });
  await redis.del('hits');
  const tenth = Math.max(1, Math.floor(samples.length / 6));
  const soakStats = {
    seconds: PLAN.soakSeconds,
    rps: soak.rps,
    peak: Math.max(...samples.map((s) => s.rss)),
    firstWindow: median(samples.slice(0, tenth).map((s) => s.rss)),
    lastWindow: median(samples.slice(-tenth).map((s) => s.rss)),
    afterRun: rssMb(collector.pid),
  };

  // ---- workers
  await stop(collector);
  log(
    `workers: WORKERS=1 vs WORKERS=2, ${PLAN.workerPairs} pairs, 100 connections, 1-event bodies (wrk shares the 2 cores)`,
  );
  const w1 = await startServer('collector', 1);
  const w2 = await startServer('collector', 2);
  await measure(w1, 100, PLAN.warmup, soakBody);
  await measure(w2, 100, PLAN.warmup, soakBody);
  const r1 = [];
  const r2 = [];
  for (let i = 0; i < PLAN.workerPairs; i++) {
    r1.push(await checkedRun(w1, 100, PLAN.seconds, soakBody));
    r2.push(await checkedRun(w2, 100, PLAN.seconds, soakBody));
    log(`  pair ${i + 1}: 1 worker ${fmt(r1.at(-1).rps)} req/s, 2 workers ${fmt(r2.at(-1).rps)} req/s`);
  }
  const workers = { one: summarise(r1), two: summarise(r2), ratio: pairRatios(r1, r2) };

  // ---- graceful stop of a clustered collector must still drain: a clean exit code
  const exitCode = new Promise((r) => w2.once('exit', (code) => r(code)));
  await stop(w1);
  await stop(w2);
  const w2Exit = await exitCode;
  await stop(baseline);
  await redis.quit();
  await stop(redisServer);

  const report = renderReport({
    machine,
    bodies,
    cases,
    soakStats,
    workers,
    w2Exit,
    minutes: (Date.now() - t0) / 60000,
  });
  console.log(`\n${report}`);
  if (OUT) {
    writeFileSync(path.resolve(OUT), report);
    log(`report written to ${OUT}`);
  }
  const failed = streamChecks.filter((c) => !c.ok);
  process.exitCode = failed.length ? 1 : 0;
}

/** Runs the collector under --cpu-prof and prints self time by function and by origin. */
async function profile(startServer) {
  const dir = path.join(root, '.tmp/bench/prof');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.cpuprofile')) rmSync(path.join(dir, f));
  const kind = args[args.indexOf('--profile') + 1] === 'baseline' ? 'baseline' : 'collector';
  const collector = await startServer(kind, 1, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  // BENCH_PROFILE_BODY=exempt|small profiles the exempt SDK body or the small exempt one
  const text = { exempt: EXEMPT_EVENT, small: SMALL_EXEMPT }[process.env.BENCH_PROFILE_BODY] ?? ONE_EVENT;
  const body = {
    label: 'profile',
    events: 1,
    records: 1,
    file: requestFile(text, path.join(root, '.tmp/bench/profile.req')),
  };
  const seconds = QUICK ? 5 : 20;
  await measure(collector, 100, 3, body);
  const threads = () =>
    execFileSync('/bin/sh', [
      '-c',
      `for t in /proc/${collector.pid}/task/*; do echo "$(cat $t/comm) $(cut -d' ' -f14,15 $t/stat)"; done`,
    ]).toString();
  const th0 = threads();
  const r = await measure(collector, 100, seconds, body);
  if (process.env.BENCH_THREADS) console.log(th0, '\n---\n', threads());
  log(`profiled ${seconds}s: ${fmt(r.rps)} req/s, ${fmt(r.cpuPerEvent, 1)} µs CPU per event`);
  await stop(collector);
  if (process.env.BENCH_SHOW_OUTPUT) console.log(collector.output);
  await redis.quit();
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no profile written');
  const prof = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  const dt = new Map();
  for (let i = 0; i < prof.samples.length; i++)
    dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  const byFn = new Map();
  const byOrigin = new Map();
  let total = 0;
  for (const n of prof.nodes) {
    const us = dt.get(n.id) ?? 0;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)' || us === 0) continue;
    total += us;
    const rel = url.replace(`file://${root}/`, '');
    const origin = functionName.startsWith('(')
      ? functionName
      : rel.startsWith('node_modules/')
        ? rel
            .split('/')
            .slice(1, rel.split('/')[1].startsWith('@') ? 3 : 2)
            .join('/')
        : rel.startsWith('node:')
          ? 'node internals'
          : rel.startsWith('dist/')
            ? rel
            : rel || '(native)';
    const key = `${functionName || '(anonymous)'}  ${rel}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us);
  }
  const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  const events = (r.ok * (seconds + 3)) / seconds; // the warm-up ran under the profiler too
  console.log(
    `\nbusy CPU in profile: ${(total / 1e6).toFixed(2)} s over ~${fmt(events)} hits = ${(total / events).toFixed(1)} µs/hit\n`,
  );
  console.log('self time by origin (µs per hit):');
  for (const [k, us] of top(byOrigin, 25)) console.log(`  ${(us / events).toFixed(2).padStart(7)}  ${k}`);
  console.log('\nself time by function (µs per hit):');
  for (const [k, us] of top(byFn, 45)) console.log(`  ${(us / events).toFixed(2).padStart(7)}  ${k}`);
  console.log('\nself time in node internals (µs per hit):');
  for (const [k, us] of top(new Map([...byFn].filter(([k]) => k.includes(' node:'))), 25))
    console.log(`  ${(us / events).toFixed(2).padStart(7)}  ${k}`);
  // who calls the native functions at the top (their self time is often a syscall)
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const natives = top(byFn, 12)
    .map(([k]) => k)
    .filter((k) => (k.endsWith(' :0') && !k.startsWith('(')) || k.includes(' node:'));
  for (const name of natives) {
    const callers = new Map();
    for (const n of prof.nodes) {
      const { functionName, url, lineNumber } = n.callFrame;
      if (`${functionName || '(anonymous)'}  ${url.replace(`file://${root}/`, '')}:${lineNumber + 1}` !== name)
        continue;
      let p = parent.get(n.id);
      const chain = [];
      for (let d = 0; p && d < 4; d++, p = parent.get(p.id))
        chain.push(
          `${p.callFrame.functionName || '(anon)'}@${p.callFrame.url.split('/').slice(-1)[0]}:${p.callFrame.lineNumber + 1}`,
        );
      const key = chain.join(' < ');
      callers.set(key, (callers.get(key) ?? 0) + (dt.get(n.id) ?? 0));
    }
    console.log(`\ncallers of ${name}:`);
    for (const [k, us] of top(callers, 5)) console.log(`  ${(us / events).toFixed(2).padStart(7)}  ${k}`);
  }
}

function log(msg) {
  process.stderr.write(`[bench] ${msg}\n`);
}

function renderReport({ machine, bodies, cases, soakStats, workers, w2Exit, minutes }) {
  const L = [];
  L.push(`## Run of ${machine.date}${QUICK ? ' (--quick: too short to quote)' : ''}`);
  L.push('');
  L.push(
    `- machine: ${machine.cpu}, ${machine.memory}, ${machine.os}; load average at start ${machine.loadavg} (shared with other work)`,
  );
  L.push(`- node ${machine.node}, redis ${machine.redis}, load generator ${machine.wrk} on the same cores`);
  L.push(
    `- plan: ${machine.plan.pairs} alternating pairs (baseline, collector) of ${machine.plan.seconds} s per case after a ${machine.plan.warmup} s warm-up of each; medians; ratios are per-pair medians`,
  );
  L.push(
    `- collector: production build, WORKERS=1, real GeoLite2 City .mmdb (embedded default), real HMAC keys, TRUST_PROXY=127.0.0.1, sites file: ${machine.sitesFile}`,
  );
  L.push(
    `- bodies: ${bodies.map((b) => `${b.label} (${b.bytes} bytes, ${b.records} stream entries)`).join(', ')}; 4096 rotating requests, new visitor id each, X-Forwarded-For from 1024 IPv4 /24s and 128 IPv6 /48s`,
  );
  L.push(`- whole run: ${minutes.toFixed(1)} minutes`);
  L.push('');
  L.push(
    '| case | server | req/s | events/s | p50 ms | p99 ms | max ms | server CPU µs/event | redis CPU µs/event | peak RSS MB |',
  );
  L.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|');
  for (const c of cases) {
    for (const [name, s] of [
      ['baseline', c.baseline],
      ['collector', c.collector],
    ]) {
      L.push(
        `| ${c.label} | ${name} | ${fmt(s.rps)} | ${fmt(s.eps)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${fmt(s.max, 1)} | ${fmt(s.cpuPerEvent, 1)} | ${fmt(s.redisCpuPerEvent, 1)} | ${fmt(s.rss)} |`,
      );
    }
    const r = c.ratio;
    L.push(
      `| ${c.label} | **collector/baseline** | **${fmt(r.rps, 2)}** | ${fmt(r.eps, 2)} | ${fmt(r.p50, 2)} | **${fmt(r.p99, 2)}** | ${fmt(r.max, 2)} | ${fmt(r.cpuPerEvent, 2)} | | ${fmt(r.rss, 2)} |`,
    );
  }
  L.push('');
  const find = (label) => cases.find((c) => c.label === label);
  const goals = [];
  for (const label of ['1-event', 'exempt-1-event', 'small-exempt']) {
    const c = find(`${label}, 100 conns`);
    if (c)
      goals.push([`CPU per hit ratio ≤ 1.5, ${label}, 100 conns`, c.ratio.cpuPerEvent, c.ratio.cpuPerEvent <= 1.5]);
  }
  for (const conns of [100, 500]) {
    const c = find(`1-event, ${conns} conns`);
    if (!c) continue;
    goals.push([`throughput ratio ≥ 0.85, 1-event, ${conns} conns`, c.ratio.rps, c.ratio.rps >= 0.85]);
    goals.push([`p99 ratio ≤ 1.5, 1-event, ${conns} conns`, c.ratio.p99, c.ratio.p99 <= 1.5]);
  }
  for (const conns of [100, 500]) {
    const one = find(`1-event, ${conns} conns`);
    const five = find(`5-event, ${conns} conns`);
    if (one && five) {
      const r = five.collector.cpuPerEvent / one.collector.cpuPerEvent;
      goals.push([`collector CPU/event 5-event ÷ 1-event ≤ 0.5, ${conns} conns`, r, r <= 0.5]);
    }
  }
  const peakRss = Math.max(soakStats.peak, ...cases.map((c) => c.collector.rss));
  goals.push(['collector peak RSS under load ≤ 150 MB', peakRss, peakRss <= 150]);
  const growth = soakStats.lastWindow - soakStats.firstWindow;
  goals.push([`RSS growth over a ${soakStats.seconds} s run (last sixth − first sixth, MB)`, growth, growth <= 10]);
  L.push('| goal | measured | met |');
  L.push('|---|--:|---|');
  for (const [g, v, ok] of goals) L.push(`| ${g} | ${fmt(v, 2)} | ${ok ? 'yes' : '**no**'} |`);
  L.push('');
  L.push(
    `Memory over ${soakStats.seconds} s at 100 connections (${fmt(soakStats.rps)} req/s): RSS ${fmt(soakStats.firstWindow)} MB in the first sixth, ${fmt(soakStats.lastWindow)} MB in the last, peak ${fmt(soakStats.peak)} MB, ${fmt(soakStats.afterRun)} MB after the run.`,
  );
  L.push('');
  L.push('| workers (100 conns, 1-event) | req/s | p99 ms | CPU µs/event | peak RSS MB |');
  L.push('|---|--:|--:|--:|--:|');
  L.push(
    `| WORKERS=1 | ${fmt(workers.one.rps)} | ${fmt(workers.one.p99, 2)} | ${fmt(workers.one.cpuPerEvent, 1)} | ${fmt(workers.one.rss)} |`,
  );
  L.push(
    `| WORKERS=2 | ${fmt(workers.two.rps)} | ${fmt(workers.two.p99, 2)} | ${fmt(workers.two.cpuPerEvent, 1)} | ${fmt(workers.two.rss)} |`,
  );
  L.push(
    `| 2 ÷ 1 | ${fmt(workers.ratio.rps, 2)} | ${fmt(workers.ratio.p99, 2)} | ${fmt(workers.ratio.cpuPerEvent, 2)} | ${fmt(workers.ratio.rss, 2)} |`,
  );
  L.push('');
  L.push(`WORKERS=2 collector stopped by SIGTERM with exit code ${w2Exit}.`);
  L.push('');
  const bad = streamChecks.filter((c) => !c.ok);
  L.push(
    bad.length === 0
      ? `Stream check: in all ${streamChecks.length} collector runs the stream grew by at least the entries of every request answered 2xx and by no more than those plus the requests in flight when wrk stopped.`
      : `Stream check FAILED in ${bad.length} of ${streamChecks.length} runs: ${bad.map((c) => `${c.body}/${c.conns}: grew ${c.grown}, expected ${c.min}..${c.max}`).join('; ')}`,
  );
  const errs = cases.reduce((n, c) => n + c.non2xx, 0);
  L.push(
    `Collector non-2xx answers over all A/B runs: ${errs}; socket errors/timeouts: ${cases.reduce((n, c) => n + c.errors, 0)}.`,
  );
  return L.join('\n');
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => {
    stopAllNow();
    setTimeout(() => process.exit(), 100).unref();
  });
