// The deployment topology without Docker: Debian's haproxy (with docker/haproxy.cfg)
// in front of two collector processes, all on loopback, against the suite's Redis.
// (a) the client address is the one the load balancer forwarded, never a forged one;
// (b) a replica killed under load loses no 2xx hit; (c) neither does a rolling restart.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TEST_KEYS, uniquePrefix } from '../helpers/app.js';
import { sdkRequest } from '../helpers/fixtures.js';
import { freePort } from '../helpers/global-setup.js';
import { lostHits, postHit, runLoad, summary } from '../helpers/load.js';
import { startCollector, startHaproxy, stop, waitReady, type Proc } from '../helpers/processes.js';

const ADMIN_TOKEN = 'lb-test-admin-token-0123';
const LB_SOURCE = '127.0.0.2'; // the address the collectors see: the only trusted proxy
const GB_IP = '81.2.69.142';
const FR_IP = '90.12.34.56';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** haproxy's `show stat` CSV from its stats socket. */
function showStat(socket: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const c = net.connect(socket);
    let out = '';
    c.on('data', (d) => (out += d));
    c.on('end', () => resolve(out));
    c.on('error', reject);
    c.end('show stat\n');
  });
}

/** Server states as haproxy reports them on its stats socket (`c1` → `UP`). */
async function serverStates(socket: string): Promise<Record<string, string>> {
  const csv = await showStat(socket);
  const states: Record<string, string> = {};
  for (const line of csv.split('\n')) {
    const f = line.split(',');
    if (f[0] === 'collectors' && f[1] !== 'BACKEND') states[f[1]!] = f[17]!;
  }
  return states;
}

/** Requests haproxy retried and redispatched to the other replica (backend totals). */
async function retries(socket: string): Promise<string> {
  const csv = await showStat(socket);
  const f = csv.split('\n').find((l) => l.startsWith('collectors,BACKEND,'))?.split(',') ?? [];
  return `haproxy retried ${f[15]} and redispatched ${f[16]} requests so far`;
}

async function waitState(socket: string, server: string, state: RegExp, ms = 15_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (state.test((await serverStates(socket))[server] ?? '')) return Date.now() - started;
    await sleep(50);
  }
  throw new Error(`${server} not ${state} within ${ms} ms`);
}

/** One HTTP request preceded by a PROXY protocol v1 line: haproxy takes `src` as the client. */
function viaProxyProtocol(port: number, src: string, query: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => {
      const head = Object.entries({ host: 'collector', 'content-type': 'text/plain;charset=UTF-8', 'content-length': String(Buffer.byteLength(body)), connection: 'close', ...headers })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      c.write(`PROXY TCP4 ${src} 127.0.0.1 40000 ${port}\r\nPOST /event?${query} HTTP/1.1\r\n${head}\r\n${body}`);
    });
    let out = '';
    c.on('data', (d) => (out += d));
    c.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(out)?.[1] ?? 0)));
    c.on('error', reject);
  });
}

// CI installs haproxy (.ci/run); a developer machine without it skips these tests
const haproxyMissing = spawnSync('haproxy', ['-v']).error !== undefined;
if (haproxyMissing && process.env.CI) throw new Error('haproxy is required in CI (.ci/run installs it)');

