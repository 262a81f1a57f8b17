// The queue in front of the store: limits, deadlines, batching, drain and close, over
// any BatchWriter (src/sink/redis-stream-writer.ts is the one in use).
//
// Batching: jobs that arrive while a batch is in flight wait in a queue and go out
// together as soon as that batch is acknowledged ("flush when the previous write was
// acknowledged"), so batches grow with load and no timer adds latency when idle.
//
// Bounds: at most maxPending events wait (beyond, SINK_OVERLOADED at once); each job
// has a deadline timeoutMs after it was accepted (SINK_TIMEOUT then, queued or in
// flight); a writer that reports itself saturated gets no new batch, so queued jobs
// time out instead of piling up behind an unanswered connection.
//
// A batch is split by the writer into groups (on Redis Cluster, one per hash tag, i.e.
// per node): each job settles with the groups it touches, so a failing node only
// fails the jobs bound for it.
import { asSinkError, SinkError } from './sink.js';

/** After this many batches in a row refused by the store (SINK_FAILED), the sink reports itself failing. */
export const FAILING_AFTER_BATCHES = 3;

/** One group of commands of a batch, as the writer sent it. */
export interface GroupWrite {
  /** The jobs whose commands the group carries, as indices into the batch (each once). */
  readonly jobs: readonly number[];
  /**
   * Resolves when the store acknowledged every command of the group; rejects otherwise
   * (a SinkError, or any error: SINK_FAILED). Settles when the store answers, which may
   * be after the batch's deadline: the writer accounts for its unanswered groups.
   */
  readonly done: Promise<void>;
}

/** The mechanism that writes batches: the batcher decides what goes out and when. */
export interface BatchWriter<T> {
  /** Why nothing can be written right now (submit refuses at once: SINK_UNAVAILABLE), or undefined. */
  readonly unavailable: string | undefined;
  /**
   * True while no new batch may go out (too many unanswered writes on the connection):
   * the batcher keeps its queue, which times out, and retries when a group settles.
   */
  readonly saturated: boolean;
  /** Sends a batch; `deadline` (epoch ms) is the earliest deadline of its jobs. */
  write(batch: readonly T[], deadline: number): readonly GroupWrite[];
  /** A small write the store refuses as it refuses the real ones; resolves when it went through. */
  probe(): Promise<void>;
}

export interface BatchOutcome {
  events: number;
  /** From the batch going out to its settlement (acknowledged, refused or timed out). */
  ms: number;
  /** Undefined when every job of the batch was acknowledged. */
  error?: SinkError;
}

export interface BatcherOptions {
  /** Events accepted and not yet settled, at most. */
  maxPending: number;
  /** Events per batch, at most (a larger single job goes out alone). */
  maxBatch: number;
  /** Each job's deadline, from its submission. */
  timeoutMs: number;
  /** Called after every batch (metrics, logs). */
  onBatch?: (outcome: BatchOutcome) => void;
}

interface Job<T> {
  item: T;
  size: number;
  deadline: number;
  settled: boolean;
  resolve: () => void;
  reject: (err: SinkError) => void;
}

export class Batcher<T> {
  readonly #writer: BatchWriter<T>;
  readonly #opts: BatcherOptions;
  readonly #queue: Job<T>[] = [];
  #queued = 0; // events waiting in #queue
  #inFlight = 0; // events in the batch being written
  #writing = false;
  #scheduled = false;
  #closed = false;
  #sweeper: NodeJS.Timeout | undefined;
  #idleWaiters: (() => void)[] = [];
  #failedBatches = 0;

  constructor(writer: BatchWriter<T>, opts: BatcherOptions) {
    this.#writer = writer;
    this.#opts = opts;
  }

  /** Events accepted by submit() and not yet acknowledged or failed. */
  get pending(): number {
    return this.#queued + this.#inFlight;
  }

  /** True after FAILING_AFTER_BATCHES batches in a row refused (SINK_FAILED), until a batch or a probe goes through. */
  get failing(): boolean {
    return this.#failedBatches >= FAILING_AFTER_BATCHES;
  }

