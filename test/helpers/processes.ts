// Real processes for the deployment tests: collector replicas (src/server.ts through
// tsx, as `npm run dev` runs it) and Debian's haproxy with docker/haproxy.cfg.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Proc {
  proc: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], env: Record<string, string>): Proc {
  const proc = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const keep = (b: Buffer) => {
    output.push(String(b));
    if (output.length > 500) output.shift();
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output, exited };
}

export function startCollector(env: Record<string, string>): Proc {
  return start(process.execPath, ['--import', 'tsx', 'src/server.ts'], { NODE_ENV: 'production', LOG_LEVEL: 'warn', ...env });
}

export async function waitReady(url: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${url} not ready within ${ms} ms`);
}

export async function stop(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill(signal);
  return p.exited;
}

/** haproxy -db with docker/haproxy.cfg, plus a test-only configuration file. */
export function startHaproxy(dir: string, env: Record<string, string>, extraConfig: string): Proc {
  const extra = path.join(dir, 'test-extra.cfg');
  writeFileSync(extra, extraConfig);
  return start('haproxy', ['-db', '-f', path.join(root, 'docker/haproxy.cfg'), '-f', extra], env);
}