describe.skipIf(haproxyMissing)('haproxy in front of two collector processes', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'collector-lb-'));
  const socket = path.join(dir, 'admin.sock');
  const streamKey = uniquePrefix('lb');
  const redis = new Redis(inject('redisUrl'));
  const ports: number[] = [];
  const opsPorts: number[] = [];
  const replicas: Proc[] = [];
  let lb: Proc;
  let lbUrl: string;
  let proxyProtocolPort: number;

  const replicaEnv = (port: number, adminPort: number) => ({
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    ADMIN_TOKEN: ADMIN_TOKEN,
    HOST: '127.0.0.1',
    REDIS_URL: inject('redisUrl'),
    STREAM_KEY: streamKey,
    PSEUDONYM_KEYS: TEST_KEYS,
    TRUST_PROXY: LB_SOURCE,
    // SIGTERM: not ready this long before closing; haproxy (inter 500 ms, fall 2) needs ~1 s
    SHUTDOWN_DELAY_MS: '1500',
  });
  const startReplica = async (i: number) => {
    replicas[i] = startCollector(replicaEnv(ports[i]!, opsPorts[i]!));
    await waitReady(`http://127.0.0.1:${ports[i]}`);
  };
  const records = async () =>
    (await redis.xrange(streamKey, '-', '+')).map(([, f]) => JSON.parse(f[f.indexOf('hit') + 1]!) as { props: Record<string, unknown>; geo?: Record<string, string> });

  beforeAll(async () => {
    ports.push(await freePort(), await freePort());
    opsPorts.push(await freePort(), await freePort());
    await Promise.all([startReplica(0), startReplica(1)]);
    const lbPort = await freePort();
    proxyProtocolPort = await freePort();
    lbUrl = `http://127.0.0.1:${lbPort}`;
    lb = startHaproxy(
      dir,
      { LB_BIND: `127.0.0.1:${lbPort}`, LB_SOURCE, COLLECTOR_1: `127.0.0.1:${ports[0]}`, COLLECTOR_2: `127.0.0.1:${ports[1]}` },
      // test only: the admin socket, and a listener that takes the client address from
      // the PROXY protocol, as behind a cloud TCP load balancer, to play a remote client
      `global\n    stats socket ${socket} level admin\n\nfrontend remote_clients\n    bind 127.0.0.1:${proxyProtocolPort} accept-proxy\n    default_backend collectors\n`,
    );
    await waitReady(lbUrl);
    await waitState(socket, 'c1', /^UP/);
    await waitState(socket, 'c2', /^UP/);
  });

  afterAll(async () => {
    if (lb) await stop(lb);
    await Promise.all(replicas.map((r) => stop(r, 'SIGKILL')));
    await redis.del(streamKey);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('(a) sees the client address the load balancer forwarded, never a forged one', async () => {
    const req = sdkRequest('exempt');
    const body = (page: string) => req.body.replace('"page":"home"', `"page":"${page}"`);
    // a remote client at a GB address forges X-Forwarded-For with a FR address
    expect(await viaProxyProtocol(proxyProtocolPort, GB_IP, req.rawQueryString, body('xff-remote'), { 'x-forwarded-for': FR_IP })).toBe(204);
    // a client straight at a replica (not through the load balancer) forging the header
    expect(await postHit(`http://127.0.0.1:${ports[0]}`, req.rawQueryString, body('xff-direct'), { 'x-forwarded-for': GB_IP })).toBe('204');
    const recs = await records();
    const remote = recs.find((r) => r.props.page === 'xff-remote')!;
    const direct = recs.find((r) => r.props.page === 'xff-direct')!;
    expect(remote.geo?.country).toBe('GB'); // the address haproxy forwarded, not the socket peer
    expect(direct.geo).toBeUndefined(); // the header of an untrusted peer is ignored: 127.0.0.0 has no location
    expect(JSON.stringify(recs)).not.toContain('FR');
  });

  it('(a2) never exposes the operator listener: /metrics and /admin are 404 through the balancer and on the public port', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ site: '123456', idclient: 'someone' });
    for (const base of [lbUrl, `http://127.0.0.1:${ports[0]}`]) {
      expect((await fetch(`${base}/metrics`)).status, base).toBe(404);
      expect((await fetch(`${base}/admin/access`, { method: 'POST', headers: auth, body })).status, base).toBe(404);
      expect((await fetch(`${base}/admin/erase`, { method: 'POST', headers: auth, body })).status, base).toBe(404);
    }
    // Prometheus and the operator reach each replica on its own listener
    expect((await fetch(`http://127.0.0.1:${opsPorts[0]}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${opsPorts[1]}/admin/access`, { method: 'POST', headers: auth, body })).status).toBe(200);
    // and no line of the balancer's configuration (comments aside) names an operator port
    const cfg = readFileSync(path.join(import.meta.dirname, '../../docker/haproxy.cfg'), 'utf8');
    expect(cfg.split('\n').filter((l) => !l.trim().startsWith('#') && /8081|ADMIN/.test(l))).toEqual([]);
  });

  it('(b) loses no 2xx hit when a replica dies under load, and routes around it', async () => {
    const load = runLoad({ url: lbUrl, label: 'kill', concurrency: 8, maxRequests: 4000, maxMs: 5000, pauseMs: 2 });
    await sleep(1500);
    const killedAt = Date.now();
    await stop(replicas[0]!, 'SIGKILL');
    const downAfterMs = await waitState(socket, 'c1', /^DOWN/);
    const result = await load;
    const lost = lostHits(result, await records());
    console.log(`${summary('replica killed (SIGKILL) under load', result, lost.length)}; haproxy marked it DOWN ${downAfterMs} ms after the kill\n  per second [2xx, other]: ${JSON.stringify(result.timeline)}\n  ${await retries(socket)}`);
    expect(lost).toEqual([]);
    expect(Date.now() - killedAt).toBeGreaterThan(0);
    // the survivor takes everything: every hit answered 2xx after the replica went DOWN
    const after = await runLoad({ url: lbUrl, label: 'after-kill', concurrency: 4, maxRequests: 200, maxMs: 5000 });
    expect(after.accepted.length).toBe(200);
    await startReplica(0);
    await waitState(socket, 'c1', /^UP/);
  });

  it('(c) loses no 2xx hit during a rolling restart of both replicas', async () => {
    const load = runLoad({ url: lbUrl, label: 'rolling', concurrency: 8, maxRequests: 8000, maxMs: 12_000, pauseMs: 5 });
    const steps: string[] = [];
    const t0 = Date.now();
    for (const [i, name] of [[0, 'c1'], [1, 'c2']] as const) {
      await sleep(800);
      const code = await stop(replicas[i]!, 'SIGTERM');
      steps.push(`${Date.now() - t0} ms ${name} exited with ${code}`);
      await startReplica(i);
      await waitState(socket, name, /^UP/);
      steps.push(`${Date.now() - t0} ms ${name} back UP`);
    }
    const result = await load;
    const lost = lostHits(result, await records());
    console.log(`${summary('rolling restart (SIGTERM, start, wait UP; both replicas)', result, lost.length)}\n  ${steps.join('\n  ')}\n  per second [2xx, other]: ${JSON.stringify(result.timeline)}\n  ${await retries(socket)}`);
    expect(lost).toEqual([]);
    expect(result.accepted.length).toBeGreaterThan(100);
  });
});
