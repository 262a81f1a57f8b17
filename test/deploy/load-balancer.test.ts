// The deployment topology without Docker: Debian's haproxy (with docker/haproxy.cfg)
// in front of two collector processes, all on loopback, against the suite's Redis.
// (a) the client address is the one the load balancer forwarded, never a forged one;
// (b) a replica killed under load loses no 2xx hit; (c) neither does a rolling restart.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniquePrefix } from '../helpers/app.js';
import { sdkRequest } from '../helpers/fixtures.js';
import { lostHits, postHit, runLoad, storedIds, summary } from '../helpers/load.js';
import { backendRetries } from '../helpers/processes.js';
import { type BalancedPair, replicaKillUnderLoad, rollingRestart, startBalancedPair } from '../helpers/scenarios.js';
import { DESKTOP_CHROME_UA } from '../helpers/user-agents.js';

const ADMIN_TOKEN = 'lb-test-admin-token-0123';
const GB_IP = '81.2.69.142';
const FR_IP = '90.12.34.56';

/** One HTTP request preceded by a PROXY protocol v1 line: haproxy takes `src` as the client. */
function viaProxyProtocol(
  port: number,
  src: string,
  query: string,
  body: string,
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => {
      // (a person's browser: a hit without a User-Agent is a robot's, set apart)
      const head = Object.entries({
        host: 'collector',
        'user-agent': DESKTOP_CHROME_UA,
        'content-type': 'text/plain;charset=UTF-8',
        'content-length': String(Buffer.byteLength(body)),
        connection: 'close',
        ...headers,
      })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      c.write(`PROXY TCP4 ${src} 127.0.0.1 40000 ${port}\r\nPOST /event?${query} HTTP/1.1\r\n${head}\r\n${body}`);
    });
    let out = '';
    c.on('data', (d: Buffer) => (out += d.toString()));
    c.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(out)?.[1] ?? 0)));
    c.on('error', reject);
  });
}

// CI installs haproxy (.ci/run); a developer machine without it skips these tests
const haproxyMissing = spawnSync('haproxy', ['-v']).error !== undefined;
if (haproxyMissing && process.env.CI) throw new Error('haproxy is required in CI (.ci/run installs it)');

describe.skipIf(haproxyMissing)('haproxy in front of two collector processes', () => {
  const streamKey = uniquePrefix('lb');
  const redis = new Redis(inject('redisUrl'));
  let pair: BalancedPair;

  const records = async () =>
    (await redis.xrange(streamKey, '-', '+')).map(
      ([, f]) =>
        JSON.parse(f[f.indexOf('hit') + 1]!) as { props: Record<string, unknown>; geo?: Record<string, string> },
    );
  const stored = () => storedIds(redis, [streamKey]);

  beforeAll(async () => {
    pair = await startBalancedPair({
      ADMIN_TOKEN,
      REDIS_URL: inject('redisUrl'),
      STREAM_KEY: streamKey,
      // SIGTERM: not ready this long before closing; haproxy (inter 500 ms, fall 2) needs ~1 s
      SHUTDOWN_DELAY_MS: '1500',
      // what is tested is routing and draining, not the sink's timeout: a Redis slowed down
      // by a busy machine must not turn a hit into a 503 here
      SINK_TIMEOUT_MS: '5000',
    });
  });

  afterAll(async () => {
    await pair?.stop();
    await redis.del(streamKey);
    redis.disconnect();
  });

  it('(a) sees the client address the load balancer forwarded, never a forged one', async () => {
    const req = sdkRequest('exempt');
    const body = (page: string) => req.body.replace('"page":"home"', `"page":"${page}"`);
    // a remote client at a GB address forges X-Forwarded-For with a FR address
    expect(
      await viaProxyProtocol(pair.proxyProtocolPort, GB_IP, req.rawQueryString, body('xff-remote'), {
        'x-forwarded-for': FR_IP,
      }),
    ).toBe(204);
    // a client straight at a replica (not through the load balancer) forging the header
    expect(
      await postHit(pair.replicas[0]!.base, req.rawQueryString, body('xff-direct'), { 'x-forwarded-for': GB_IP }),
    ).toBe('204');
    const recs = await records();
    const remote = recs.find((r) => r.props.page === 'xff-remote')!;
    const direct = recs.find((r) => r.props.page === 'xff-direct')!;
    expect(remote.geo?.country).toBe('GB'); // the address haproxy forwarded, not the socket peer
    expect(direct.geo).toBeUndefined(); // the header of an untrusted peer is ignored: 127.0.0.0 has no location
    expect(JSON.stringify(recs)).not.toMatch(/"country":"FR"/); // the field, not the letters: pseudonyms are random base64url
  });

  it('(a2) never exposes the operator listener: /metrics and /admin are 404 through the balancer and on the public port', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ site: '123456', idclient: 'someone' });
    for (const base of [pair.lbUrl, pair.replicas[0]!.base]) {
      expect((await fetch(`${base}/metrics`)).status, base).toBe(404);
      expect((await fetch(`${base}/admin/access`, { method: 'POST', headers: auth, body })).status, base).toBe(404);
      expect((await fetch(`${base}/admin/erase`, { method: 'POST', headers: auth, body })).status, base).toBe(404);
    }
    // Prometheus and the operator reach each replica on its own listener
    expect((await fetch(`${pair.replicas[0]!.opsBase}/metrics`)).status).toBe(200);
    expect(
      (await fetch(`${pair.replicas[1]!.opsBase}/admin/access`, { method: 'POST', headers: auth, body })).status,
    ).toBe(200);
    // and no line of the balancer's configuration (comments aside) names an operator port
    const cfg = readFileSync(path.join(import.meta.dirname, '../../docker/haproxy.cfg'), 'utf8');
    expect(cfg.split('\n').filter((l) => !l.trim().startsWith('#') && /8081|ADMIN/.test(l))).toEqual([]);
  });

  it('(b) loses no 2xx hit when a replica dies under load, and routes around it', async () => {
    // (waits, bounded, until haproxy reports the killed replica DOWN: how long that took is a figure of bench/faults.ts)
    const run = await replicaKillUnderLoad(pair, { killAfterMs: 1500, maxMs: 5000 });
    const context = `${summary('replica killed (SIGKILL) under load', run.load)}; ${JSON.stringify(await backendRetries(pair.socket))}`;
    expect(lostHits(run.load, await stored()), context).toEqual([]);
    // the load went on past the kill, and hits sent after it were still answered 2xx
    expect(
      run.load.accepted.filter((o) => run.load.startedAt + o.sentAt > run.killedAt).length,
      context,
    ).toBeGreaterThan(0);
    // the survivor takes everything: every hit answered 2xx after the replica went DOWN
    const after = await runLoad({
      url: pair.lbUrl,
      label: 'after-kill',
      concurrency: 4,
      maxRequests: 200,
      maxMs: 10_000,
    });
    expect(after.statuses, summary('after the kill', after)).toEqual({ 204: 200 });
    await pair.startReplica(0);
  });

  it('(c) loses no 2xx hit during a rolling restart of both replicas', async () => {
    const run = await rollingRestart(pair, { maxMs: 12_000, pauseBetweenMs: 800 });
    const context = `${summary('rolling restart (SIGTERM, start, wait UP; both replicas)', run.load)}\n  ${run.steps.join('\n  ')}`;
    expect(
      run.exits.map((e) => e.code),
      context,
    ).toEqual([0, 0]);
    expect(lostHits(run.load, await stored()), context).toEqual([]);
    expect(run.load.accepted.length, context).toBeGreaterThan(100);
  });
});
