import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { shardKey, streamKeys } from '../../src/contract/keys.js';
import { SinkError, slotTag, StreamSink } from '../../src/sink/stream-sink.js';
import { uniquePrefix } from '../helpers/app.js';

describe('StreamSink against a real Redis', () => {
  let redis: Redis;
  const key = uniquePrefix('sink');
  beforeAll(async () => {
    redis = new Redis(inject('redisUrl'), { enableOfflineQueue: false, lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    await redis.del(key, `${key}:c`);
    redis.disconnect();
  });

  it('resolves only after the entries are in the stream, batching concurrent writes', async () => {
    const batches: number[] = [];
    const sink = new StreamSink(redis, { maxPending: 10_000, maxBatch: 500, timeoutMs: 2000, maxLen: 100_000, onBatch: (n) => batches.push(n) });
    await Promise.all(Array.from({ length: 300 }, (_, i) => sink.write([{ key, hit: JSON.stringify({ i }) }])));
    expect(await redis.xlen(key)).toBe(300);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(300);
    expect(batches.length).toBeLessThan(30); // batched, not one round trip per write
    expect(sink.pending).toBe(0);
  });

  it('writes counters with their expiry', async () => {
    const sink = new StreamSink(redis, { maxPending: 100, maxBatch: 10, timeoutMs: 2000, maxLen: 1000 });
    await sink.write([], [{ key: `${key}:c`, field: 'page.display', ttlSeconds: 60 }]);
    expect(await redis.hget(`${key}:c`, 'page.display')).toBe('1');
    expect(await redis.ttl(`${key}:c`)).toBeGreaterThan(0);
  });

  it('refuses at once beyond maxPending (bounded memory)', async () => {
    const sink = new StreamSink(redis, { maxPending: 5, maxBatch: 5, timeoutMs: 2000, maxLen: 1000 });
    const first = sink.write(Array.from({ length: 5 }, () => ({ key, hit: '{}' })));
    await expect(sink.write([{ key, hit: '{}' }])).rejects.toMatchObject({ code: 'SINK_OVERLOADED' });
    await first;
  });

  it('writes a batch of XADDs as script calls: every entry, in order, with the same fields, even past one call\'s chunk', async () => {
    const k = `${key}:script`;
    const other = `${key}:script2`;
    const sink = new StreamSink(redis, { maxPending: 10_000, maxBatch: 5000, timeoutMs: 5000, maxLen: 100_000 });
    // one write of 2500 entries over two keys: three script calls (chunks of 1000), one batch
    const entries = Array.from({ length: 2500 }, (_, i) => ({ key: i % 2 ? other : k, hit: JSON.stringify({ i }) }));
    await sink.write(entries);
    const read = async (kk: string) => (await redis.xrange(kk, '-', '+')).map(([, f]) => f);
    const [a, b] = [await read(k), await read(other)];
    expect(a).toHaveLength(1250);
    expect(b).toHaveLength(1250);
    expect(a[0]).toEqual(['v', '1', 'hit', '{"i":0}']);
    expect(a.map((f) => JSON.parse(f[3]!).i)).toEqual(Array.from({ length: 1250 }, (_, i) => 2 * i));
    expect(b.map((f) => JSON.parse(f[3]!).i)).toEqual(Array.from({ length: 1250 }, (_, i) => 2 * i + 1));
    await redis.del(k, other);
  });

  it('a Redis error inside the script fails the batch with a 503 code (entries before it may stay: at-least-once)', async () => {
    const k = `${key}:ok`;
    const wrong = `${key}:wrongtype`;
    await redis.set(wrong, 'not a stream');
    const sink = new StreamSink(redis, { maxPending: 100, maxBatch: 100, timeoutMs: 2000, maxLen: 1000 });
    const err = await sink.write([{ key: k, hit: '{"n":1}' }, { key: wrong, hit: '{"n":2}' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).code).toBe('SINK_FAILED');
    expect(await redis.xlen(k)).toBe(1); // applied before the failing XADD: consumers dedupe by record id
    // the sink keeps working afterwards
    await sink.write([{ key: k, hit: '{"n":3}' }]);
    expect(await redis.xlen(k)).toBe(2);
    await redis.del(k, wrong);
  });

  it('refuses at once when Redis is not connected', async () => {
    const down = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, lazyConnect: true });
    const sink = new StreamSink(down, { maxPending: 5, maxBatch: 5, timeoutMs: 2000, maxLen: 1000 });
    const err = await sink.write([{ key, hit: '{}' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).code).toBe('SINK_UNAVAILABLE');
    down.disconnect();
  });
});

describe('shards', () => {
  it('uses hash-tagged keys and keeps one visitor on one shard', () => {
    const keys = streamKeys('hits', 4);
    expect(keys).toEqual(['hits:{0}', 'hits:{1}', 'hits:{2}', 'hits:{3}']);
    expect(streamKeys('hits', 1)).toEqual(['hits']);
    const a = shardKey(keys, 'k1.visitorA', 'id1');
    for (let i = 0; i < 20; i++) expect(shardKey(keys, 'k1.visitorA', `id${i}`)).toBe(a);
    const used = new Set(Array.from({ length: 200 }, (_, i) => shardKey(keys, `k1.v${i}`, 'x')));
    expect(used.size).toBe(4);
    expect(slotTag('hits:{3}')).toBe('3');
    expect(slotTag('optout:{site}:2026-11-29T14')).toBe('site');
  });
});
