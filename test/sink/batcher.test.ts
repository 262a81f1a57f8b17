// The batcher with a fake writer and fake timers: no Redis, no sleeps. Every time below
// is the fake clock's.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type BatchOutcome,
  Batcher,
  type BatcherOptions,
  type BatchWriter,
  FAILING_AFTER_BATCHES,
  type GroupWrite,
} from '../../src/sink/batcher.js';
import { SinkError } from '../../src/sink/sink.js';

/** A job's payload: its name and the groups (nodes) its commands go to. */
interface Item {
  name: string;
  groups: string[];
}

interface Group {
  name: string;
  jobs: number[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface SentBatch {
  items: Item[];
  deadline: number;
  groups: Group[];
  /** Acknowledges every group of the batch. */
  ack(): void;
  /** Fails every group of the batch. */
  fail(err: unknown): void;
}

class FakeWriter implements BatchWriter<Item> {
  unavailable: string | undefined;
  saturated = false;
  readonly batches: SentBatch[] = [];
  probeError: Error | undefined;
  readonly probe = vi.fn(async () => {
    if (this.probeError) throw this.probeError;
  });

  write(batch: readonly Item[], deadline: number): GroupWrite[] {
    const byName = new Map<string, Group>();
    const writes: GroupWrite[] = [];
    batch.forEach((item, i) => {
      for (const name of item.groups) {
        let g = byName.get(name);
        if (!g) {
          let resolve!: () => void;
          let reject!: (err: unknown) => void;
          const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
          g = { name, jobs: [], resolve, reject };
          byName.set(name, g);
          writes.push({ jobs: g.jobs, done });
        }
        if (!g.jobs.includes(i)) g.jobs.push(i);
      }
    });
    const groups = [...byName.values()];
    this.batches.push({
      items: [...batch],
      deadline,
      groups,
      ack: () => groups.forEach((g) => g.resolve()),
      fail: (err) => groups.forEach((g) => g.reject(err)),
    });
    return writes;
  }

  last(): SentBatch {
    return this.batches.at(-1)!;
  }
}

/** A promise's state, readable at any time. */
function track(p: Promise<void>) {
  const s: { state: 'pending' | 'resolved' | 'rejected'; error?: SinkError } = { state: 'pending' };
  p.then(
    () => (s.state = 'resolved'),
    (e: SinkError) => {
      s.state = 'rejected';
      s.error = e;
    },
  );
  return s;
}

const item = (name: string, ...groups: string[]): Item => ({ name, groups: groups.length ? groups : ['node'] });
/** Lets the scheduled flush (setImmediate) and every settled promise run, without moving the clock. */
const tick = () => vi.advanceTimersByTimeAsync(0);
const names = (b: SentBatch) => b.items.map((i) => i.name);

describe('Batcher', () => {
  let writer: FakeWriter;
  let outcomes: BatchOutcome[];
  const make = (opts: Partial<BatcherOptions> = {}) =>
    new Batcher<Item>(writer, {
      maxPending: 100,
      maxBatch: 10,
      timeoutMs: 500,
      onBatch: (o) => outcomes.push(o),
      ...opts,
    });

  beforeEach(() => {
    vi.useFakeTimers();
    writer = new FakeWriter();
    outcomes = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('acknowledgement', () => {
    it('sends what arrives in one tick as one batch, and resolves each job only once acknowledged', async () => {
      const b = make();
      const jobs = ['a', 'b', 'c'].map((n) => track(b.submit(item(n), 1)));
      expect(writer.batches).toHaveLength(0); // nothing sent synchronously
      await tick();
      expect(writer.batches.map(names)).toEqual([['a', 'b', 'c']]);
      expect(b.pending).toBe(3);
      expect(jobs.map((j) => j.state)).toEqual(['pending', 'pending', 'pending']);
      writer.last().ack();
      await tick();
      expect(jobs.map((j) => j.state)).toEqual(['resolved', 'resolved', 'resolved']);
      expect(b.pending).toBe(0);
      expect(outcomes).toEqual([{ events: 3, ms: 0 }]);
    });

    it('resolves a job only when every group it touched is acknowledged', async () => {
      const b = make();
      const both = track(b.submit(item('both', 'n1', 'n2'), 2));
      await tick();
      const [g1, g2] = writer.last().groups;
      g1!.resolve();
      await tick();
      expect(both.state).toBe('pending');
      g2!.resolve();
      await tick();
      expect(both.state).toBe('resolved');
    });

    it('a failing group fails only the jobs bound for it; the others are acknowledged (Redis Cluster: one master fails over)', async () => {
      const b = make();
      const one = track(b.submit(item('one', 'n1'), 1));
      const two = track(b.submit(item('two', 'n2'), 1));
      const both = track(b.submit(item('both', 'n1', 'n2'), 2));
      await tick();
      const [g1, g2] = writer.last().groups;
      expect(g1!.jobs).toEqual([0, 2]);
      g1!.reject(new Error('MOVED 3999 127.0.0.1:6381'));
      g2!.resolve();
      await tick();
      expect(one).toMatchObject({ state: 'rejected', error: { code: 'SINK_FAILED' } });
      expect(both).toMatchObject({ state: 'rejected', error: { code: 'SINK_FAILED' } });
      expect(two.state).toBe('resolved');
      expect(outcomes).toEqual([{ events: 4, ms: 0, error: expect.any(SinkError) }]);
    });

    it("keeps the store's words in message, the collector's in publicMessage; a SinkError from the writer keeps its code", async () => {
      const b = make();
      const refused = track(b.submit(item('x'), 1));
      await tick();
      writer.last().fail(new Error("OOM command not allowed when used memory > 'maxmemory'."));
      await tick();
      expect(refused.error).toBeInstanceOf(SinkError);
      expect(refused.error!.message).toMatch(/^OOM command not allowed/);
      expect(refused.error!.publicMessage).toBe('the event store refused the write');

      const unavailable = track(b.submit(item('y'), 1));
      await tick();
      writer.last().fail(new SinkError('SINK_UNAVAILABLE', 'the redis node of this shard is not answering'));
      await tick();
      expect(unavailable.error).toMatchObject({
        code: 'SINK_UNAVAILABLE',
        publicMessage: 'the event store is not reachable',
      });
    });

    it('a writer that throws fails the whole batch (SINK_FAILED), and the batcher goes on', async () => {
      const b = make();
      const write = vi.spyOn(writer, 'write').mockImplementationOnce(() => {
        throw new Error('cannot build the commands');
      });
      const job = track(b.submit(item('x'), 1));
      await tick();
      expect(job).toMatchObject({
        state: 'rejected',
        error: { code: 'SINK_FAILED', message: 'cannot build the commands' },
      });
      write.mockRestore();
      const next = track(b.submit(item('y'), 1));
      await tick();
      writer.last().ack();
      await tick();
      expect(next.state).toBe('resolved');
    });

    it('resolves a write of nothing at once, without a batch', async () => {
      const b = make();
      await expect(b.submit(item('empty'), 0)).resolves.toBeUndefined();
      await tick();
      expect(writer.batches).toHaveLength(0);
    });
  });

  describe('batching', () => {
    it('batches grow while a write is in flight, and go out when it is acknowledged', async () => {
      const b = make({ maxBatch: 100 });
      const first = track(b.submit(item('first'), 1));
      await tick();
      const later = Array.from({ length: 10 }, (_, i) => track(b.submit(item(`j${i}`), 1)));
      await tick();
      vi.advanceTimersByTime(20);
      await tick();
      expect(writer.batches).toHaveLength(1); // nothing more goes out while the first is unanswered
      expect(b.pending).toBe(11);
      writer.last().ack();
      await tick();
      expect(first.state).toBe('resolved');
      expect(writer.batches).toHaveLength(2);
      expect(names(writer.last())).toEqual(later.map((_, i) => `j${i}`));
      writer.last().ack();
      await tick();
      expect(later.every((j) => j.state === 'resolved')).toBe(true);
      expect(outcomes.map((o) => o.events)).toEqual([1, 10]);
      expect(outcomes[0]!.ms).toBe(20);
    });

    it('takes at most maxBatch events per batch, in order; a larger job goes out alone', async () => {
      const b = make({ maxBatch: 4 });
      for (const n of ['a', 'b', 'c', 'd', 'e']) void b.submit(item(n), 1);
      void b.submit(item('big'), 6);
      void b.submit(item('f'), 1);
      for (let i = 0; i < 4; i++) {
        await tick();
        writer.last().ack();
      }
      await tick();
      expect(writer.batches.map(names)).toEqual([['a', 'b', 'c', 'd'], ['e'], ['big'], ['f']]);
      expect(b.pending).toBe(0);
    });

    it('gives the writer the earliest deadline of the batch', async () => {
      const b = make({ timeoutMs: 500 });
      const start = Date.now();
      void b.submit(item('a'), 1);
      await tick();
      vi.advanceTimersByTime(100);
      void b.submit(item('b'), 1);
      vi.advanceTimersByTime(100);
      void b.submit(item('c'), 1);
      writer.last().ack();
      await tick();
      expect(writer.batches.map((x) => x.deadline - start)).toEqual([500, 600]);
    });
  });

  describe('bounds', () => {
    it('refuses at once beyond maxPending (SINK_OVERLOADED), counting queued and in-flight events', async () => {
      const b = make({ maxPending: 5 });
      const first = track(b.submit(item('a'), 3));
      await tick();
      const second = track(b.submit(item('b'), 2)); // queued behind the first: 5 pending
      await expect(b.submit(item('c'), 1)).rejects.toMatchObject({
        code: 'SINK_OVERLOADED',
        publicMessage: 'too many hits are waiting for the event store',
      });
      expect(b.pending).toBe(5);
      writer.last().ack();
      await tick();
      expect(first.state).toBe('resolved');
      expect(b.pending).toBe(2);
      const third = track(b.submit(item('c'), 3)); // room again
      writer.last().ack();
      await tick();
      writer.last().ack();
      await tick();
      expect([second.state, third.state]).toEqual(['resolved', 'resolved']);
    });

    it("refuses at once while the writer is unavailable (SINK_UNAVAILABLE, the writer's reason in message)", async () => {
      const b = make();
      writer.unavailable = 'redis is reconnecting';
      await expect(b.submit(item('a'), 1)).rejects.toMatchObject({
        code: 'SINK_UNAVAILABLE',
        message: 'redis is reconnecting',
      });
      expect(b.pending).toBe(0);
      writer.unavailable = undefined;
      const ok = track(b.submit(item('b'), 1));
      await tick();
      writer.last().ack();
      await tick();
      expect(ok.state).toBe('resolved');
    });

    it('an unanswered batch gets SINK_TIMEOUT at its deadline, not before', async () => {
      const b = make({ timeoutMs: 500 });
      const job = track(b.submit(item('a'), 1));
      await tick();
      await vi.advanceTimersByTimeAsync(499);
      expect(job.state).toBe('pending');
      await vi.advanceTimersByTimeAsync(1);
      expect(job).toMatchObject({ state: 'rejected', error: { code: 'SINK_TIMEOUT' } });
      expect(b.pending).toBe(0);
      expect(outcomes).toEqual([{ events: 1, ms: 500, error: expect.objectContaining({ code: 'SINK_TIMEOUT' }) }]);
    });

    it('a job queued behind a stuck batch times out on its own deadline, even with the writer saturated', async () => {
      const b = make({ timeoutMs: 500 }); // the sweeper looks every 50 ms
      const first = track(b.submit(item('a'), 1));
      await tick();
      writer.saturated = true; // e.g. two pipelines unanswered on a single node
      await vi.advanceTimersByTimeAsync(200);
      const queued = track(b.submit(item('b'), 1));
      await vi.advanceTimersByTimeAsync(300);
      expect(first.error?.code).toBe('SINK_TIMEOUT');
      expect(writer.batches).toHaveLength(1); // the saturated writer got nothing more
      await vi.advanceTimersByTimeAsync(199);
      expect(queued.state).toBe('pending');
      expect(b.pending).toBe(1);
      await vi.advanceTimersByTimeAsync(1 + 50); // deadline 700 ms, swept within 50 ms of it
      expect(queued).toMatchObject({ state: 'rejected', error: { code: 'SINK_TIMEOUT' } });
      expect(b.pending).toBe(0);
      expect(writer.batches).toHaveLength(1);
    });

    it('a job settled by its deadline is not settled again by a late answer; the late answer lets the queue go out', async () => {
      const b = make({ timeoutMs: 500 });
      const first = track(b.submit(item('a'), 1));
      await tick();
      writer.saturated = true;
      await vi.advanceTimersByTimeAsync(400);
      const second = track(b.submit(item('b'), 1));
      await vi.advanceTimersByTimeAsync(100);
      expect(first.error?.code).toBe('SINK_TIMEOUT');
      // Redis answers the first batch late: its connection is free again
      writer.saturated = false;
      writer.batches[0]!.ack();
      await tick();
      expect(first.state).toBe('rejected');
      expect(outcomes).toHaveLength(1);
      expect(writer.batches.map(names)).toEqual([['a'], ['b']]);
      writer.last().ack();
      await tick();
      expect(second.state).toBe('resolved');
      expect(b.pending).toBe(0);
      expect(outcomes.map((o) => o.error?.code)).toEqual(['SINK_TIMEOUT', undefined]);
    });
  });

  describe('drain and close', () => {
    it('drain resolves at once when idle, else when everything queued and in flight is settled', async () => {
      const b = make();
      await b.drain();
      const a = track(b.submit(item('a'), 1));
      await tick();
      const c = track(b.submit(item('c'), 1));
      let drained = false;
      void b.drain().then(() => (drained = true));
      writer.last().ack();
      await tick();
      expect(a.state).toBe('resolved');
      expect(drained).toBe(false); // c is in flight now
      writer.last().ack();
      await tick();
      expect(c.state).toBe('resolved');
      expect(drained).toBe(true);
    });

    it('drain also ends when the queue times out behind a saturated writer', async () => {
      const b = make({ timeoutMs: 500 });
      writer.saturated = true;
      const a = track(b.submit(item('a'), 1));
      let drained = false;
      void b.drain().then(() => (drained = true));
      await vi.advanceTimersByTimeAsync(550);
      expect(a.error?.code).toBe('SINK_TIMEOUT');
      expect(drained).toBe(true);
      expect(writer.batches).toHaveLength(0);
    });

    it('close refuses new writes (SINK_CLOSED) but writes what it accepted', async () => {
      const b = make({ maxBatch: 1 });
      const a = track(b.submit(item('a'), 1));
      await tick();
      const c = track(b.submit(item('c'), 1)); // queued
      b.close();
      await expect(b.submit(item('late'), 1)).rejects.toMatchObject({
        code: 'SINK_CLOSED',
        publicMessage: 'the collector is shutting down',
      });
      let drained = false;
      void b.drain().then(() => (drained = true));
      writer.last().ack();
      await tick();
      writer.last().ack();
      await tick();
      expect(writer.batches.map(names)).toEqual([['a'], ['c']]);
      expect([a.state, c.state]).toEqual(['resolved', 'resolved']);
      expect(drained).toBe(true);
    });
  });

  describe('failing writes, for readiness', () => {
    const refuse = async (b: Batcher<Item>, err: unknown = new Error('OOM command not allowed')) => {
      const job = track(b.submit(item('x'), 1));
      await tick();
      writer.last().fail(err);
      await tick();
      return job;
    };
    const accept = async (b: Batcher<Item>) => {
      void b.submit(item('y'), 1);
      await tick();
      writer.last().ack();
      await tick();
    };

    it(`is failing after ${FAILING_AFTER_BATCHES} refused batches in a row; one acknowledged batch clears it`, async () => {
      const b = make();
      for (let i = 0; i < FAILING_AFTER_BATCHES - 1; i++) await refuse(b);
      expect(b.failing).toBe(false);
      await accept(b); // the count starts again
      for (let i = 0; i < FAILING_AFTER_BATCHES - 1; i++) await refuse(b);
      expect(b.failing).toBe(false);
      await refuse(b);
      expect(b.failing).toBe(true);
      await accept(b);
      expect(b.failing).toBe(false);
    });

    it('counts only refusals (SINK_FAILED): timeouts and unavailable nodes are not the store refusing writes', async () => {
      const b = make({ timeoutMs: 500 });
      for (let i = 0; i < FAILING_AFTER_BATCHES; i++)
        await refuse(b, new SinkError('SINK_UNAVAILABLE', 'node not answering'));
      for (let i = 0; i < FAILING_AFTER_BATCHES; i++) {
        void b.submit(item('t'), 1).catch(() => undefined);
        await vi.advanceTimersByTimeAsync(500);
      }
      expect(outcomes.map((o) => o.error?.code)).toEqual([
        ...Array(FAILING_AFTER_BATCHES).fill('SINK_UNAVAILABLE'),
        ...Array(FAILING_AFTER_BATCHES).fill('SINK_TIMEOUT'),
      ]);
      expect(b.failing).toBe(false);
    });

    it('isHealthy: true without probing while not failing; while failing, a probe that goes through clears it', async () => {
      const b = make();
      expect(await b.isHealthy()).toBe(true);
      expect(writer.probe).not.toHaveBeenCalled();
      for (let i = 0; i < FAILING_AFTER_BATCHES; i++) await refuse(b);
      writer.probeError = new Error('OOM command not allowed');
      expect(await b.isHealthy()).toBe(false);
      expect(b.failing).toBe(true);
      writer.probeError = undefined;
      expect(await b.isHealthy()).toBe(true);
      expect(b.failing).toBe(false);
      expect(writer.probe).toHaveBeenCalledTimes(2);
    });
  });
});
