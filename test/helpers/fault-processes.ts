// Real processes for the fault tests: a private redis-server (or valkey-server) on a
// free loopback port, and the collector itself as a child process (run with tsx),
// so that a test can kill Redis, send SIGTERM and read the collector's RSS.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './net.js';

export { waitForPort };

const root = path.resolve(import.meta.dirname, '../..');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A redis-server binary that knows WAITAOF (Redis >= 7.2 or Valkey), if one is around. */
export function waitAofServer(): string | undefined {
  const candidates = [process.env.WAITAOF_REDIS_SERVER, path.join(root, '.tmp/valkey/usr/bin/valkey-server')];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

export interface RedisProcess {
  port: number;
  url: string;
  dir: string;
  proc: ChildProcess;
  /** Starts it again on the same port and data directory (after a kill). */
  restart(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(opts: { aof?: boolean; fsync?: 'always' | 'everysec' | 'no'; bin?: string } = {}): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'collector-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--appendonly', opts.aof ? 'yes' : 'no'];
  if (opts.aof) args.push('--appendfsync', opts.fsync ?? 'everysec');
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

export interface CollectorProcess {
  port: number;
  base: string;
  /** The operator's listener (/metrics, /admin). */
  opsBase: string;
  proc: ChildProcess;
  /** Log lines (JSON) the collector wrote on stdout and stderr. */
  output: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Resident set size in bytes, from /proc. */
  rss(): number;
  stop(): Promise<void>;
}

/** Runs src/server.ts in a child process with the given environment. */
export async function startCollector(env: Record<string, string>): Promise<CollectorProcess> {
  const port = await freePort();
  const adminPort = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(port), ADMIN_PORT: String(adminPort), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const s of [proc.stdout!, proc.stderr!]) s.on('data', (d: Buffer) => output.push(...String(d).split('\n').filter(Boolean)));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const base = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`collector exited at start:\n${output.join('\n')}`);
    const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > until) throw new Error(`collector did not start:\n${output.join('\n')}`);
    await sleep(50);
  }
  return {
    port,
    base,
    opsBase: `http://127.0.0.1:${adminPort}`,
    proc,
    output,
    exit,
    rss() {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : NaN;
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exit;
      }
    },
  };
}
