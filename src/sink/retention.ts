// CNIL: records are kept at most 25 months (STREAM_RETENTION, checked at start).
// The length cap on XADD (MAXLEN ~) bounds memory; this bounds age: every stream
// shard (and the erasures stream) is trimmed with XTRIM MINID to now − retention.
//
// Stream ids are `<ms>-<seq>` of the Redis clock, so MINID by age is exact. The
// trim is done in two steps: `MINID ~ … LIMIT` rounds that drop whole radix-tree
// nodes cheaply (a first trim of a large backlog never blocks Redis for long),
// then one exact `MINID =` that removes the last entries older than the limit which
// `~` leaves behind (at most one node, 100 entries by default) — so nothing older
// than the limit survives a run, and nothing newer is touched.
//
// Idempotent: every replica may run it; only one needs to.
import type { Cluster, Redis } from 'ioredis';
import type { FastifyBaseLogger as Logger } from 'fastify';

/** Entries removed per `~` round. */
const ROUND_LIMIT = 10_000;
/** Most `~` rounds per stream per run; the exact step removes what is left anyway. */
const MAX_ROUNDS = 100;

export interface RetentionOptions {
  keys: readonly string[];
  retentionMs: number;
  /** 0: no periodic run (trimOnce can still be called). */
  intervalMs: number;
  log?: Logger;
  now?: () => number;
  /** Called after every run with the number of entries removed (for metrics). */
  onTrimmed?: (entries: number) => void;
}

export class RetentionTrimmer {
  readonly #redis: Redis | Cluster;
  readonly #opts: RetentionOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(redis: Redis | Cluster, opts: RetentionOptions) {
    this.#redis = redis;
    this.#opts = opts;
  }

  /** The smallest stream id that is kept. */
  minId(now = (this.#opts.now ?? Date.now)()): string {
    return `${Math.max(0, Math.floor(now - this.#opts.retentionMs))}-0`;
  }

  /** Trims every stream once; resolves to the number of entries removed. */
  trimOnce(): Promise<number> {
    this.#running ??= this.#trimAll().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #trimAll(): Promise<number> {
    const minId = this.minId();
    let removed = 0;
    for (const key of this.#opts.keys) {
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const n = Number(await this.#redis.call('XTRIM', key, 'MINID', '~', minId, 'LIMIT', ROUND_LIMIT));
        removed += n;
        if (n < ROUND_LIMIT) break;
      }
      removed += Number(await this.#redis.call('XTRIM', key, 'MINID', '=', minId));
    }
    if (removed > 0) this.#opts.log?.info({ removed, minId }, 'streams trimmed by age');
    this.#opts.onTrimmed?.(removed);
    return removed;
  }

  /** Runs now, then every intervalMs; failures are logged and retried at the next tick. */
  start(): void {
    if (this.#opts.intervalMs <= 0 || this.#timer) return;
    const tick = () => {
      if (this.#redis.status !== 'ready') return;
      this.trimOnce().catch((err: Error) => this.#opts.log?.warn({ err: err.message }, 'retention trim failed'));
    };
    this.#timer = setInterval(tick, this.#opts.intervalMs);
    this.#timer.unref();
    setImmediate(tick);
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }
}
