// The sink the collector uses: a Batcher (queue, limits, deadlines, drain: batcher.ts)
// over a RedisStreamWriter (the Redis commands: redis-stream-writer.ts). Its promise is
// the Sink's (sink.ts): write() resolves only when Redis acknowledged every command of
// the hit; otherwise it rejects quickly with a SinkError, and what waits stays bounded.
import type { Cluster, Redis } from 'ioredis';
import type { FastifyBaseLogger } from 'fastify';
import type { CounterIncrement, StreamEntry } from '../contract/record.js';
import { Batcher } from './batcher.js';
import { RedisStreamWriter, type StreamWrite } from './redis-stream-writer.js';
import type { Sink } from './sink.js';

export interface StreamSinkOptions {
  maxPending: number;
  maxBatch: number;
  timeoutMs: number;
  maxLen: number;
  /**
   * Durable mode: each pipeline ends with WAITAOF 1 0, so a write is acknowledged
   * only once Redis has fsynced it to its append-only file (Redis >= 7.2, appendonly yes).
   */
  waitAof?: boolean;
  /** Replica-acknowledged mode: each pipeline ends with WAIT n (see RedisStreamWriterOptions). */
  waitReplicas?: number;
  /** Called for each group of commands that fewer than waitReplicas replicas acknowledged in time. */
  onReplicasShort?: () => void;
  /** The stream keys: isHealthy() writes a short-lived key in each one's slot while failing. */
  probeKeys?: readonly string[];
  log?: Pick<FastifyBaseLogger, 'warn'>;
  /** Called after every batch (for metrics). */
  onBatch?: (events: number, ms: number, ok: boolean) => void;
}

export class StreamSink implements Sink {
  readonly #batcher: Batcher<StreamWrite>;
  readonly #writer: RedisStreamWriter;

  constructor(redis: Redis | Cluster, opts: StreamSinkOptions) {
    const { maxPending, maxBatch, timeoutMs, log, onBatch, onReplicasShort } = opts;
    const writer = new RedisStreamWriter(redis, {
      maxLen: opts.maxLen,
      timeoutMs,
      waitAof: opts.waitAof,
      waitReplicas: opts.waitReplicas,
      ...(onReplicasShort ? { onReplicasShort: () => onReplicasShort() } : {}),
      probeKeys: opts.probeKeys,
      log,
    });
    this.#writer = writer;
    this.#batcher = new Batcher(writer, {
      maxPending,
      maxBatch,
      timeoutMs,
      onBatch: ({ events, ms, error }) => {
        // Redis's own words, for operators: clients only get the error's publicMessage
        if (error?.code === 'SINK_FAILED') log?.warn({ err: error.message, events }, 'redis write failed');
        onBatch?.(events, ms, error === undefined);
      },
    });
  }

  get pending(): number {
    return this.#batcher.pending;
  }

  get failing(): boolean {
    return this.#batcher.failing;
  }

  isHealthy(): Promise<boolean> {
    return this.#batcher.isHealthy();
  }

  async replicasKeepUp(): Promise<boolean> {
    if (!this.#writer.replicasBehind) return true;
    return this.#writer.probeReplicas().catch(() => false);
  }

  write(entries: readonly StreamEntry[], counters: readonly CounterIncrement[] = []): Promise<void> {
    return this.#batcher.submit({ entries, counters }, entries.length + counters.length);
  }

  drain(): Promise<void> {
    return this.#batcher.drain();
  }

  close(): void {
    this.#batcher.close();
  }
}
