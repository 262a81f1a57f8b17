// How a batch becomes Redis commands: pure mechanism. Which stream an entry goes to was
// decided upstream (the entry carries its key); what goes out when, and each hit's
// deadline, is the batcher's (src/sink/batcher.ts).
//
// - Commands are grouped by hash tag: a cluster pipeline must stay on one node (stream
//   shards and counter keys carry hash tags for that); on a single node, one group.
// - A group's XADDs go out as one script call (xadd-hits.lua, chunks of XADD_CHUNK
//   entries), then its counters (HINCRBY + EXPIRE), then in durable mode WAITAOF 1 0,
//   then with waitReplicas n WAIT n, in one pipeline: the waits are on the connection
//   (on a cluster, the node) that took the group's writes, which is what they count.
// - At most MAX_UNSETTLED_PIPELINES unanswered pipelines per node, timed-out ones
//   included: a single node is then `saturated` (the batcher waits), a cluster node
//   gets its groups refused (SINK_UNAVAILABLE) while the other nodes are written.
// - A watchdog drops a connection whose replies stopped (see #send).
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import type { CounterIncrement, StreamEntry } from '../contract/record.js';
import type { BatchWriter, GroupWrite } from './batcher.js';
import { asSinkError, SinkError } from './sink.js';

/** The commands of one hit. */
export interface StreamWrite {
  readonly entries: readonly StreamEntry[];
  readonly counters: readonly CounterIncrement[];
}

export interface RedisStreamWriterOptions {
  /** MAXLEN ~ of every XADD. */
  maxLen: number;
  /**
   * The sink's per-hit deadline: a pipeline unanswered for stuckAfterMs(timeoutMs)
   * drops the connection.
   */
  timeoutMs: number;
  /**
   * Durable mode: each pipeline ends with WAITAOF 1 0, so a write is acknowledged
   * only once Redis has fsynced it to its append-only file (Redis >= 7.2, appendonly yes).
   */
  waitAof?: boolean;
  /**
   * Replica-acknowledged mode: each pipeline ends with WAIT n <ms left>, so a write is
   * acknowledged only once n replicas have received it (it survives a failover to one
   * of them). Fewer in time: the group's hits fail with SINK_NOT_REPLICATED.
   */
  waitReplicas?: number;
  /** Called with the replicas WAIT counted when they were fewer than waitReplicas. */
  onReplicasShort?: (acked: number) => void;
  /** The stream keys: probe() writes a short-lived key in each one's slot. */
  probeKeys?: readonly string[];
  log?: Pick<FastifyBaseLogger, 'warn'>;
}

/** After this many groups in a row short of replicas, the writer reports its replicas behind. */
export const REPLICAS_BEHIND_AFTER = 3;

/** The XADD loop of one hash-tag group (src/sink/xadd-hits.lua), read at start. */
export const XADD_SCRIPT = readFileSync(new URL('./xadd-hits.lua', import.meta.url), 'utf8');
/** ioredis sends the script as EVAL the first time on a connection, then EVALSHA. */
const XADD_COMMAND = 'exemptXaddHits';
/** Entries per script call (keeps the argument list of one call bounded). */
const XADD_CHUNK = 1000;
/** Unanswered pipelines per node (hash tag), at most. */
export const MAX_UNSETTLED_PIPELINES = 2;

/** How long a pipeline may stay unanswered before the watchdog drops the connection. */
export const stuckAfterMs = (timeoutMs: number): number => Math.max(2000, 4 * timeoutMs);

type Command = [string, ...(string | number)[]];

interface Group {
  keys: string[];
  hits: string[];
  cmds: Command[];
  jobs: Set<number>;
}

export class RedisStreamWriter implements BatchWriter<StreamWrite> {
  readonly #redis: Redis | Cluster;
  readonly #opts: RedisStreamWriterOptions;
  readonly #stuckMs: number;
  /** Pipelines not settled yet, by hash tag ('' on a single node); includes timed-out ones. */
  readonly #unsettled = new Map<string, number>();
  /** Groups in a row whose WAIT counted fewer replicas than asked. */
  #shortInARow = 0;

  constructor(redis: Redis | Cluster, opts: RedisStreamWriterOptions) {
    this.#redis = redis;
    this.#opts = opts;
    this.#stuckMs = stuckAfterMs(opts.timeoutMs);
    if (typeof (redis as unknown as Record<string, unknown>)[XADD_COMMAND] !== 'function') {
      redis.defineCommand(XADD_COMMAND, { lua: XADD_SCRIPT });
    }
  }

  get unavailable(): string | undefined {
    return this.#redis.status === 'ready' ? undefined : `redis is ${this.#redis.status}`;
  }

