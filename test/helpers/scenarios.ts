// The fault scenarios, written once: the tests (test/faults/, test/deploy/) run them and
// assert what must hold on any machine (no 2xx lost, 503 + Retry-After, readiness turns
// and comes back, exit code 0...); bench/faults.ts runs the same ones and prints the
// figures (latencies, percentiles, times, RSS), which depend on the machine and are
// never asserted. Nothing here asserts; every wait and every load is bounded.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runLoad, pollStatus, type LoadResult } from './load.js';
import {
  type CollectorProcess,
  type Exit,
  type Proc,
  type RedisProcess,
  sleep,
  startCollector,
  startHaproxy,
  until,
  waitServerState,
} from './processes.js';
import { freePort } from './net.js';

/** Samples a process's RSS every `everyMs` until stopped. */
function sampleRss(collector: CollectorProcess, everyMs = 100) {
  const samples: { at: number; bytes: number }[] = [];
  const timer = setInterval(() => samples.push({ at: Date.now(), bytes: collector.rss() }), everyMs);
  return { samples, stop: () => clearInterval(timer) };
}

/** Waits (bounded) for /readyz to answer 200 again; false if it did not. */
async function readyAgain(base: string, ms: number): Promise<boolean> {
  return until(
    `${base}/readyz to answer 200`,
    () =>
      fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        async (r) => (await r.arrayBuffer(), r.status === 200),
        () => false,
      ),
    ms,
    100,
  ).then(
    () => true,
    () => false,
  );
}

export interface OutageRun {
  /** The load during the fault. */
  load: LoadResult;
  /** A short load once /readyz said 200 again: ingestion resumed without a restart. */
  after: LoadResult;
  ready: { at: number; status: number }[];
  rss: { at: number; bytes: number }[];
  /** Date.now() of the fault (kill, SIGSTOP) and of the recovery (restart, SIGCONT). */
  faultAt: number;
  recoveredAt: number;
  /** /readyz answered 200 again within the bound after the recovery. */
  readyAgain: boolean;
}

export interface OutageOptions {
  ratePerSecond: number;
  /** The load lasts this long; the fault starts at 28 % of it, the recovery at 56 %. */
  seconds: number;
  /** How long the fault lasts (default: 28 % of the load). */
  faultMs?: number;
}

async function outageUnderLoad(
  collector: CollectorProcess,
  o: OutageOptions,
  fault: () => Promise<void>,
  recover: () => Promise<void>,
): Promise<OutageRun> {
  const ready = pollStatus(`${collector.base}/readyz`, 100);
  const rss = sampleRss(collector);
  let faultAt = 0;
  let recoveredAt = 0;
  const faults = (async () => {
    await sleep(o.seconds * 280);
    faultAt = Date.now();
    await fault();
    await sleep(o.faultMs ?? o.seconds * 280);
    await recover();
    recoveredAt = Date.now();
  })();
  const load = await runLoad({
    url: collector.base,
    label: 'outage',
    ratePerSecond: o.ratePerSecond,
    maxMs: o.seconds * 1000,
    maxRequests: o.ratePerSecond * o.seconds,
    concurrency: 64,
  });
  await faults;
  const isReady = await readyAgain(collector.base, 15_000);
  await ready.stop();
  rss.stop();
  const after = await runLoad({
    url: collector.base,
    label: 'after',
    ratePerSecond: 500,
    maxMs: 5000,
    maxRequests: 200,
    concurrency: 8,
  });
  return { load, after, ready: ready.samples, rss: rss.samples, faultAt, recoveredAt, readyAgain: isReady };
}

/** Redis killed (SIGKILL) under a steady load, then restarted on the same port and data. */
export function redisKillUnderLoad(
  collector: CollectorProcess,
  redis: RedisProcess,
  o: OutageOptions,
): Promise<OutageRun> {
  return outageUnderLoad(
    collector,
    o,
    () => redis.kill('SIGKILL'),
    () => redis.restart(),
  );
}

/** Redis frozen (SIGSTOP) under a steady load, then let go (SIGCONT). */
export function redisFreezeUnderLoad(
  collector: CollectorProcess,
  redis: RedisProcess,
  o: OutageOptions,
): Promise<OutageRun> {
  return outageUnderLoad(
    collector,
    o,
    async () => void redis.proc.kill('SIGSTOP'),
    async () => void redis.proc.kill('SIGCONT'),
  );
}

