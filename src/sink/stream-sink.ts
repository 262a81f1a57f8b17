// The Redis writer. Its promise: write() resolves only when Redis acknowledged
// every command of the hit (so a 2xx means the hit is in the stream); otherwise it
// rejects quickly with a SinkError (503), and what waits for Redis stays bounded.
//
// Batching: writes that arrive while a batch is in flight wait in a queue and go
// out together, pipelined, as soon as that batch is acknowledged ("flush when the
// previous write was acknowledged"), so batches grow with load and no timer adds
// latency when the service is idle.
import type { Cluster, Redis } from 'ioredis';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { CounterIncrement, StreamEntry } from '../contract/record.js';

export type SinkErrorCode = 'SINK_UNAVAILABLE' | 'SINK_OVERLOADED' | 'SINK_TIMEOUT' | 'SINK_FAILED' | 'SINK_CLOSED';

/** `message` may hold Redis's own words: it goes to logs, never to a client (see publicMessage). */
export class SinkError extends Error {
  constructor(
    readonly code: SinkErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SinkError';
  }

  /** What a client is told, in the collector's words. */
  get publicMessage(): string {
    return PUBLIC_MESSAGES[this.code];
  }
}

const PUBLIC_MESSAGES: Record<SinkErrorCode, string> = {
  SINK_UNAVAILABLE: 'the event store is not reachable',
  SINK_OVERLOADED: 'too many hits are waiting for the event store',
  SINK_TIMEOUT: 'the event store did not acknowledge the write in time',
  SINK_FAILED: 'the event store refused the write',
  SINK_CLOSED: 'the collector is shutting down',
};

/** After this many batches in a row refused by Redis (SINK_FAILED), the sink reports itself failing. */
export const FAILING_AFTER_BATCHES = 3;


export interface SinkOptions {
  maxPending: number;
  maxBatch: number;
  timeoutMs: number;
  maxLen: number;
  /**
   * Durable mode: each pipeline ends with WAITAOF 1 0, so a write is acknowledged
   * only once Redis has fsynced it to its append-only file (Redis >= 7.2, appendonly yes).
   */
  waitAof?: boolean;
  /** A pipeline unanswered this long drops the connection (reconnect); default max(2 s, 4 × timeoutMs). */
  stuckMs?: number;
  /** The stream keys: probe() writes a short-lived key in each one's slot. */
  probeKeys?: readonly string[];
  log?: Logger;
  /** Called after every batch (for metrics). */
  onBatch?: (events: number, ms: number, ok: boolean) => void;
}

interface Job {
  entries: readonly StreamEntry[];
  counters: readonly CounterIncrement[];
  size: number;
  deadline: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: SinkError) => void;
}

type Command = [string, ...(string | number)[]];

const MAX_UNSETTLED_PIPELINES = 2;

/**
 * The XADDs of one hash-tag group go out as one script call (ioredis sends EVAL the
 * first time on a connection, then EVALSHA) rather than one command each: one Command
 * object, one reply to parse, instead of one per entry. KEYS[i] gets ARGV[i + 1];
 * ARGV[1] is MAXLEN. Same entries, same order, same fields as one XADD per entry.
 * A Lua error mid-loop leaves the XADDs before it applied (Redis does not roll back a
 * script): the jobs of the group get a 503 although some of their entries are in the
 * stream, the same at-least-once situation as a write that timed out; consumers
 * dedupe by record id.
 */
export const XADD_SCRIPT = `local maxlen = ARGV[1]
for i = 1, #KEYS do
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', maxlen, '*', 'v', '1', 'hit', ARGV[i + 1])
end
return #KEYS`;
const XADD_COMMAND = 'exemptXaddHits';
/** Entries per script call (keeps the argument list of one call bounded). */
const XADD_CHUNK = 1000;

export class StreamSink {
  readonly #redis: Redis | Cluster;
  readonly #opts: SinkOptions;
  readonly #queue: Job[] = [];
  #queued = 0; // events waiting in #queue
  #inFlight = 0; // events in the batch being written
  /** Pipelines not settled yet, by hash tag ('' on a single node); includes timed-out ones. */
  readonly #unsettled = new Map<string, number>();
  #writing = false;
  #scheduled = false;
  #closed = false;
  #sweeper: NodeJS.Timeout | undefined;
  #idleWaiters: (() => void)[] = [];
  readonly #stuckMs: number;
  #failedBatches = 0;
  #lastFailure: string | undefined;

  constructor(redis: Redis | Cluster, opts: SinkOptions) {
    this.#redis = redis;
    this.#opts = opts;
    this.#stuckMs = opts.stuckMs ?? Math.max(2000, 4 * opts.timeoutMs);
    if (typeof (redis as unknown as Record<string, unknown>)[XADD_COMMAND] !== 'function') {
      redis.defineCommand(XADD_COMMAND, { lua: XADD_SCRIPT });
    }
  }