  /** A single node with MAX_UNSETTLED_PIPELINES unanswered pipelines (never on a cluster: see #send). */
  get saturated(): boolean {
    return !this.#redis.isCluster && (this.#unsettled.get('') ?? 0) >= MAX_UNSETTLED_PIPELINES;
  }

  /** Pipelines sent and not answered yet, over every node (timed-out ones included). */
  get unsettled(): number {
    let n = 0;
    for (const v of this.#unsettled.values()) n += v;
    return n;
  }

  /**
   * True after REPLICAS_BEHIND_AFTER groups in a row short of replicas, until a WAIT
   * (of a batch or of probeReplicas) counts enough of them.
   */
  get replicasBehind(): boolean {
    return this.#shortInARow >= REPLICAS_BEHIND_AFTER;
  }

  /**
   * A write in the slot of every stream key followed by WAIT, as a batch does: resolves
   * true when every node holding a stream has its replicas (and clears replicasBehind).
   */
  async probeReplicas(): Promise<boolean> {
    const n = this.#opts.waitReplicas ?? 0;
    if (n === 0) return true;
    // every shard at once: the waits of one node overlap, those of different nodes too;
    // at most a second, so that readiness answers while the replicas are away
    const ms = Math.min(this.#opts.timeoutMs, 1000);
    const waits = (this.#opts.probeKeys ?? []).map(async (key) => {
      const probe = key.includes('{') ? `${key}:probe` : `{${key}}:probe`;
      const results = await this.#redis.pipeline().set(probe, '1', 'PX', 1000).wait(n, ms).exec();
      const acked = results?.[1]?.[1];
      return typeof acked === 'number' && acked >= n;
    });
    if (!(await Promise.all(waits)).every(Boolean)) return false;
    this.#replicasCaughtUp();
    return true;
  }

  /**
   * Tries a write in the slot of every stream key (SET of a key that expires in a
   * second: Redis refuses it as it refuses XADD when out of memory or read-only).
   */
  async probe(): Promise<void> {
    for (const key of this.#opts.probeKeys ?? []) {
      await this.#redis.set(key.includes('{') ? `${key}:probe` : `{${key}}:probe`, '1', 'PX', 1000);
    }
  }

  /**
   * Sends a batch, one pipeline per hash-tag group (one group on a single node); each
   * group's settlement names the jobs (indices into batch) whose commands it carries.
   */
  write(batch: readonly StreamWrite[], deadline: number): GroupWrite[] {
    const cluster = this.#redis.isCluster;
    const groups = new Map<string, Group>();
    const group = (job: number, key: string): Group => {
      const tag = cluster ? slotTag(key) : '';
      let g = groups.get(tag);
      if (!g) groups.set(tag, (g = { keys: [], hits: [], cmds: [], jobs: new Set() }));
      g.jobs.add(job);
      return g;
    };
    batch.forEach((w, job) => {
      for (const e of w.entries) {
        const g = group(job, e.key);
        g.keys.push(e.key);
        g.hits.push(e.hit);
      }
      for (const c of w.counters)
        group(job, c.key).cmds.push(['hincrby', c.key, c.field, 1], ['expire', c.key, c.ttlSeconds]);
    });
    // the XADDs first (in job order), then the counters, then WAITAOF
    const maxLen = String(this.#opts.maxLen);
    for (const g of groups.values()) {
      if (g.keys.length === 0) continue;
      const scripts: Command[] = [];
      for (let i = 0; i < g.keys.length; i += XADD_CHUNK) {
        const keys = g.keys.slice(i, i + XADD_CHUNK);
        scripts.push([XADD_COMMAND, keys.length, ...keys, maxLen, ...g.hits.slice(i, i + XADD_CHUNK)]);
      }
      g.cmds.unshift(...scripts);
    }
    // WAITAOF and WAIT wait for every earlier write of this connection; their own
    // timeouts keep Redis from holding the connection past the batch's deadline (0
    // would mean forever), with a margin for the reply to come back before it, so a
    // short wait is reported as such rather than as a timeout. WAITAOF first: the
    // local disk is the cheaper wait, and a replica that has a write does not mean
    // the master's disk has it.
    const ms = Math.max(1, deadline - Date.now() - replyMargin(this.#opts.timeoutMs));
    if (this.#opts.waitAof === true) for (const g of groups.values()) g.cmds.push(['waitaof', 1, 0, ms]);
    const replicas = this.#opts.waitReplicas ?? 0;
    if (replicas > 0) for (const g of groups.values()) g.cmds.push(['wait', replicas, ms]);
    return [...groups].map(([tag, g]) => ({ jobs: [...g.jobs], done: this.#send(tag, g.cmds) }));
  }

  /** Sends one group's commands; resolves when Redis acknowledged all of them. */
  async #send(tag: string, cmds: Command[]): Promise<void> {
    // (this part runs synchronously in write(), group after group)
    if ((this.#unsettled.get(tag) ?? 0) >= MAX_UNSETTLED_PIPELINES) {
      // this node has stopped answering: do not pile more behind it (cluster only; a
      // single node never gets here, the batcher waits while it is saturated)
      throw new SinkError('SINK_UNAVAILABLE', 'the redis node of this shard is not answering');
    }
    this.#unsettled.set(tag, (this.#unsettled.get(tag) ?? 0) + 1);
    // Watchdog: a connection whose replies stopped (Redis host gone without a TCP reset,
    // a half-open socket) would otherwise block the sink until the kernel gives up on
    // it, many minutes later. Past stuckMs, drop the connection: its commands fail and
    // the client reconnects by itself. (What was sent may still be applied by Redis:
    // at-least-once, like any write that timed out.)
    const stuck = setTimeout(() => {
      if (this.#redis.status !== 'ready') return;
      this.#opts.log?.warn({ stuckMs: this.#stuckMs }, 'redis stopped answering: reconnecting');
      this.#redis.disconnect(true);
    }, this.#stuckMs);
    stuck.unref();
    try {
      let results: [Error | null, unknown][] | null;
      if (cmds.length === 1) {
        // one script call (no counters, no WAITAOF): no pipeline object needed
        const [name, ...args] = cmds[0]!;
        const send = (this.#redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[name]!;
        results = [[null, await send.apply(this.#redis, args)]];
      } else {
        results = await this.#redis.pipeline(cmds).exec();
      }
      if (!results) throw new SinkError('SINK_FAILED', 'pipeline aborted');
      for (const [err] of results) if (err) throw this.#refused(err);
      const replicas = this.#opts.waitReplicas ?? 0;
      if (this.#opts.waitAof === true) {
        const synced = results[results.length - (replicas > 0 ? 2 : 1)]![1] as [number, number];
        if (!Array.isArray(synced) || !(synced[0] >= 1))
          throw new SinkError('SINK_TIMEOUT', 'redis did not fsync in time');
      }
      if (replicas > 0) this.#checkReplicas(results[results.length - 1]![1], replicas);
    } catch (err) {
      // Redis's own words (a ReplyError, a closed connection...) stay in `message`
      throw asSinkError(err);
    } finally {
      clearTimeout(stuck);
      const n = this.#unsettled.get(tag)! - 1;
      if (n === 0) this.#unsettled.delete(tag);
      else this.#unsettled.set(tag, n);
    }
  }

  /**
   * A command Redis refused. ioredis redirects a cluster pipeline by itself only when
   * every command in it was redirected; a WAIT (no key) that the old node answered
   * keeps the MOVED for us: refresh the slots, so the next batch goes to the new node.
   */
  #refused(err: Error): SinkError {
    if (this.#redis.isCluster && /^(MOVED|ASK|CLUSTERDOWN) /.test(err.message)) {
      (this.#redis as Cluster).refreshSlotsCache();
    }
    return new SinkError('SINK_FAILED', err.message);
  }

  #replicasCaughtUp(): void {
    if (this.replicasBehind) this.#opts.log?.warn('redis replicas acknowledge writes again');
    this.#shortInARow = 0;
  }

  #checkReplicas(acked: unknown, wanted: number): void {
    if (typeof acked === 'number' && acked >= wanted) {
      this.#replicasCaughtUp();
      return;
    }
    const got = typeof acked === 'number' ? acked : 0;
    if (++this.#shortInARow === REPLICAS_BEHIND_AFTER) {
      this.#opts.log?.warn({ acked: got, wanted }, 'redis replicas keep missing SINK_WAIT_REPLICAS: hits get 503');
    }
    this.#opts.onReplicasShort?.(got);
    throw new SinkError('SINK_NOT_REPLICATED', `${got} of ${wanted} replicas acknowledged in time`);
  }
}

/**
 * Time kept for a wait's reply to reach us before the batch's deadline: Redis checks
 * the timeouts of WAIT and WAITAOF with its server cron (`hz 10`: every 100 ms), so
 * they answer up to 100 ms after the time asked; at most half of SINK_TIMEOUT_MS.
 */
export const replyMargin = (timeoutMs: number): number => Math.min(120, Math.floor(timeoutMs / 2));

/** The hash tag of a key (`hits:{3}` → `3`), or the key itself. */
export function slotTag(key: string): string {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}
