// A describe block's own redis-server, for tests that pause, fill or stop Redis.
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type RedisProcess, startRedis } from './processes.js';

/**
 * A redis-server of the calling describe block's own, with a client to it: started
 * before its tests, stopped after them (for tests that pause, fill or stop Redis).
 */
export function usePrivateRedis(): { readonly url: string; readonly client: Redis } {
  let redis: RedisProcess | undefined;
  let client: Redis | undefined;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });
  return {
    get url() {
      return redis!.url;
    },
    get client() {
      return client!;
    },
  };
}
