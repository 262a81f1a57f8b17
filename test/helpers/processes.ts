// Real processes, for the tests that need them and for bench/faults.ts, all on 127.0.0.1:
// - the collector: src/server.ts through tsx (as `npm run dev` runs it), on a free PORT
//   and a free ADMIN_PORT unless told which, in a clean environment (nothing leaks in
//   from the shell that runs the tests); the aggregator and the report CLI likewise;
// - a private redis-server (or a WAITAOF-capable valkey-server) on a free port;
// - Debian's haproxy with docker/haproxy.cfg, and its stats socket.
// Every wait is bounded and says what it waited for; stop() never leaves a process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TEST_KEYS } from './app.js';
import { freePort, waitForPort } from './net.js';

export const root = path.resolve(import.meta.dirname, '../..');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it holds; throws naming `what` after `ms`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms: number,
  everyMs = 50,
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the process exited. */
  at: number;
}

export interface Proc {
  proc: ChildProcess;
  /** What it wrote on stdout and stderr, line by line (the last 20 000 lines). */
  output: string[];
  /** The output as one text. */
  text(): string;
  exit: Promise<Exit>;
  /** Sends `signal` (SIGKILL by default) unless it has exited already, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

const MAX_LINES = 20_000;

/** A process in `root`, with PATH, HOME and `env` as its whole environment. */
function startProcess(cmd: string, args: readonly string[], env: Record<string, string>): Proc {
  const proc = spawn(cmd, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [proc.stdout, proc.stderr]) {
    let partial = '';
    stream.on('data', (d: Buffer) => {
      const lines = (partial + String(d)).split('\n');
      partial = lines.pop()!;
      output.push(...lines.filter(Boolean));
      if (output.length > MAX_LINES) output.splice(0, output.length - MAX_LINES);
    });
    stream.on('end', () => partial && output.push(partial));
  }
  const exit = new Promise<Exit>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return {
    proc,
    output,
    text: () => output.join('\n'),
    exit,
    async stop(signal = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGCONT'); // a stopped process would not act on SIGTERM
        proc.kill(signal);
      }
      return exit;
    },
  };
}

/** A script of src/ through tsx (the collector, the aggregator), running until stopped. */
export function startScript(script: string, env: Record<string, string>, args: readonly string[] = []): Proc {
  return startProcess(process.execPath, ['--import', 'tsx', script, ...args], env);
}

/** A one-shot script of src/ through tsx (the report CLI), run to its end: killed past `ms`. */
export function runScript(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  ms = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not end within ${ms} ms:\n${stderr}`));
    }, ms);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------- the collector

/**
 * What every collector process gets unless the test says otherwise: the test keys, and
 * no load shedding on event-loop lag (tested on its own in test/plugins/pressure.test.ts):
 * a machine busy with other test files must not turn hits into 503s, as in testConfig().
 */
const COLLECTOR_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  HOST: '127.0.0.1',
  PSEUDONYM_KEYS: TEST_KEYS,
  LOG_LEVEL: 'warn',
  MAX_EVENT_LOOP_DELAY_MS: '0',
};

export interface CollectorOptions {
  /** The public port (default: a free one); given again, a replica restarts where it was. */
  port?: number;
  /** The operator's port (default: a free one). */
  adminPort?: number;
  /** Wait until /healthz answers (default), until /readyz says 200, or not at all. */
  wait?: 'healthz' | 'readyz' | 'none';
  /** Bound of that wait (default 30 s). */
  waitMs?: number;
}

export interface CollectorProcess extends Proc {
  port: number;
  adminPort: number;
  /** http://127.0.0.1:<port> */
  base: string;
  /** The operator's listener (/metrics, /admin). */
  opsBase: string;
  /** Resident set size in bytes, from /proc (NaN once it exited). */
  rss(): number;
}

/** Runs src/server.ts in a child process: COLLECTOR_ENV, the ports, then `env`. */
export async function startCollector(
  env: Record<string, string>,
  opts: CollectorOptions = {},
): Promise<CollectorProcess> {
  const port = opts.port ?? (await freePort());
  const adminPort = opts.adminPort ?? (await freePort());
  const p = startScript('src/server.ts', {
    ...COLLECTOR_ENV,
    PORT: String(port),
    ADMIN_PORT: String(adminPort),
    ...env,
  });
  const base = `http://127.0.0.1:${port}`;
  const c: CollectorProcess = {
    ...p,
    port,
    adminPort,
    base,
    opsBase: `http://127.0.0.1:${adminPort}`,
    rss() {
      try {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.proc.pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : NaN;
      } catch {
        return NaN;
      }
    },
  };
  const wait = opts.wait ?? 'healthz';
  if (wait !== 'none') {
    const ms = opts.waitMs ?? 30_000;
    const url = `${base}/${wait}`;
    try {
      await until(
        `${url} to answer 200`,
        async () => {
          if (p.proc.exitCode !== null) throw new Error(`collector exited with ${p.proc.exitCode} at start`);
          return fetch(url, { signal: AbortSignal.timeout(2000) }).then(
            async (r) => (await r.arrayBuffer(), r.status === 200),
            () => false,
          );
        },
        ms,
      );
    } catch (err) {
      await c.stop();
      throw new Error(`${(err as Error).message}\n${c.text()}`, { cause: err });
    }
  }
  return c;
}

