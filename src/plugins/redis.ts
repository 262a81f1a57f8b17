// The Redis connection, single node or cluster, made by the one client factory
// (src/redis.ts) as the collector's: no offline queue, so while Redis is away a command
// fails at once (the hit gets a 503) instead of piling up in memory; no automatic
// resend either, so a command reported failed (its hit got a 503) is never written
// again behind the caller's back after a reconnect.
import fp from 'fastify-plugin';
import type { Cluster, Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import { createRedisClient } from '../redis.js';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis | Cluster;
  }
}

export default fp(
  async (app, opts: { config: Config; redis?: Redis | Cluster }) => {
    const redis = opts.redis ?? createRedisClient(opts.config.redis, 'collector');
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