  /** Events accepted by write() and not yet acknowledged or failed. */
  get pending(): number {
    return this.#queued + this.#inFlight;
  }

  /**
   * Why writes keep failing (Redis refuses them: out of memory, read-only replica...),
   * or undefined. Set after FAILING_AFTER_BATCHES refused batches in a row, cleared by
   * the next write or probe() that succeeds.
   */
  get failing(): string | undefined {
    return this.#failedBatches >= FAILING_AFTER_BATCHES ? this.#lastFailure : undefined;
  }

  /**
   * Tries a write in the slot of every stream key (SET of a key that expires in a
   * second: Redis refuses it as it refuses XADD when out of memory or read-only).
   * Readiness calls it while the sink is failing, so that it comes back by itself once
   * Redis takes writes again, even with no hit arriving to find out.
   */
  async probe(): Promise<boolean> {
    try {
      for (const key of this.#opts.probeKeys ?? []) {
        await this.#redis.set(key.includes('{') ? `${key}:probe` : `{${key}}:probe`, '1', 'PX', 1000);
      }
      this.#failedBatches = 0;
      return true;
    } catch (err) {
      this.#lastFailure = (err as Error).message;
      return false;
    }
  }

  write(entries: readonly StreamEntry[], counters: readonly CounterIncrement[] = []): Promise<void> {
    const size = entries.length + counters.length;
    if (size === 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(new SinkError('SINK_CLOSED', 'shutting down'));
    if (this.#redis.status !== 'ready') {
      return Promise.reject(new SinkError('SINK_UNAVAILABLE', `redis is ${this.#redis.status}`));
    }
    if (this.pending + size > this.#opts.maxPending) {
      return Promise.reject(new SinkError('SINK_OVERLOADED', 'too many events waiting for redis'));
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({
        entries,
        counters,
        size,
        deadline: Date.now() + this.#opts.timeoutMs,
        settled: false,
        resolve,
        reject,
      });
      this.#queued += size;
      this.#startSweeper();
      this.#schedule();
    });
  }

