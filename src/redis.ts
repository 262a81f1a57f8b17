// The one place a Redis client is made, for every process (the collector, the
// aggregator, the report CLI), single node or Redis Cluster, with the reconnection
// and retry settings stated once here.
//
// Reconnection is the same for everyone: back off from 100 ms to at most 1 s between
// attempts, forever (a Redis that comes back is used again without a restart). What
// happens to a command while Redis is away depends on who sends it (`ClientRole`):
// - `collector`: fails at once (no offline queue, no retry, no resend after a
//   reconnect), so a hit gets its 503 quickly and is never written behind its sender's
//   back after the 503; memory stays bounded while Redis is down.
// - `consumer`: waits for Redis as long as it takes (queued, retried): the aggregator's
//   work is idempotent and has no one waiting on it.
// - `cli`: one retry, then the command fails and the report says why.
// On a Redis Cluster, MOVED/ASK redirections and a failover's new topology are taken
// by ioredis itself (slot cache refreshed on a redirection, on CLUSTERDOWN and on a
// lost connection), whatever the role.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTarget } from './config/fields.js';

export type ClientRole = 'collector' | 'consumer' | 'cli';

/** Milliseconds before reconnection attempt `times` (1, 2, ...): 100, 200, 400, 800, then 1000. */
export const reconnectDelay = (times: number): number => Math.min(50 * 2 ** times, 1000);

/** How often a cluster client reads the slots' owners again. */
export const SLOTS_REFRESH_MS = 2000;

const ROLE_OPTIONS: Record<ClientRole, RedisOptions> = {
  collector: { enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false },
  consumer: { enableAutoPipelining: true, maxRetriesPerRequest: null },
  cli: { enableAutoPipelining: true, maxRetriesPerRequest: 1 },
};

/**
 * A client to `target` for `role`, not connected yet (lazyConnect: call connect(), or
 * the first command connects). `extra` overrides the per-node options (tests).
 */
export function createRedisClient(target: RedisTarget, role: ClientRole, extra: RedisOptions = {}): Redis | Cluster {
  const options: RedisOptions = {
    connectTimeout: 2000,
    retryStrategy: reconnectDelay,
    lazyConnect: true,
    ...ROLE_OPTIONS[role],
    ...extra,
  };
  if (target.kind === 'cluster') {
    const { enableOfflineQueue, enableAutoPipelining } = options;
    const cluster: ClusterOptions = {
      clusterRetryStrategy: reconnectDelay,
      // besides the refreshes on MOVED, CLUSTERDOWN and a lost node: a failover or a
      // resharding seen within this time even by a client that met no redirection
      slotsRefreshInterval: SLOTS_REFRESH_MS,
      lazyConnect: true,
      redisOptions: options,
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
    };
    return new Cluster([...target.nodes], cluster);
  }
  return new Redis(target.url, options);
}