export interface ShutdownRun {
  /** The load of a client that stops on the first failed readiness probe (as a load balancer does). */
  load: LoadResult;
  /** A client that ignores readiness, inside the drain window. */
  late: LoadResult;
  ready: { at: number; status: number }[];
  termAt: number;
  exit: Exit;
}

/**
 * SIGTERM under a steady load: the "load balancer" probes /readyz every `probeEveryMs`
 * and stops sending on the first failure; 100 ms after the signal a client that ignores
 * readiness sends a few more hits. Waits (bounded by `exitWithinMs`) for the exit.
 */
export async function sigtermUnderLoad(
  collector: CollectorProcess,
  o: { ratePerSecond: number; seconds: number; termAfterMs: number; probeEveryMs: number; exitWithinMs: number },
): Promise<ShutdownRun> {
  const ready = pollStatus(`${collector.base}/readyz`, o.probeEveryMs);
  const drained = () => ready.samples.some((s) => s.status !== 200);
  let termAt = 0;
  const term = (async () => {
    await sleep(o.termAfterMs);
    termAt = Date.now();
    collector.proc.kill('SIGTERM');
    await sleep(100);
    return runLoad({
      url: collector.base,
      label: 'late',
      ratePerSecond: 40,
      maxMs: 500,
      maxRequests: 10,
      concurrency: 2,
    });
  })();
  const load = await runLoad({
    url: collector.base,
    label: 'drain',
    ratePerSecond: o.ratePerSecond,
    maxMs: o.seconds * 1000,
    maxRequests: o.ratePerSecond * o.seconds,
    concurrency: 64,
    stop: drained,
  });
  const late = await term;
  const exit = await Promise.race([collector.exit, sleep(o.exitWithinMs).then(() => undefined)]);
  await ready.stop();
  if (!exit) {
    await collector.stop();
    throw new Error(`the collector did not exit within ${o.exitWithinMs} ms of SIGTERM:\n${collector.text()}`);
  }
  return { load, late, ready: ready.samples, termAt, exit };
}

export interface DripResult {
  /** ms from connecting until the server closed the connection. */
  ms: number;
  response: string;
}

/**
 * Opens a socket, writes `first`, then one byte of `drip` every `everyMs`; resolves when
 * the server closes it. Rejects if the server has not closed it `giveUpMs` after the
 * start (the client then closes it itself): bounded.
 */
