// A real Redis Cluster on loopback for the tests: 3 masters + 3 replicas, each a
// redis-server process on a free port with AOF on, joined by `redis-cli --cluster create`.
// Everything lives in a temporary directory that stop() removes. With `proxied`, each
// node sits behind a LinkProxy (test/helpers/link-proxy.ts) whose port it announces,
// so a test can stall a replication link for real.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './net.js';
import { type LinkProxy, startLinkProxy } from './link-proxy.js';

const run = promisify(execFile);

interface ClusterNode {
  /** The port clients and peers use (the proxy's when proxied). */
  port: number;
  /** The port redis-server listens on (its cluster bus: + 10000). */
  serverPort: number;
  dir: string;
  proc: ChildProcess | undefined;
  proxy: LinkProxy | undefined;
}

export interface ClusterOptions {
  /** Each node behind a LinkProxy it announces (default false). */
  proxied?: boolean;
  /** cluster-node-timeout (default 1500 ms). */
  nodeTimeoutMs?: number;
}

export interface TestCluster {
  nodes: ClusterNode[];
  /** `127.0.0.1:port,...` as REDIS_CLUSTER_NODES expects. */
  seeds: string;
  /** A client to one node, for CLUSTER commands. */
  admin(port: number): Redis;
  /** Port of the master that serves a slot. */
  masterOf(slot: number): Promise<number>;
  /** Port of a replica of the master on `port`. */
  replicaOf(masterPort: number): Promise<number>;
  /** Stops a node (SIGTERM: Redis syncs its AOF and waits for its replicas). */
  stopNode(port: number): Promise<void>;
  /** Kills a node (SIGKILL: what it has not sent its replicas is gone) and closes its proxy's connections. */
  killNode(port: number): Promise<void>;
  startNode(port: number): Promise<void>;
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startRedis(node: ClusterNode, nodeTimeoutMs: number): ChildProcess {
  const announce = node.proxy
    ? [
        ...['--cluster-announce-port', String(node.port), '--replica-announce-port', String(node.port)],
        ...['--cluster-announce-bus-port', String(node.serverPort + 10000)],
      ]
    : [];
  return spawn(
    'redis-server',
    [
      ...announce,
      '--port',
      String(node.serverPort),
      '--bind',
      '127.0.0.1',
      '--dir',
      node.dir,
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      'nodes.conf',
      '--cluster-node-timeout',
      String(nodeTimeoutMs),
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--protected-mode',
      'no',
      // a replica that needs a full copy gets it at once, not after Redis's 5 s wait for others
      '--repl-diskless-sync-delay',
      '0',
    ],
    { stdio: 'ignore' },
  );
}

async function waitPing(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const c = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
      if ((await c.ping()) === 'PONG') return;
    } catch {
      // not yet
    } finally {
      c.disconnect();
    }
    await sleep(50);
  }
  throw new Error(`redis on ${port} did not answer within ${ms} ms`);
}

export async function startCluster(
  masters = 3,
  replicasPerMaster = 1,
  opts: ClusterOptions = {},
): Promise<TestCluster> {
  const base = mkdtempSync(path.join(tmpdir(), 'collector-cluster-'));
  const count = masters * (1 + replicasPerMaster);
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 1500;
  const nodes: ClusterNode[] = [];
  for (let i = 0; i < count; i++) {
    const dir = path.join(base, `n${i}`);
    mkdirSync(dir);
    const serverPort = await freePort();
    const port = opts.proxied ? await freePort() : serverPort;
    const proxy = opts.proxied ? await startLinkProxy(port, serverPort) : undefined;
    nodes.push({ port, serverPort, dir, proc: undefined, proxy });
  }
  for (const n of nodes) n.proc = startRedis(n, nodeTimeoutMs);
  const admins = new Map<number, Redis>();
  const admin = (port: number) => {
    let c = admins.get(port);
    if (!c) {
      c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 100 });
      c.on('error', () => undefined);
      admins.set(port, c);
    }
    return c;
  };

  const cluster: TestCluster = {
    nodes,
    seeds: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    admin,
    async masterOf(slot) {
      for (const n of nodes) {
        if (!n.proc) continue;
        try {
          const slots = (await admin(n.port).call('CLUSTER', 'SLOTS')) as [number, number, [string, number, string]][];
          const range = slots.find(([from, to]) => slot >= from && slot <= to);
          if (range) return range[2][1];
        } catch {
          // try another node
        }
      }
      throw new Error(`no master found for slot ${slot}`);
    },
    async replicaOf(masterPort) {
      const info = await admin(masterPort).info('replication');
      const m = /slave0:ip=[^,]+,port=(\d+)/.exec(info);
      if (!m) throw new Error(`master ${masterPort} has no replica`);
      return Number(m[1]);
    },
    async stopNode(port) {
      const n = nodes.find((x) => x.port === port)!;
      const proc = n.proc!;
      n.proc = undefined;
      admins.get(port)?.disconnect();
      admins.delete(port);
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      });
    },
    async killNode(port) {
      const n = nodes.find((x) => x.port === port)!;
      const proc = n.proc!;
      n.proc = undefined;
      await new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGKILL');
      });
      n.proxy?.dropConnections();
      admins.get(port)?.disconnect();
      admins.delete(port);
    },
    async startNode(port) {
      const n = nodes.find((x) => x.port === port)!;
      n.proc = startRedis(n, nodeTimeoutMs);
      await waitPing(n.serverPort, 10_000);
    },
    async waitHealthy(timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        let ok = true;
        for (const n of nodes) {
          if (!n.proc) continue;
          try {
            const info = (await admin(n.port).call('CLUSTER', 'INFO')) as string;
            if (!/cluster_state:ok/.test(info) || !/cluster_slots_ok:16384/.test(info)) ok = false;
          } catch {
            ok = false;
          }
        }
        if (ok) return;
        await sleep(100);
      }
      throw new Error('cluster did not become healthy');
    },
    async stop() {
      for (const c of admins.values()) c.disconnect();
      await Promise.all(nodes.flatMap((n) => (n.proxy ? [n.proxy.close()] : [])));
      await Promise.all(
        nodes.map(
          (n) =>
            new Promise<void>((resolve) => {
              if (!n.proc || n.proc.exitCode !== null) return resolve();
              n.proc.once('exit', () => resolve());
              n.proc.kill('SIGKILL');
            }),
        ),
      );
      rmSync(base, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(nodes.map((n) => waitPing(n.serverPort, 10_000)));
    // the servers' own ports: CLUSTER MEET finds a node's bus at its port + 10000
    const addresses = nodes.map((n) => `127.0.0.1:${n.serverPort}`);
    const replicas = ['--cluster-replicas', String(replicasPerMaster)];
    await run('redis-cli', ['--cluster', 'create', ...addresses, ...replicas, '--cluster-yes'], { timeout: 30_000 });
    await cluster.waitHealthy();
    // replicas are attached and in sync before a test fails anything over
    for (const n of nodes) {
      const role = await admin(n.port).info('replication');
      if (/role:master/.test(role) && replicasPerMaster > 0) {
        const until = Date.now() + 10_000;
        while (!/slave0:.*state=online/.test(await admin(n.port).info('replication'))) {
          if (Date.now() > until) throw new Error(`replica of ${n.port} not online`);
          await sleep(100);
        }
      }
    }
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
