import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { shardKey, streamKeys } from '../../src/contract/keys.js';
import type { GroupWrite } from '../../src/sink/batcher.js';
import {
  MAX_UNSETTLED_PIPELINES,
  RedisStreamWriter,
  REPLICAS_BEHIND_AFTER,
  replyMargin,
  slotTag,
  stuckAfterMs,
  type StreamWrite,
  XADD_SCRIPT,
} from '../../src/sink/redis-stream-writer.js';
import { SinkError } from '../../src/sink/sink.js';
import { uniquePrefix } from '../helpers/app.js';

/** Every group's outcome: resolves when all were acknowledged, rejects with the first error. */
const allDone = (groups: readonly GroupWrite[]) => Promise.all(groups.map((g) => g.done));
const hit = (key: string, hit: string): StreamWrite => ({ entries: [{ key, hit }], counters: [] });

describe('RedisStreamWriter against a real Redis', () => {
  let redis: Redis;
  const key = uniquePrefix('writer');
  beforeAll(async () => {
    redis = new Redis(inject('redisUrl'), { enableOfflineQueue: false, lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    redis.disconnect();
  });

  const writer = (opts: Partial<ConstructorParameters<typeof RedisStreamWriter>[1]> = {}) =>
    new RedisStreamWriter(redis, { maxLen: 100_000, timeoutMs: 2000, ...opts });
  const write = (w: RedisStreamWriter, batch: StreamWrite[]) => allDone(w.write(batch, Date.now() + 5000));

  it('reads its XADD script from xadd-hits.lua', () => {
    expect(XADD_SCRIPT).toMatch(
      /redis\.call\('XADD', KEYS\[i\], 'MAXLEN', '~', maxlen, '\*', 'v', '1', 'hit', ARGV\[i \+ 1\]\)/,
    );
  });

  it('writes counters with their expiry', async () => {
    const w = writer({ maxLen: 1000 });
    await write(w, [{ entries: [], counters: [{ key: `${key}:c`, field: 'page.display', ttlSeconds: 60 }] }]);
    expect(await redis.hget(`${key}:c`, 'page.display')).toBe('1');
    expect(await redis.ttl(`${key}:c`)).toBeGreaterThan(0);
    await redis.del(`${key}:c`);
  });

  it("writes a batch of XADDs as script calls: every entry, in order, with the same fields, even past one call's chunk", async () => {
    const k = `${key}:script`;
    const other = `${key}:script2`;
    const w = writer();
    // one write of 2500 entries over two keys: three script calls (chunks of 1000), one batch
    const entries = Array.from({ length: 2500 }, (_, i) => ({ key: i % 2 ? other : k, hit: JSON.stringify({ i }) }));
    const groups = w.write([{ entries, counters: [] }], Date.now() + 5000);
    expect(groups.map((g) => g.jobs)).toEqual([[0]]); // a single node: one group
    await allDone(groups);
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
    const w = writer({ maxLen: 1000 });
    const err = await write(w, [
      {
        entries: [
          { key: k, hit: '{"n":1}' },
          { key: wrong, hit: '{"n":2}' },
        ],
        counters: [],
      },
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect((err as SinkError).code).toBe('SINK_FAILED');
    expect(await redis.xlen(k)).toBe(1); // applied before the failing XADD: consumers dedupe by record id
    // the writer keeps working afterwards
    await write(w, [hit(k, '{"n":3}')]);
    expect(await redis.xlen(k)).toBe(2);
    expect(w.unsettled).toBe(0);
    await redis.del(k, wrong);
  });

  it('durable mode: a Redis that cannot WAITAOF (appendonly off, or older than 7.2) never acknowledges', async () => {
    const k = `${key}:durable`;
    const w = writer({ waitAof: true });
    const err = await write(w, [hit(k, '{}')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SinkError);
    expect(['SINK_FAILED', 'SINK_TIMEOUT']).toContain((err as SinkError).code);
    await redis.del(k);
  });

  it('replica mode: too few replicas never acknowledge; WAIT answers in time; behind after a few', async () => {
    const k = `${key}:replicated`;
    // more replicas than any Redis a test runs against has
    const short: number[] = [];
    const onReplicasShort = (acked: number) => short.push(acked);
    const w = writer({ waitReplicas: 16, timeoutMs: 300, probeKeys: [k], onReplicasShort });
    for (let i = 0; i < REPLICAS_BEHIND_AFTER; i++) {
      expect(w.replicasBehind).toBe(false);
      const err = await allDone(w.write([hit(k, '{}')], Date.now() + 400)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkError);
      // Redis's own answer to WAIT (its timeout is what is left of the batch's time)
      expect((err as SinkError).code).toBe('SINK_NOT_REPLICATED');
      expect((err as SinkError).message).toMatch(/^0 of 16 replicas/);
    }
    expect(short).toHaveLength(REPLICAS_BEHIND_AFTER);
    expect(w.replicasBehind).toBe(true);
    expect(await w.probeReplicas()).toBe(false);
    expect(w.replicasBehind).toBe(true);
    // the XADDs themselves went through (at-least-once: a resend stores them again)
    expect(await redis.xlen(k)).toBe(REPLICAS_BEHIND_AFTER);
    await redis.del(k, `{${k}}:probe`);
  });

  it("is unavailable, with the client's status, when Redis is not connected", () => {
    const down = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, lazyConnect: true });
    expect(new RedisStreamWriter(down, { maxLen: 10, timeoutMs: 100 }).unavailable).toBe('redis is wait');
    expect(writer().unavailable).toBeUndefined();
    down.disconnect();
  });

  it('probes with a short-lived key in the slot of each stream key', async () => {
    const keys = [`${key}:{0}`, `${key}:plain`];
    const w = writer({ probeKeys: keys });
    await w.probe();
    const probes = [`${key}:{0}:probe`, `{${key}:plain}:probe`];
    for (const p of probes) {
      expect(await redis.get(p)).toBe('1');
      expect(await redis.pttl(p)).toBeGreaterThan(0);
      expect(slotTag(p)).toBe(slotTag(keys[probes.indexOf(p)]!));
    }
    await redis.del(...probes);
  });
});

/** A client that records what it is sent and answers when told to. */
function fakeRedis(opts: { cluster?: boolean } = {}) {
  type Sent = { cmds: (string | number)[][]; answer: (err?: Error) => void };
  const sent: Sent[] = [];
  const pending = (cmds: (string | number)[][], single: boolean) =>
    new Promise<unknown>((resolve, reject) => {
      sent.push({
        cmds,
        answer: (err) => {
          if (single) return err ? reject(err) : resolve(1);
          resolve(cmds.map(() => [err ?? null, 1]));
        },
      });
    });
  const client = {
    isCluster: opts.cluster === true,
    status: 'ready',
    defineCommand: vi.fn(),
    disconnect: vi.fn(),
    exemptXaddHits: (...args: (string | number)[]) => pending([['exemptXaddHits', ...args]], true),
    pipeline: (cmds: (string | number)[][]) => ({ exec: () => pending(cmds, false) }),
  };
  return { client, sent, redis: client as unknown as Redis };
}

describe('RedisStreamWriter: grouping, pipeline bounds and watchdog (a fake client)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('groups by hash tag on a cluster; each job is listed in the groups it touches; XADDs, then counters, then WAITAOF', async () => {
    const { sent, redis } = fakeRedis({ cluster: true });
    const w = new RedisStreamWriter(redis, { maxLen: 50, timeoutMs: 1000, waitAof: true });
    const groups = w.write(
      [
        hit('hits:{0}', 'a'),
        {
          entries: [{ key: 'hits:{1}', hit: 'b' }],
          counters: [{ key: 'optout:{0}:H', field: 'page.display', ttlSeconds: 60 }],
        },
        hit('hits:{0}', 'c'),
      ],
      Date.now() + 800,
    );
    expect(groups.map((g) => g.jobs)).toEqual([[0, 1, 2], [1]]);
    expect(sent.map((s) => s.cmds.map((c) => c.slice(0, 4)))).toEqual([
      [
        ['exemptXaddHits', 2, 'hits:{0}', 'hits:{0}'],
        ['hincrby', 'optout:{0}:H', 'page.display', 1],
        ['expire', 'optout:{0}:H', 60],
        ['waitaof', 1, 0, expect.any(Number)],
      ],
      [
        ['exemptXaddHits', 1, 'hits:{1}', '50'],
        ['waitaof', 1, 0, expect.any(Number)],
      ],
    ]);
    expect(sent[0]!.cmds[0]).toEqual(['exemptXaddHits', 2, 'hits:{0}', 'hits:{0}', '50', 'a', 'c']);
    // WAITAOF's own timeout is what is left before the deadline
    expect(sent[0]!.cmds[3]![3]).toBeLessThanOrEqual(800);
    for (const s of sent) s.answer();
    await allDone(groups).catch(() => undefined);
  });

  it('replica mode: WAIT n ends every group, after WAITAOF, for the time left minus the reply margin', async () => {
    const { sent, redis } = fakeRedis({ cluster: true });
    const w = new RedisStreamWriter(redis, { maxLen: 50, timeoutMs: 1000, waitAof: true, waitReplicas: 2 });
    const deadline = Date.now() + 800;
    const groups = w.write([hit('hits:{0}', 'a'), hit('hits:{1}', 'b')], deadline);
    expect(sent.map((s) => s.cmds.map((c) => c[0]))).toEqual([
      ['exemptXaddHits', 'waitaof', 'wait'],
      ['exemptXaddHits', 'waitaof', 'wait'],
    ]);
    for (const s of sent) {
      const [, replicas, ms] = s.cmds[2]!;
      expect(replicas).toBe(2);
      expect(ms).toBeGreaterThan(0);
      expect(ms).toBeLessThanOrEqual(800 - replyMargin(1000));
    }
    for (const s of sent) s.answer();
    await allDone(groups).catch(() => undefined);
  });

  it('a single node: saturated with MAX_UNSETTLED_PIPELINES unanswered pipelines, free again when one is answered', async () => {
    const { sent, redis } = fakeRedis();
    const w = new RedisStreamWriter(redis, { maxLen: 50, timeoutMs: 1000 });
    const writes = Array.from({ length: MAX_UNSETTLED_PIPELINES }, (_, i) =>
      w.write([hit('k', String(i))], Date.now() + 1000),
    );
    expect(w.saturated).toBe(true);
    expect(w.unsettled).toBe(MAX_UNSETTLED_PIPELINES);
    sent[0]!.answer();
    await allDone(writes[0]!);
    expect(w.saturated).toBe(false);
    sent[1]!.answer(new Error("READONLY You can't write against a read only replica."));
    await expect(allDone(writes[1]!)).rejects.toMatchObject({
      code: 'SINK_FAILED',
      message: expect.stringMatching(/READONLY/),
    });
    expect(w.unsettled).toBe(0);
  });

  it('a cluster: a node with too many unanswered pipelines gets its groups refused (SINK_UNAVAILABLE), the other nodes are written', async () => {
    const { sent, redis } = fakeRedis({ cluster: true });
    const w = new RedisStreamWriter(redis, { maxLen: 50, timeoutMs: 1000 });
    for (let i = 0; i < MAX_UNSETTLED_PIPELINES; i++) w.write([hit('hits:{0}', 'stuck')], Date.now() + 1000);
    expect(w.saturated).toBe(false); // a cluster is never saturated as a whole
    const groups = w.write([hit('hits:{0}', 'x'), hit('hits:{1}', 'y')], Date.now() + 1000);
    expect(groups.map((g) => g.jobs)).toEqual([[0], [1]]);
    await expect(groups[0]!.done).rejects.toMatchObject({ code: 'SINK_UNAVAILABLE' });
    expect(sent).toHaveLength(MAX_UNSETTLED_PIPELINES + 1); // nothing more sent to node {0}
    sent.at(-1)!.answer();
    await groups[1]!.done;
  });

  it('watchdog: a pipeline unanswered for max(2 s, 4 × timeoutMs) drops the connection, once', async () => {
    vi.useFakeTimers();
    const { client, sent, redis } = fakeRedis();
    const log = { warn: vi.fn() };
    const w = new RedisStreamWriter(redis, { maxLen: 50, timeoutMs: 800, log });
    expect(stuckAfterMs(800)).toBe(3200);
    expect(stuckAfterMs(100)).toBe(2000);
    const groups = w.write([hit('k', 'a')], Date.now() + 800);
    await vi.advanceTimersByTimeAsync(3199);
    expect(client.disconnect).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(client.disconnect).toHaveBeenCalledExactlyOnceWith(true);
    expect(log.warn).toHaveBeenCalledWith({ stuckMs: 3200 }, 'redis stopped answering: reconnecting');
    // the dropped connection fails its commands
    sent[0]!.answer(new Error('Connection is closed.'));
    await expect(allDone(groups)).rejects.toMatchObject({ code: 'SINK_FAILED' });
    // an answered pipeline disarms it
    const next = w.write([hit('k', 'b')], Date.now() + 800);
    sent[1]!.answer();
    await allDone(next);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(client.disconnect).toHaveBeenCalledTimes(1);
  });

  it('watchdog: leaves a connection that is not ready alone (the client is already reconnecting)', async () => {
    vi.useFakeTimers();
    const { client, redis } = fakeRedis();
    const w = new RedisStreamWriter(redis, { maxLen: 50, timeoutMs: 100 });
    w.write([hit('k', 'a')], Date.now() + 100);
    client.status = 'reconnecting';
    await vi.advanceTimersByTimeAsync(2000);
    expect(client.disconnect).not.toHaveBeenCalled();
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
