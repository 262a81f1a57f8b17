// Builds the real app against the suite's Redis, with its own stream key and a
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
// captured log, so a test can scan everything the service wrote.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Cluster, Redis } from 'ioredis';
import { inject } from 'vitest';
import { buildApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { injectAsBrowser } from './browser-user-agent.js';

export const TEST_KEYS = 'k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210';

export function uniquePrefix(label = 't'): string {
  return `test:${label}:${Date.now().toString(36)}:${randomBytes(4).toString('hex')}`;
}

function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    REDIS_URL: inject('redisUrl'),
    STREAM_KEY: uniquePrefix('hits'),
    PSEUDONYM_KEYS: TEST_KEYS,
    LOG_LEVEL: 'debug',
    // Load shedding on event-loop lag is tested on its own (test/plugins/pressure.test.ts);
    // elsewhere a CI machine busy with parallel test files must not turn hits into 503s.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...env,
  });
}

export interface TestApp {
  /** The public listener's app. */
  app: FastifyInstance;
  /** The operator's listener (/metrics, /admin/*). */
  operator: FastifyInstance;
  /** Listens on both, on loopback ports: [public base URL, operator base URL]. */
  listen(): Promise<[string, string]>;
  config: Config;
  /** A plain client (or a cluster client) to read what the app wrote. */
  redis: Redis | Cluster;
  logs: string[];
  /** Every entry of every stream shard, as parsed records. */
  records(): Promise<Record<string, unknown>[]>;
  /** Raw text of every stream entry (fields joined), for leak scans. */
  rawStream(): Promise<string>;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string | undefined> = {}): Promise<TestApp> {
  const config = testConfig(env);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const app = await buildApp(config, { logger: createLogger(config.logLevel, sink) });
  await app.ready();
  injectAsBrowser(app);
  const redis =
    config.redis.kind === 'cluster'
      ? new Cluster([...config.redis.nodes])
      : // the app's own Redis (a test may point it at a private or an unreachable one)
        new Redis(config.redis.url, {
          lazyConnect: true,
          maxRetriesPerRequest: 1,
          retryStrategy: (n) => (n > 3 ? null : 100),
        });
  redis.on('error', () => undefined);
  const keys = [...app.streamKeys];
  const rawEntries = async () => (await Promise.all(keys.map((k) => redis.xrange(k, '-', '+')))).flat();
  return {
    app,
    operator: app.operator,
    async listen() {
      return [
        await app.listen({ port: 0, host: '127.0.0.1' }),
        await app.operator.listen({ port: 0, host: '127.0.0.1' }),
      ];
    },
    config,
    redis,
    logs,
    async records() {
      return (await rawEntries()).map(([, fields]) => JSON.parse(fields[fields.indexOf('hit') + 1]!));
    },
    async rawStream() {
      return (await rawEntries()).map(([id, fields]) => `${id} ${fields.join(' ')}`).join('\n');
    },
    async close() {
      await app.close();
      await Promise.all(keys.map((k) => redis.del(k))).catch(() => undefined);
      redis.disconnect();
    },
  };
}

/** Writes a sites file (SITES_FILE) to a temporary path and returns it. */
export function writeSitesFile(sites: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sites-'));
  const file = path.join(dir, 'sites.json');
  writeFileSync(file, JSON.stringify({ sites }));
  return file;
}
