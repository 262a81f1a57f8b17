// The entry point as a real process: WORKERS=2 forks two workers under a node:cluster
// primary, SIGTERM drains a hit that is still waiting for Redis before every worker
// exits, and a worker that cannot start stops the primary instead of a fork loop.
// Its own redis-server: the drain test stalls Redis on purpose (DEBUG SLEEP).
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/global-setup.js';
import { TEST_KEYS } from './helpers/app.js';

const root = path.resolve(import.meta.dirname, '..');
const HIT = '{"events":[{"name":"page.display","data":{"page":"home","visitor_privacy_mode":"exempt"}}]}';

let redisServer: ChildProcess;
let redisPort: number;
let redis: Redis;

beforeAll(async () => {
  redisPort = await freePort();
  redisServer = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'local'], { stdio: 'ignore' });
  redis = new Redis({ port: redisPort, host: '127.0.0.1', retryStrategy: (n) => (n > 50 ? null : 100) });
  redis.on('error', () => undefined); // refused until redis-server listens; it retries
  await redis.ping();
});

afterAll(async () => {
  await redis?.quit();
  redisServer?.kill('SIGTERM');
});

interface Server {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), ADMIN_PORT: String(await freePort()), REDIS_URL: `redis://127.0.0.1:${redisPort}`, PSEUDONYM_KEYS: TEST_KEYS, GEOIP_DB: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, port, output: () => out, exited };
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const listeningPids = (out: string) => new Set([...out.matchAll(/"pid":(\d+),[^\n]*Server listening/g)].map((m) => m[1]));

describe('server.ts with WORKERS=2', () => {
  it('serves from two worker processes and drains a hit in flight on SIGTERM', async () => {
    const stream = `test:workers:${Date.now()}`;
    const s = await startServer({ WORKERS: '2', STREAM_KEY: stream, SHUTDOWN_DELAY_MS: '0' });
    try {
      await until(() => listeningPids(s.output()).size === 2, 20_000, 'two workers listening');
      expect(s.output()).toMatch(/"component":"primary"[^\n]*"workers":2[^\n]*starting workers/);

      const post = () =>
        fetch(`http://127.0.0.1:${s.port}/event?s=1&idclient=visitor-${Math.random()}`, {
          method: 'POST',
          headers: { 'content-type': 'text/plain;charset=UTF-8', connection: 'close' },
          body: HIT,
        });
      expect((await post()).status).toBe(204);

      // stall Redis, send a hit (it waits for the XADD ack), then ask the primary to stop
      const staller = new Redis({ port: redisPort, host: '127.0.0.1' });
      const stalled = staller.call('DEBUG', 'SLEEP', '0.4');
      await new Promise((r) => setTimeout(r, 50));
      const inFlight = post();
      await new Promise((r) => setTimeout(r, 50));
      s.child.kill('SIGTERM');
      const res = await inFlight;
      await stalled;
      await staller.quit();
      expect(res.status).toBe(204); // answered only once Redis acknowledged it
      expect(await s.exited).toBe(0);
      expect(await redis.xlen(stream)).toBe(2);
      expect(s.output()).toMatch(/"component":"primary"[^\n]*"signal":"SIGTERM"[^\n]*"msg":"closing"/);
      expect(s.output().match(/"signal":"SIGTERM"[^\n]*shutting down: not ready, draining/g)?.length).toBe(2); // each worker
    } finally {
      s.child.kill('SIGKILL');
      await redis.del(stream);
    }
  });

  it('stops with the failing code when a worker cannot start, without forking again', async () => {
    const s = await startServer({ WORKERS: '2', GEOIP_DB: path.join(root, 'does-not-exist.mmdb') });
    const code = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    s.child.kill('SIGKILL');
    expect(code).toBe(1);
    expect(s.output()).toMatch(/worker failed to start; stopping/);
    expect(s.output().match(/cannot start/g)?.length ?? 0).toBeLessThanOrEqual(2);
  });
});