export function dripClient(
  port: number,
  first: string,
  drip: string,
  o: { everyMs?: number; giveUpMs?: number } = {},
): Promise<DripResult> {
  const everyMs = o.everyMs ?? 100;
  const giveUpMs = o.giveUpMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const sock = net.connect(port, '127.0.0.1');
    let response = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the server did not cut the slow client off within ${giveUpMs} ms`));
    }, giveUpMs);
    giveUp.unref();
    sock.on('connect', () => {
      sock.write(first);
      timer = setInterval(() => {
        if (i < drip.length && !sock.destroyed) sock.write(drip[i++]!);
      }, everyMs);
    });
    sock.on('data', (d) => (response += String(d)));
    sock.on('error', () => undefined); // a reset also counts as cut off
    sock.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ ms: performance.now() - started, response });
    });
  });
}

/** Headers sent a byte at a time: 200 bytes, 20 s at the default pace. */
export const SLOW_HEADERS = {
  first: 'POST /event?s=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n',
  drip: `X-Slow: ${'a'.repeat(200)}`,
};

/** Complete headers, then a body sent a byte at a time (~240 bytes, 24 s at the default pace). */
export const SLOW_BODY = (() => {
  const body = `{"events":[{"name":"page.display","data":{"page":"${'a'.repeat(200)}"}}]}`;
  return {
    first: `POST /event?s=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`,
    drip: body,
  };
})();

// ---------------------------------------------------------------- behind haproxy

/** The address the collectors see haproxy connect from: their only trusted proxy. */
const LB_SOURCE = '127.0.0.2';

export interface BalancedPair {
  lbUrl: string;
  /** haproxy's admin socket (show stat). */
  socket: string;
  /** A listener that takes the client address from the PROXY protocol (as behind a cloud TCP balancer). */
  proxyProtocolPort: number;
  ports: number[];
  opsPorts: number[];
  replicas: CollectorProcess[];
  haproxy: Proc;
  /** Starts replica i again on its ports and waits until it is ready. */
  startReplica(i: number): Promise<void>;
  stop(): Promise<void>;
}

/** Debian's haproxy with docker/haproxy.cfg in front of two collector processes, all on loopback. */
export async function startBalancedPair(env: Record<string, string>): Promise<BalancedPair> {
  const dir = mkdtempSync(path.join(tmpdir(), 'collector-lb-'));
  const socket = path.join(dir, 'admin.sock');
  const ports = [await freePort(), await freePort()];
  const opsPorts = [await freePort(), await freePort()];
  const replicas: CollectorProcess[] = [];
  const startReplica = async (i: number) => {
    replicas[i] = await startCollector(
      { TRUST_PROXY: LB_SOURCE, ...env },
      { port: ports[i]!, adminPort: opsPorts[i]!, wait: 'readyz' },
    );
  };
  await Promise.all([startReplica(0), startReplica(1)]);
  const lbPort = await freePort();
  const proxyProtocolPort = await freePort();
  const haproxy = startHaproxy(
    dir,
    {
      LB_BIND: `127.0.0.1:${lbPort}`,
      LB_SOURCE,
      COLLECTOR_1: `127.0.0.1:${ports[0]}`,
      COLLECTOR_2: `127.0.0.1:${ports[1]}`,
    },
    // test only: the admin socket, and a listener that takes the client address from the
    // PROXY protocol, as behind a cloud TCP load balancer, to play a remote client
    `global\n    stats socket ${socket} level admin\n\nfrontend remote_clients\n    bind 127.0.0.1:${proxyProtocolPort} accept-proxy\n    default_backend collectors\n`,
  );
  const lbUrl = `http://127.0.0.1:${lbPort}`;
  const pair: BalancedPair = {
    lbUrl,
    socket,
    proxyProtocolPort,
    ports,
    opsPorts,
    replicas,
    haproxy,
    startReplica,
    async stop() {
      await haproxy.stop('SIGTERM');
      await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await until(
      `${lbUrl}/readyz through haproxy`,
      () =>
        fetch(`${lbUrl}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        ),
      20_000,
      100,
    );
    await waitServerState(socket, 'c1', /^UP/);
    await waitServerState(socket, 'c2', /^UP/);
  } catch (err) {
    await pair.stop();
    throw new Error(`${(err as Error).message}\n${haproxy.text()}`, { cause: err });
  }
  return pair;
}

export interface ReplicaKillRun {
  load: LoadResult;
  killedAt: number;
  /** ms from the kill until haproxy reported the replica DOWN. */
  downAfterMs: number;
}

/** Replica 0 killed (SIGKILL) under load through haproxy, then started again once the load is over. */
export async function replicaKillUnderLoad(
  pair: BalancedPair,
  o: { killAfterMs: number; maxMs: number },
): Promise<ReplicaKillRun> {
  const loading = runLoad({
    url: pair.lbUrl,
    label: 'kill',
    concurrency: 8,
    maxRequests: 50_000,
    maxMs: o.maxMs,
    pauseMs: 2,
  });
  await sleep(o.killAfterMs);
  const killedAt = Date.now();
  await pair.replicas[0]!.stop('SIGKILL');
  await waitServerState(pair.socket, 'c1', /^DOWN/);
  const downAfterMs = Date.now() - killedAt;
  const load = await loading;
  return { load, killedAt, downAfterMs };
}

export interface RollingRun {
  load: LoadResult;
  /** `<ms since the start> <what>`, one line per step. */
  steps: string[];
  /** Exit of each replica's SIGTERM. */
  exits: Exit[];
}

/** Both replicas, one after the other: SIGTERM, wait for the exit, start, wait until haproxy says UP; under load. */
export async function rollingRestart(
  pair: BalancedPair,
  o: { maxMs: number; pauseBetweenMs: number },
): Promise<RollingRun> {
  const loading = runLoad({
    url: pair.lbUrl,
    label: 'rolling',
    concurrency: 8,
    maxRequests: 100_000,
    maxMs: o.maxMs,
    pauseMs: 5,
  });
  const steps: string[] = [];
  const exits: Exit[] = [];
  const t0 = Date.now();
  for (const [i, name] of [
    [0, 'c1'],
    [1, 'c2'],
  ] as const) {
    await sleep(o.pauseBetweenMs);
    const exit = await pair.replicas[i]!.stop('SIGTERM');
    exits.push(exit);
    steps.push(`${Date.now() - t0} ms ${name} exited with ${exit.code}`);
    await pair.startReplica(i);
    await waitServerState(pair.socket, name, /^UP/);
    steps.push(`${Date.now() - t0} ms ${name} back UP`);
  }
  return { load: await loading, steps, exits };
}
