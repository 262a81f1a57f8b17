// The reference downstream consumer: one member of a Redis consumer group over the
// record streams and the erasures stream. Any number of processes share the work
// (each entry is delivered to one of them); an entry left pending by a consumer that
// died is claimed by another after `claimIdleMs` (XAUTOCLAIM).
//
// Exactly-once counting on at-least-once delivery: a record is counted by one Lua
// script that also marks its id as seen (src/aggregate/store.ts), and acknowledged
// (XACK) only after that. A crash between the two makes the entry be delivered again,
// and the script then drops it as a duplicate — as it drops the same record id
// written twice to the streams (the SDK resending a hit).
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AggregateConfig } from '../config/index.js';
import { decodeRecord, decodeTombstone } from '../contract/record.js';
import { streamKeys } from '../contract/keys.js';
import { AggregateStore } from './store.js';

type Entry = [id: string, fields: string[] | null];

export interface AggregatorStats {
  applied: number;
  duplicates: number;
  erasedSkipped: number;
  tombstones: number;
  malformed: number;
  claimed: number;
}

export interface AggregatorHooks {
  /** After a batch is counted and before it is acknowledged (fault injection in tests). */
  beforeAck?: (stats: AggregatorStats) => void;
}

export class Aggregator {
  readonly stats: AggregatorStats = {
    applied: 0,
    duplicates: 0,
    erasedSkipped: 0,
    tombstones: 0,
    malformed: 0,
    claimed: 0,
  };
  readonly store: AggregateStore;
  readonly #redis: Redis | Cluster;
  readonly #cfg: AggregateConfig;
  readonly #log: Logger;
  readonly #hooks: AggregatorHooks;
  readonly #recordStreams: string[];
  readonly #streams: string[];
  readonly #claimCursor = new Map<string, string>();

  constructor(redis: Redis | Cluster, cfg: AggregateConfig, log: Logger, hooks: AggregatorHooks = {}) {
    this.#redis = redis;
    this.#cfg = cfg;
    this.#log = log;
    this.#hooks = hooks;
    this.store = new AggregateStore(redis, cfg.prefix, cfg.retentionMs, cfg.dedupeWindowMs);
    this.#recordStreams = streamKeys(cfg.streamKey, cfg.streamShards);
    this.#streams = [...this.#recordStreams, cfg.erasureStream];
  }

  /** Creates the group on every stream (from the beginning) if it does not exist. */
  async ensureGroups(): Promise<void> {
    for (const key of this.#streams) {
      try {
        await this.#redis.xgroup('CREATE', key, this.#cfg.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!/BUSYGROUP/.test((err as Error).message)) throw err;
      }
      await this.#forgetIdleConsumers(key);
    }
  }

  /** Consumers (named per process) pile up in the group: drop those idle a day with nothing pending. */
  async #forgetIdleConsumers(key: string): Promise<void> {
    const list = (await this.#redis.call('XINFO', 'CONSUMERS', key, this.#cfg.group)) as unknown[];
    for (const item of list) {
      const info = flatMap(item);
      if (
        typeof info.name === 'string' &&
        info.name !== this.#cfg.consumer &&
        Number(info.pending) === 0 &&
        Number(info.idle) > 86_400_000
      ) {
        await this.#redis.xgroup('DELCONSUMER', key, this.#cfg.group, info.name);
      }
    }
  }