  /** Resolves when nothing is queued or in flight (for graceful shutdown). */
  drain(): Promise<void> {
    if (this.pending === 0 && !this.#writing) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Refuses new writes; what is already accepted is still written. */
  close(): void {
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#writing || this.#scheduled) return;
    this.#scheduled = true;
    // let every request parsed in this tick join the batch
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#writing) return;
    // A Redis that stopped answering keeps the timed-out pipeline's commands in the
    // client's queue; do not pile more behind it: queued jobs time out instead.
    if (!this.#redis.isCluster && (this.#unsettled.get('') ?? 0) >= MAX_UNSETTLED_PIPELINES) return;
    const batch = this.#take();
    if (batch.length === 0) {
      this.#notifyIdle();
      return;
    }
    this.#writing = true;
    const started = performance.now();
    let events = 0;
    for (const j of batch) events += j.size;
    this.#inFlight = events;
    let ok = false;
    try {
      await this.#send(batch);
      ok = true;
      this.#failedBatches = 0;
      for (const j of batch) settle(j);
    } catch (err) {
      const e = err instanceof SinkError ? err : new SinkError('SINK_FAILED', (err as Error).message);
      if (e.code === 'SINK_FAILED') {
        this.#opts.log?.warn({ err: e.message, events }, 'redis write failed');
        this.#failedBatches++;
        this.#lastFailure = e.message;
      }
      for (const j of batch) settle(j, e);
    } finally {
      this.#inFlight = 0;
      this.#writing = false;
      this.#opts.onBatch?.(events, performance.now() - started, ok);
    }
    if (this.#queue.length > 0) void this.#flush();
    else this.#notifyIdle();
  }

  /** Takes up to maxBatch events of jobs that have not timed out yet. */
  #take(): Job[] {
    const batch: Job[] = [];
    let n = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (batch.length > 0 && n + next.size > this.#opts.maxBatch) break;
      this.#queue.shift();
      this.#queued -= next.size;
      if (next.settled) continue;
      batch.push(next);
      n += next.size;
    }
    return batch;
  }

  /**
   * Writes a batch. Commands are grouped by hash tag (a cluster pipeline must stay on
   * one node; stream shards and counter keys carry hash tags for that) and each job
   * settles with the groups it touches: in a cluster, a master that fails over only
   * fails the hits bound for its slots, and the others are still written.
   */
  async #send(batch: Job[]): Promise<void> {
    const cluster = this.#redis.isCluster;
    type Group = { keys: string[]; hits: string[]; cmds: Command[]; jobs: Set<Job> };
    const groups = new Map<string, Group>();
    const group = (job: Job, key: string): Group => {
      const tag = cluster ? slotTag(key) : '';
      let g = groups.get(tag);
      if (!g) groups.set(tag, (g = { keys: [], hits: [], cmds: [], jobs: new Set() }));
      g.jobs.add(job);
      return g;
    };
    const maxLen = String(this.#opts.maxLen);
    for (const job of batch) {
      for (const e of job.entries) {
        const g = group(job, e.key);
        g.keys.push(e.key);
        g.hits.push(e.hit);
      }
      for (const c of job.counters) group(job, c.key).cmds.push(['hincrby', c.key, c.field, 1], ['expire', c.key, c.ttlSeconds]);
    }
    // the XADDs first (in job order, as before), then the counters, then WAITAOF
    for (const g of groups.values()) {
      if (g.keys.length === 0) continue;
      const scripts: Command[] = [];
      for (let i = 0; i < g.keys.length; i += XADD_CHUNK) {
        const keys = g.keys.slice(i, i + XADD_CHUNK);
        scripts.push([XADD_COMMAND, keys.length, ...keys, maxLen, ...g.hits.slice(i, i + XADD_CHUNK)]);
      }
      g.cmds.unshift(...scripts);
    }
    // how many of its groups each job still waits for
    const waiting = new Map<Job, number>();
    for (const g of groups.values()) for (const j of g.jobs) waiting.set(j, (waiting.get(j) ?? 0) + 1);

    const deadline = Math.min(...batch.map((j) => j.deadline));
    const waitAof = this.#opts.waitAof === true;
    if (waitAof) {
      // WAITAOF waits for every earlier write of this connection; its own timeout keeps
      // Redis from holding the connection past our deadline.
      const ms = Math.max(1, deadline - Date.now());
      for (const g of groups.values()) g.cmds.push(['waitaof', 1, 0, ms]);
    }

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      const left = Math.max(1, deadline - Date.now());
      timer = setTimeout(() => reject(new SinkError('SINK_TIMEOUT', 'redis did not acknowledge in time')), left);
    });
    let failed: SinkError | undefined;
    const written = [...groups].map(async ([tag, g]) => {
      if ((this.#unsettled.get(tag) ?? 0) >= MAX_UNSETTLED_PIPELINES) {
        // this node has stopped answering: do not pile more behind it (cluster only;
        // a single node never gets here, #flush waits instead)
        const err = new SinkError('SINK_UNAVAILABLE', 'the redis node of this shard is not answering');
        for (const j of g.jobs) settle(j, err);
        failed ??= err;
        return;
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
        if (g.cmds.length === 1) {
          // one script call (no counters, no WAITAOF): no pipeline object needed
          const [name, ...args] = g.cmds[0]!;
          const send = (this.#redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[name]!;
          results = [[null, await send.apply(this.#redis, args)]];
        } else {
          results = await this.#redis.pipeline(g.cmds).exec();
        }
        if (!results) throw new SinkError('SINK_FAILED', 'pipeline aborted');
        for (const [err] of results) if (err) throw new SinkError('SINK_FAILED', err.message);
        if (waitAof) {
          const synced = results[results.length - 1]![1] as [number, number];
          if (!Array.isArray(synced) || !(synced[0]! >= 1)) throw new SinkError('SINK_TIMEOUT', 'redis did not fsync in time');
        }
        for (const j of g.jobs) {
          const left = waiting.get(j)! - 1;
          waiting.set(j, left);
          if (left === 0) settle(j);
        }
      } catch (err) {
        const e = err instanceof SinkError ? err : new SinkError('SINK_FAILED', (err as Error).message);
        for (const j of g.jobs) settle(j, e);
        failed ??= e;
      } finally {
        clearTimeout(stuck);
        const n = this.#unsettled.get(tag)! - 1;
        if (n === 0) this.#unsettled.delete(tag);
        else this.#unsettled.set(tag, n);
        if (this.#queue.length > 0) this.#schedule();
      }
    });
    try {
      await Promise.race([Promise.all(written), timeout]);
    } finally {
      clearTimeout(timer);
    }
    if (failed) throw failed;
  }

  #startSweeper(): void {
    if (this.#sweeper) return;
    // fine-grained, so a queued hit's 503 comes at most this late after its deadline
    const every = Math.max(5, Math.min(50, Math.floor(this.#opts.timeoutMs / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  /**
   * Fails queued jobs whose deadline passed, so a stuck Redis gives fast 503s.
   * Deadlines grow along the queue (now + timeout at write time): look at the head only.
   */
  #sweep(): void {
    const now = Date.now();
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (!head.settled) {
        if (head.deadline > now) break;
        settle(head, new SinkError('SINK_TIMEOUT', 'redis did not acknowledge in time'));
      }
      this.#queue.shift();
      this.#queued -= head.size;
    }
    if (this.#queue.length === 0 && !this.#writing && this.#sweeper) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (this.pending !== 0 || this.#writing) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

function settle(job: Job, err?: SinkError): void {
  if (job.settled) return;
  job.settled = true;
  if (err) job.reject(err);
  else job.resolve();
}

/** The hash tag of a key (`hits:{3}` → `3`), or the key itself. */
export function slotTag(key: string): string {
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}
