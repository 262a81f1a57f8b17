// What the app depends on to store hits: the Sink, and the SinkError it refuses with.
// Its promise: write() resolves only when the store acknowledged every command of the
// hit (so a 2xx means the hit is in the stream); otherwise it rejects quickly with a
// SinkError (503), and what waits for the store stays bounded.
//
// The implementation in use (src/sink/stream-sink.ts) is a Batcher (queue, limits,
// deadlines: src/sink/batcher.ts) over a RedisStreamWriter (the Redis commands:
// src/sink/redis-stream-writer.ts).
import type { CounterIncrement, StreamEntry } from '../contract/record.js';

export interface Sink {
  /**
   * Stores the entries and counter increments of one hit. Resolves once the store
   * acknowledged all of them; rejects with a SinkError otherwise (unavailable,
   * overloaded, timed out, refused, closing). Nothing to write resolves at once.
   */
  write(entries: readonly StreamEntry[], counters?: readonly CounterIncrement[]): Promise<void>;
  /** Events accepted by write() and not yet acknowledged or failed (queued + in flight). */
  readonly pending: number;
  /**
   * True while the store keeps refusing writes (out of memory, read-only replica...):
   * set after FAILING_AFTER_BATCHES refused batches in a row, cleared by the next
   * batch or isHealthy() check that goes through. Synchronous, for metrics.
   */
  readonly failing: boolean;
  /**
   * Whether writes go through, for readiness: true while not failing; while failing,
   * tries a small write in the slot of every stream (the store refuses it as it
   * refuses the real ones), so the sink comes back by itself once the store takes
   * writes again, even with no hit arriving to find out.
   */
  isHealthy(): Promise<boolean>;
  /**
   * Whether the store's replicas keep up, for readiness: true when no replica
   * acknowledgement is asked for (SINK_WAIT_REPLICAS=0) or the last waits got it; while
   * several waits in a row came back short, tries a write and a wait in the slot of
   * every stream, so it comes back once the replicas have caught up.
   */
  replicasKeepUp(): Promise<boolean>;
  /** Resolves when nothing is queued or in flight (for graceful shutdown). */
  drain(): Promise<void>;
  /** Refuses new writes (SINK_CLOSED); what is already accepted is still written. */
  close(): void;
}

export type SinkErrorCode =
  'SINK_UNAVAILABLE' | 'SINK_OVERLOADED' | 'SINK_TIMEOUT' | 'SINK_NOT_REPLICATED' | 'SINK_FAILED' | 'SINK_CLOSED';

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
  SINK_NOT_REPLICATED: 'the event store did not copy the write to its replicas in time',
  SINK_FAILED: 'the event store refused the write',
  SINK_CLOSED: 'the collector is shutting down',
};

/** Any rejection as a SinkError: one that is not already is the store refusing the write (SINK_FAILED). */
export function asSinkError(err: unknown): SinkError {
  return err instanceof SinkError
    ? err
    : new SinkError('SINK_FAILED', err instanceof Error ? err.message : String(err));
}