  /** One round: claim what dead consumers left, else read new entries. Returns entries handled. */
  async step(block = true): Promise<number> {
    let handled = 0;
    for (const key of this.#streams) handled += await this.#claim(key);
    if (handled > 0) return handled;
    return this.#readNew(block);
  }

  /** Steps until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    await this.ensureGroups();
    while (!signal.aborted) {
      try {
        await this.step();
      } catch (err) {
        // aborted during the step: the loop's test narrowed it, but the await may have changed it
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
        if (signal.aborted) break;
        this.#log.warn({ err: (err as Error).message }, 'aggregation step failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async #claim(key: string): Promise<number> {
    const cursor = this.#claimCursor.get(key) ?? '0-0';
    const res = (await this.#redis.call(
      'XAUTOCLAIM',
      key,
      this.#cfg.group,
      this.#cfg.consumer,
      this.#cfg.claimIdleMs,
      cursor,
      'COUNT',
      this.#cfg.batch,
    )) as [string, Entry[], string[]?];
    this.#claimCursor.set(key, res[0]);
    const entries = res[1];
    if (entries.length === 0) return 0;
    this.stats.claimed += entries.length;
    this.#log.info({ stream: key, entries: entries.length }, 'claimed entries left pending by another consumer');
    await this.#handle(key, entries);
    return entries.length;
  }

  async #readNew(block: boolean): Promise<number> {
    const { group, consumer, batch, blockMs } = this.#cfg;
    // A cluster cannot serve one XREADGROUP over keys of several slots: one call per stream.
    const reads: [string, string[]][] = this.#redis.isCluster
      ? this.#streams.map((k) => [k, [k]])
      : [['*', this.#streams]];
    let handled = 0;
    for (const [, keys] of reads) {
      const blocking = block && !this.#redis.isCluster ? ['BLOCK', blockMs] : [];
      const res = await this.#redis.call(
        'XREADGROUP',
        'GROUP',
        group,
        consumer,
        'COUNT',
        batch,
        ...blocking,
        'STREAMS',
        ...keys,
        ...keys.map(() => '>'),
      );
      for (const [key, entries] of streamReplies(res)) {
        await this.#handle(key, entries);
        handled += entries.length;
      }
    }
    if (handled === 0 && block && this.#redis.isCluster) await new Promise((r) => setTimeout(r, blockMs));
    return handled;
  }

  async #handle(key: string, entries: Entry[]): Promise<void> {
    const isErasures = key === this.#cfg.erasureStream;
    // Sent back to back on one connection: applied in stream order.
    await Promise.all(entries.map(([, fields]) => (isErasures ? this.#tombstone(fields) : this.#record(fields))));
    this.#hooks.beforeAck?.(this.stats);
    await this.#redis.xack(key, this.#cfg.group, ...entries.map(([id]) => id));
  }

  async #record(fields: string[] | null): Promise<void> {
    const rec = decodeRecord(fields);
    if (!rec) {
      if (fields) this.#malformed();
      return; // a deleted entry (erased while pending) has no fields
    }
    const out = await this.store.applyRecord(rec);
    if (out === 'applied') this.stats.applied++;
    else if (out === 'duplicate') this.stats.duplicates++;
    else this.stats.erasedSkipped++;
  }

  async #tombstone(fields: string[] | null): Promise<void> {
    const t = decodeTombstone(fields);
    if (!t) {
      if (fields) this.#malformed();
      return;
    }
    await this.store.applyTombstone(t);
    this.stats.tombstones++;
  }

  #malformed(): void {
    this.stats.malformed++;
    if (this.stats.malformed % 1000 === 1)
      this.#log.warn({ malformed: this.stats.malformed }, 'skipping malformed stream entries');
  }
}

function flatMap(item: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (Array.isArray(item)) for (let i = 0; i + 1 < item.length; i += 2) out[String(item[i])] = item[i + 1];
  return out;
}

/** XREADGROUP replies: a list of [key, entries] (RESP2) or a flat key, entries, … list (RESP3 map). */
function streamReplies(res: unknown): [string, Entry[]][] {
  if (!Array.isArray(res) || res.length === 0) return [];
  if (Array.isArray(res[0])) return res as [string, Entry[]][];
  const out: [string, Entry[]][] = [];
  for (let i = 0; i + 1 < res.length; i += 2) out.push([String(res[i]), res[i + 1] as Entry[]]);
  return out;
}
