// The collector on a real Redis Cluster (3 masters + 3 replicas on loopback, started
// here): ioredis's cluster client, sharded streams with hash tags, and no 2xx hit lost
// while a master fails over or restarts under a bounded load.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { lostHits, postHit, runLoad, storedIds, summary, visitorOf } from '../helpers/load.js';
import { until } from '../helpers/processes.js';
import { startCluster, type TestCluster } from '../helpers/redis-cluster.js';
import { sdkRequest } from '../helpers/fixtures.js';

const SHARDS = 6;

describe('Redis Cluster', () => {
  let cluster: TestCluster;
  let t: TestApp;
  let base: string;
  let ops: string;

  beforeAll(async () => {
    cluster = await startCluster(3, 1);
    t = await startTestApp({ REDIS_CLUSTER_NODES: cluster.seeds, STREAM_SHARDS: String(SHARDS), LOG_LEVEL: 'info' });
    [base, ops] = await t.listen();
  });
  afterAll(async () => {
    await t?.close();
    await cluster?.stop();
  });

  it('uses the cluster client and is ready', async () => {
    expect(t.app.redis.isCluster).toBe(true);
    const res = await fetch(`${base}/readyz`);
    expect(await res.json()).toMatchObject({ status: 'ready', checks: { redis: 'ok' } });
    expect(res.status).toBe(200);
    const metrics = await (await fetch(`${ops}/metrics`)).text();
    expect(metrics).toMatch(/^collector_redis_up 1$/m);
  });

  it('puts each stream shard in its own slot and keeps a visitor on one shard, in order', async () => {
    const keys = [...t.app.streamKeys];
    expect(keys).toEqual(Array.from({ length: SHARDS }, (_, i) => `${t.config.streamKey}:{${i}}`));
    const admin = cluster.admin(cluster.nodes[0]!.port);
    const slots = await Promise.all(keys.map((k) => admin.call('CLUSTER', 'KEYSLOT', k) as Promise<number>));
    expect(new Set(slots).size).toBe(SHARDS);
    // the slots are spread over more than one master
    const owners = new Set(await Promise.all(slots.map((s) => cluster.masterOf(s))));
    expect(owners.size).toBeGreaterThan(1);

    const load = await runLoad({ url: base, label: 'order', concurrency: 12, maxRequests: 240, maxMs: 10_000 });
    expect(load.accepted.length).toBe(240);
    const perShard = await Promise.all(keys.map((k) => t.redis.xrange(k, '-', '+')));
    expect(perShard.filter((entries) => entries.length > 0).length).toBeGreaterThan(2);
    const shardOfVisitor = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    perShard.forEach((entries, shard) => {
      for (const [, fields] of entries) {
        const rec = JSON.parse(fields[fields.indexOf('hit') + 1]!) as { visitor: string; props: { page: string } };
        const seen = shardOfVisitor.get(rec.visitor);
        expect(seen === undefined || seen === shard).toBe(true);
        shardOfVisitor.set(rec.visitor, shard);
        const seq = Number(rec.props.page.split('-').pop());
        expect(seq).toBeGreaterThan(lastSeq.get(rec.visitor) ?? -1); // a visitor's events in order
        lastSeq.set(rec.visitor, seq);
      }
    });
    expect(shardOfVisitor.size).toBe(12);
    expect(lostHits(load, await storedIds(t.redis, keys))).toEqual([]);
  });

  it('counts opt-out hits on one slot per site', async () => {
    const req = sdkRequest('optout');
    const status = await postHit(base, req.rawQueryString, req.body);
    expect(status).toBe('204');
    const hour = new Date().toISOString().slice(0, 13);
    const key = `optout:{${req.query.s}}:${hour}`;
    const counts = await t.redis.hgetall(key);
    expect(
      Object.values(counts)
        .map(Number)
        .reduce((a, b) => a + b, 0),
    ).toBeGreaterThanOrEqual(1);
    expect(await t.redis.ttl(key)).toBeGreaterThan(0);
    const admin = cluster.admin(cluster.nodes[0]!.port);
    // every hour's hash of one site hashes like the bare site tag: one slot per site
    expect(await admin.call('CLUSTER', 'KEYSLOT', key)).toBe(
      await admin.call('CLUSTER', 'KEYSLOT', `{${req.query.s}}`),
    );
    await t.redis.del(key);
  });

  it('loses no 2xx hit while a master fails over and another restarts, under load', async () => {
    const keys = [...t.app.streamKeys];
    const admin = cluster.admin(cluster.nodes[0]!.port);
    const slot0 = (await admin.call('CLUSTER', 'KEYSLOT', keys[0]!)) as number;
    const slot1 = (await admin.call('CLUSTER', 'KEYSLOT', keys[1]!)) as number;

    const load = runLoad({ url: base, label: 'failover', concurrency: 8, maxRequests: 6000, maxMs: 9000, pauseMs: 5 });
    const events: string[] = [];
    const t0 = Date.now();
    const mark = (what: string) => events.push(`${Date.now() - t0} ms ${what}`);
    const stored = async () => (await Promise.all(keys.map((k) => t.redis.xlen(k)))).reduce((a, b) => a + b, 0);
    /** Waits until `n` more records are in the streams (the load is under way), at most 5 s. */
    const progress = async (n: number) => {
      const from = await stored();
      await until(`${n} more records`, async () => (await stored()) >= from + n, 5000).catch(() => undefined);
    };

    // 1. a manual failover: the replica takes over the master of shard 0
    await progress(200);
    const master0 = await cluster.masterOf(slot0);
    const replica0 = await cluster.replicaOf(master0);
    mark(`CLUSTER FAILOVER on replica ${replica0} of master ${master0}`);
    await cluster.admin(replica0).call('CLUSTER', 'FAILOVER');
    const tookOver = async () => (await cluster.masterOf(slot0)) === replica0;
    await until(`replica ${replica0} to take slot ${slot0}`, tookOver, 10_000);
    mark('failover done');

    // 2. a master stops (SIGTERM), its replica is promoted, and it comes back as a replica
    await progress(200);
    let master1 = await cluster.masterOf(slot1);
    if (master1 === replica0) master1 = await cluster.masterOf((slot1 + 8000) % 16384);
    mark(`stopping master ${master1}`);
    await cluster.stopNode(master1);
    const promoted = async () => (await cluster.masterOf(slot1).catch(() => master1)) !== master1;
    await until(`slot ${slot1} to leave ${master1}`, promoted, 6000, 100).catch(() => undefined);
    mark(`slot ${slot1} now on ${await cluster.masterOf(slot1).catch(() => 'nobody')}`);
    await cluster.startNode(master1);
    mark(`restarted ${master1}`);

    const result = await load;
    await cluster.waitHealthy();
    const context = `${summary('cluster failover + node restart', result)}\n  ${events.join('\n  ')}`;
    expect(lostHits(result, await storedIds(t.redis, keys)), context).toEqual([]);
    expect(result.accepted.length, context).toBeGreaterThan(100);
    // after the storm the collector writes again
    const status = await postHit(base, `s=123456&idclient=${visitorOf('after', 0)}`, sdkRequest('exempt').body);
    expect(status).toBe('204');
  }, 60_000);
});
