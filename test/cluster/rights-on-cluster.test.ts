// Access, erasure, retention trimming and the aggregator on a real Redis Cluster
// (3 masters on loopback): stream shards in several slots, Lua scripts on one
// site's slot, XREADGROUP/XAUTOCLAIM per shard.
import { Cluster } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/aggregate/consumer.js';
import { buildReport } from '../../src/aggregate/report.js';
import { utcDay } from '../../src/aggregate/store.js';
import { loadAggregateConfig } from '../../src/config/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { replay, sdkRequest } from '../helpers/fixtures.js';
import { startCluster, type TestCluster } from '../helpers/redis-cluster.js';

const TOKEN = 'admin-token-0123456789';

describe('data-subject rights and aggregation on Redis Cluster', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let base: string;
  let erasures: string;

  beforeAll(async () => {
    cluster = await startCluster(3, 0);
    t = await startTestApp({
      REDIS_CLUSTER_NODES: cluster.seeds,
      STREAM_SHARDS: '4',
      ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: 'warn',
    });
    erasures = t.config.erasureStream;
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const req = sdkRequest('exempt');
    for (let v = 0; v < 8; v++) {
      for (let i = 0; i < 3; i++) {
        const body = req.body.replace('"page":"home"', `"page":"p${i}"`);
        expect((await replay(base, { ...req, body }, { query: `s=123456&idclient=visitor${v}` })).status).toBe(204);
      }
    }
  });
  afterAll(async () => {
    await t?.close();
    await cluster?.stop();
  });

  const admin = (path: string, body: unknown) =>
    t.operator.inject({
      method: 'POST',
      url: path,
      headers: { authorization: `Bearer ${TOKEN}` },
      payload: body as object,
    });

  it('finds and erases one visitor across the shards', async () => {
    const access = await admin('/admin/access', { site: '123456', idclient: 'visitor3' });
    expect(access.statusCode).toBe(200);
    expect(access.json().records).toHaveLength(3);
    const erase = await admin('/admin/erase', { site: '123456', idclient: 'visitor3' });
    expect(erase.json()).toMatchObject({ deleted: 3, complete: true });
    expect((await t.records()).length).toBe(21);
    expect(await t.redis.xlen(erasures)).toBe(2); // one tombstone per key (k1, k0)
  });

  it('aggregates the streams and applies the tombstones', async () => {
    const cfg = loadAggregateConfig({
      REDIS_CLUSTER_NODES: cluster.seeds,
      STREAM_KEY: t.config.streamKey,
      STREAM_SHARDS: '4',
      ERASURE_STREAM: erasures,
      AGG_PREFIX: `${t.config.streamKey}:agg`,
      AGG_CONSUMER: 'c1',
      AGG_BLOCK_MS: '20',
    });
    const client = new Cluster([...(cfg.redis.kind === 'cluster' ? cfg.redis.nodes : [])]);
    try {
      const agg = new Aggregator(client, cfg, pino({ level: 'silent' }));
      await agg.ensureGroups();
      const until = Date.now() + 15_000;
      while (Date.now() < until && agg.stats.applied + agg.stats.tombstones < 23) await agg.step(false);
      expect(agg.stats).toMatchObject({ applied: 21, tombstones: 2, malformed: 0 });
      const day = utcDay(Date.now());
      const report = await buildReport(client, { prefix: cfg.prefix, site: '123456', from: day, to: day, minCount: 5 });
      expect(report.totals.pageviews).toBe(21);
      expect(report.days[0]!.visitors).toBe(7);
      expect(report.pages.rows).toEqual([
        { label: 'p0', count: 7 },
        { label: 'p1', count: 7 },
        { label: 'p2', count: 7 },
      ]);
    } finally {
      client.disconnect();
    }
  });

  it('trims every shard by age', async () => {
    const keys = [...t.app.streamKeys];
    const old = `${t.config.streamKey}:old:{x}`;
    await t.redis.xadd(old, `${Date.now() - 30 * 86_400_000}-0`, 'v', '1', 'hit', '{}');
    await t.redis.xadd(old, '*', 'v', '1', 'hit', '{}');
    const { RetentionTrimmer } = await import('../../src/sink/retention.js');
    const trimmer = new RetentionTrimmer(t.app.redis, { keys: [...keys, old], retentionMs: 86_400_000, intervalMs: 0 });
    expect(await trimmer.trimOnce()).toBe(1);
    expect(await t.redis.xlen(old)).toBe(1);
    expect((await t.records()).length).toBe(21);
    await t.redis.del(old);
  });
});
