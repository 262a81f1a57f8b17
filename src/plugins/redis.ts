// The Redis connection, single node or cluster. No offline queue: while Redis is
// away a command fails at once (the hit gets a 503) instead of piling up in memory.
// No automatic resend either: a command that was reported failed (its hit got a 503)
// is never written again behind the caller's back after a reconnect.
import fp from 'fastify-plugin';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config/index.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis | Cluster;
  }
}

export function createRedis(config: Config, extra: RedisOptions = {}): Redis | Cluster {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(50 * 2 ** times, 1000),
    lazyConnect: true,
    ...extra,
  };
  if (config.redis.kind === 'cluster') {
    return new Cluster([...config.redis.nodes], {
      enableOfflineQueue: false,
      clusterRetryStrategy: (times) => Math.min(50 * 2 ** times, 1000),
      redisOptions: options,
      lazyConnect: true,
    });
  }
  return new Redis(config.redis.url, options);
}

export default fp(
  async (app, opts: { config: Config; redis?: Redis | Cluster }) => {
    const redis = opts.redis ?? createRedis(opts.config);
    redis.on('error', (err: Error) => app.log.warn({ err: err.message }, 'redis error'));
    if (redis.status === 'wait') {
      // Start without Redis if need be: readiness says so and hits get 503 until it answers.
      await redis.connect().catch((err: Error) => app.log.warn({ err: err.message }, 'redis not reachable at start'));
    }
    app.decorate<Redis | Cluster>('redis', redis);
    app.addHook('onClose', async () => {
      if (!opts.redis) await redis.quit().catch(() => redis.disconnect());
    });
  },
  { name: 'redis' },
);
