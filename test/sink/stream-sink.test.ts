import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { inject } from 'vitest';
import { FAILING_AFTER_BATCHES } from '../../src/sink/batcher.js';
import { SinkError } from '../../src/sink/sink.js';
import { StreamSink } from '../../src/sink/stream-sink.js';
import { uniquePrefix } from '../helpers/app.js';

describe('StreamSink against a real Redis', () => {
  let redis: Redis;
  const key = uniquePrefix('sink');
  beforeAll(async () => {
    redis = new Redis(inject('redisUrl'), { enableOfflineQueue: false, lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it('resolves only after the entries are in the stream, batching concurrent writes', async () => {
    const batches: number[] = [];
    const sink = new StreamSink(redis, {
      maxPending: 10_000,
      maxBatch: 500,
      timeoutMs: 2000,
      maxLen: 100_000,
      onBatch: (n) => batches.push(n),
    });
    await Promise.all(Array.from({ length: 300 }, (_, i) => sink.write([{ key, hit: JSON.stringify({ i }) }])));
    expect(await redis.xlen(key)).toBe(300);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(300);
    expect(batches.length).toBeLessThan(30); // batched, not one round trip per write
    expect(sink.pending).toBe(0);
  });

  it('refuses at once beyond maxPending (bounded memory)', async () => {
    const sink = new StreamSink(redis, { maxPending: 5, maxBatch: 5, timeoutMs: 2000, maxLen: 1000 });
    const first = sink.write(Array.from({ length: 5 }, () => ({ key, hit: '{}' })));
    await expect(sink.write([{ key, hit: '{}' }])).rejects.toMatchObject({ code: 'SINK_OVERLOADED' });
    await first;
  });

  it('refuses at once when Redis is not connected', async () => {
    const down = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, lazyConnect: true });
    const sink = new StreamSink(down, { maxPending: 5, maxBatch: 5, timeoutMs: 2000, maxLen: 1000 });
    const err = await sink.write([{ key, hit: '{}' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).code).toBe('SINK_UNAVAILABLE');
    down.disconnect();
  });

  it("stores a hit's entries and counters before it resolves", async () => {
    const sink = new StreamSink(redis, { maxPending: 100, maxBatch: 10, timeoutMs: 2000, maxLen: 1000 });
    const k = `${key}:both`;
    await sink.write([{ key: k, hit: '{"n":1}' }], [{ key: `${k}:c`, field: 'page.display', ttlSeconds: 60 }]);
    expect(await redis.xlen(k)).toBe(1);
    expect(await redis.hget(`${k}:c`, 'page.display')).toBe('1');
    await redis.del(k, `${k}:c`);
  });

  it("refused writes: Redis's words in the log, the collector's to the caller; failing after a few, healthy again by a probe", async () => {
    const wrong = `${key}:wrongtype`;
    await redis.set(wrong, 'not a stream');
    const log = { warn: vi.fn() };
    const sink = new StreamSink(redis, {
      maxPending: 100,
      maxBatch: 100,
      timeoutMs: 2000,
      maxLen: 1000,
      log,
      probeKeys: [`${key}:probe-target`],
    });
    expect(await sink.isHealthy()).toBe(true);
    for (let i = 0; i < FAILING_AFTER_BATCHES; i++) {
      expect(sink.failing).toBe(false);
      const err = (await sink.write([{ key: wrong, hit: '{}' }]).catch((e: unknown) => e)) as SinkError;
      expect(err).toBeInstanceOf(SinkError);
      expect(err.code).toBe('SINK_FAILED');
      expect(err.message).toMatch(/WRONGTYPE/);
      expect(err.publicMessage).toBe('the event store refused the write');
    }
    await sink.drain(); // the batch's outcome is counted when it ends, after its jobs were told
    expect(sink.failing).toBe(true);
    expect(log.warn).toHaveBeenCalledTimes(FAILING_AFTER_BATCHES);
    expect(log.warn).toHaveBeenCalledWith({ err: expect.stringMatching(/WRONGTYPE/), events: 1 }, 'redis write failed');
    // Redis takes the probe's write: healthy again without a hit
    expect(await sink.isHealthy()).toBe(true);
    expect(sink.failing).toBe(false);
    await redis.del(wrong);
  });
});