// ---------------------------------------------------------------- Redis

/** A redis-server binary that knows WAITAOF (Redis >= 7.2 or Valkey), if one is around. */
export function waitAofServer(): string | undefined {
  const candidates = [process.env.WAITAOF_REDIS_SERVER, path.join(root, '.tmp/valkey/usr/bin/valkey-server')];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

export interface RedisOptions {
  aof?: boolean;
  fsync?: 'always' | 'everysec' | 'no';
  /** redis-server by default; valkey-server for WAITAOF. */
  bin?: string;
  /** DEBUG SLEEP and the other DEBUG subcommands, from loopback. */
  debugCommand?: boolean;
  /** More redis-server arguments (`--replicaof 127.0.0.1 <port>`...). */
  args?: readonly string[];
}

export interface RedisProcess {
  port: number;
  url: string;
  dir: string;
  proc: ChildProcess;
  /** Starts it again on the same port and data directory (after a kill). */
  restart(): Promise<void>;
  /** Sends a signal (SIGKILL by default) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Kills it and removes its data directory. */
  stop(): Promise<void>;
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'collector-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--dir',
    dir,
    '--appendonly',
    opts.aof ? 'yes' : 'no',
  ];
  if (opts.aof) args.push('--appendfsync', opts.fsync ?? 'everysec');
  if (opts.debugCommand) args.push('--enable-debug-command', 'local');
  if (opts.args) args.push(...opts.args);
  const r: RedisProcess = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    proc: undefined as unknown as ChildProcess,
    async restart() {
      r.proc = spawn(opts.bin ?? 'redis-server', args, { stdio: 'ignore' });
      await waitForPort(port, 10_000);
    },
    async kill(signal = 'SIGKILL') {
      const p = r.proc;
      if (p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill(signal);
      await exited;
    },
    async stop() {
      r.proc.kill('SIGCONT');
      await r.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await r.restart();
  return r;
}

// ---------------------------------------------------------------- haproxy

/**
 * haproxy -db with docker/haproxy.cfg, its variables from `env`, plus a test-only
 * configuration file in `dir` (an admin socket, extra listeners).
 */
export function startHaproxy(dir: string, env: Record<string, string>, extraConfig: string): Proc {
  const extra = path.join(dir, 'test-extra.cfg');
  writeFileSync(extra, extraConfig);
  return startProcess('haproxy', ['-db', '-f', path.join(root, 'docker/haproxy.cfg'), '-f', extra], env);
}

/** haproxy's `show stat` CSV from its stats socket. */
function showStat(socket: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const c = net.connect(socket);
    let out = '';
    c.on('data', (d: Buffer) => (out += d.toString()));
    c.on('end', () => resolve(out));
    c.on('error', reject);
    c.end('show stat\n');
  });
}

/** States of a backend's servers as haproxy reports them (`c1` → `UP`). */
async function serverStates(socket: string, backend = 'collectors'): Promise<Record<string, string>> {
  const states: Record<string, string> = {};
  for (const line of (await showStat(socket)).split('\n')) {
    const f = line.split(',');
    if (f[0] === backend && f[1] !== 'BACKEND') states[f[1]!] = f[17]!;
  }
  return states;
}

/** Requests haproxy retried and redispatched to another server so far (backend totals). */
export async function backendRetries(
  socket: string,
  backend = 'collectors',
): Promise<{ retried: number; redispatched: number }> {
  const f =
    (await showStat(socket))
      .split('\n')
      .find((l) => l.startsWith(`${backend},BACKEND,`))
      ?.split(',') ?? [];
  return { retried: Number(f[15] ?? NaN), redispatched: Number(f[16] ?? NaN) };
}

/** Waits (bounded) until haproxy reports `server` in a state matching `state`; resolves with the ms it took. */
export async function waitServerState(socket: string, server: string, state: RegExp, ms = 15_000): Promise<number> {
  const started = Date.now();
  await until(
    `haproxy to report ${server} ${state}`,
    async () => state.test((await serverStates(socket))[server] ?? ''),
    ms,
  );
  return Date.now() - started;
}
