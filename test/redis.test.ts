// The one Redis client factory (src/redis.ts): the same reconnection everywhere, the
// per-role command policy, the cluster options; and a collector client against the
// suite's Redis fails a command at once while disconnected instead of queueing it.
import { Cluster, Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { createRedisClient, reconnectDelay, SLOTS_REFRESH_MS } from '../src/redis.js';

const single = { kind: 'single', url: 'redis://127.0.0.1:1' } as const;
const cluster = { kind: 'cluster', nodes: [{ host: '127.0.0.1', port: 1 }] } as const;

describe('createRedisClient', () => {
  it('reconnects with the same backoff for every role: 100 ms doubling up to 1 s, forever', () => {
    expect([1, 2, 3, 4, 5, 50].map(reconnectDelay)).toEqual([100, 200, 400, 800, 1000, 1000]);
    for (const role of ['collector', 'consumer', 'cli'] as const) {
      const c = createRedisClient(single, role) as Redis;
      expect(c).toBeInstanceOf(Redis);
      expect(c.options.retryStrategy).toBe(reconnectDelay);
      expect(c.options.lazyConnect).toBe(true);
      expect(c.status).toBe('wait');
      c.disconnect();
    }
  });

  it('the collector fails fast; the aggregator waits for Redis; the report CLI retries once', () => {
    const collector = createRedisClient(single, 'collector') as Redis;
    expect(collector.options).toMatchObject({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    });
    const consumer = createRedisClient(single, 'consumer') as Redis;
    const consumerOptions = { enableOfflineQueue: true, maxRetriesPerRequest: null, enableAutoPipelining: true };
    expect(consumer.options).toMatchObject(consumerOptions);
    const cli = createRedisClient(single, 'cli') as Redis;
    expect(cli.options).toMatchObject({ maxRetriesPerRequest: 1, enableAutoPipelining: true });
    for (const c of [collector, consumer, cli]) c.disconnect();
  });

  it("a cluster client gets the same settings per node, refreshes its slots and keeps the role's queueing", () => {
    const collector = createRedisClient(cluster, 'collector') as Cluster;
    expect(collector).toBeInstanceOf(Cluster);
    const clusterOptions = { enableOfflineQueue: false, lazyConnect: true, slotsRefreshInterval: SLOTS_REFRESH_MS };
    expect(collector.options).toMatchObject(clusterOptions);
    expect(collector.options.clusterRetryStrategy).toBe(reconnectDelay);
    expect(collector.options.redisOptions).toMatchObject({ maxRetriesPerRequest: 0, retryStrategy: reconnectDelay });
    const consumer = createRedisClient(cluster, 'consumer') as Cluster;
    expect(consumer.options).toMatchObject({ enableOfflineQueue: true, enableAutoPipelining: true });
    for (const c of [collector, consumer]) c.disconnect();
  });

  it('a collector client refuses a command at once while not connected, and works once connected', async () => {
    const c = createRedisClient({ kind: 'single', url: inject('redisUrl') }, 'collector') as Redis;
    c.on('error', () => undefined);
    await expect(c.ping()).rejects.toThrow(/enableOfflineQueue/);
    // (that first command started the connection: lazyConnect connects on first use)
    if (c.status !== 'ready') await new Promise((resolve) => c.once('ready', resolve));
    expect(await c.ping()).toBe('PONG');
    c.disconnect();
  });
});