  /** True unless failing; while failing, probes the writer, and a probe that goes through clears it. */
  async isHealthy(): Promise<boolean> {
    if (!this.failing) return true;
    try {
      await this.#writer.probe();
      this.#failedBatches = 0;
      return true;
    } catch {
      return false;
    }
  }

  /** Queues `item` (`size` events); resolves when the writer acknowledged all of it. */
  submit(item: T, size: number): Promise<void> {
    if (size <= 0) return Promise.resolve();
    if (this.#closed) return Promise.reject(new SinkError('SINK_CLOSED', 'shutting down'));
    const unavailable = this.#writer.unavailable;
    if (unavailable !== undefined) return Promise.reject(new SinkError('SINK_UNAVAILABLE', unavailable));
    if (this.pending + size > this.#opts.maxPending) {
      return Promise.reject(new SinkError('SINK_OVERLOADED', 'too many events waiting for the store'));
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, size, deadline: Date.now() + this.#opts.timeoutMs, settled: false, resolve, reject });
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

  /** Refuses new jobs (SINK_CLOSED); what is already accepted is still written. */
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
    // A store that stopped answering keeps the unanswered commands in the client's
    // queue; do not pile more behind them: queued jobs time out instead, and the next
    // group to settle schedules a flush again.
    if (this.#writer.saturated) return;
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
    let error: SinkError | undefined;
    try {
      await this.#send(batch);
      this.#failedBatches = 0;
    } catch (err) {
      error = asSinkError(err);
      if (error.code === 'SINK_FAILED') this.#failedBatches++;
    }
    // jobs not settled by their groups yet: all of them acknowledged, or the batch's error
    for (const j of batch) settle(j, error);
    this.#inFlight = 0;
    this.#writing = false;
    this.#opts.onBatch?.({ events, ms: performance.now() - started, ...(error ? { error } : {}) });
    if (this.#queue.length > 0) void this.#flush();
    else this.#notifyIdle();
  }

  /** Takes up to maxBatch events of jobs that have not timed out yet. */
  #take(): Job<T>[] {
    const batch: Job<T>[] = [];
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
   * Hands the batch to the writer and settles each job as its groups settle. Throws
   * the first group's error, or SINK_TIMEOUT when the earliest deadline of the batch
   * passes first (groups still unanswered are then left to the writer's accounting).
   */
  async #send(batch: Job<T>[]): Promise<void> {
    let deadline = Infinity;
    for (const j of batch) deadline = Math.min(deadline, j.deadline);
    const groups = this.#writer.write(
      batch.map((j) => j.item),
      deadline,
    );
    // how many of its groups each job still waits for
    const waiting = new Array<number>(batch.length).fill(0);
    for (const g of groups) for (const i of g.jobs) waiting[i]!++;
    let failed: SinkError | undefined;
    const written = groups.map((g) =>
      g.done
        .then(
          () => {
            for (const i of g.jobs) if (--waiting[i]! === 0) settle(batch[i]!);
          },
          (err: unknown) => {
            const e = asSinkError(err);
            for (const i of g.jobs) settle(batch[i]!, e);
            failed ??= e;
          },
        )
        .finally(() => {
          // also after the deadline: a settled group may end the writer's saturation
          if (this.#queue.length > 0) this.#schedule();
        }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      const left = Math.max(1, deadline - Date.now());
      timer = setTimeout(() => reject(new SinkError('SINK_TIMEOUT', 'not acknowledged in time')), left);
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
    // fine-grained, so a queued job's 503 comes at most this late after its deadline
    const every = Math.max(5, Math.min(50, Math.floor(this.#opts.timeoutMs / 4)));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    this.#sweeper.unref();
  }

  /**
   * Fails queued jobs whose deadline passed, so a stuck store gives fast 503s.
   * Deadlines grow along the queue (now + timeout at submission): look at the head only.
   */
  #sweep(): void {
    const now = Date.now();
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      if (!head.settled) {
        if (head.deadline > now) break;
        settle(head, new SinkError('SINK_TIMEOUT', 'not acknowledged in time'));
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

/** Settles a job once: a job settled by its deadline is not settled again by a late reply. */
function settle<T>(job: Job<T>, err?: SinkError): void {
  if (job.settled) return;
  job.settled = true;
  if (err) job.reject(err);
  else job.resolve();
}
