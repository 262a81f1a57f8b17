// The collector's configuration: its variables (fields.ts, where each is documented) as
// one typed, frozen Config, whose type is what the mapping below builds.
import type { z } from 'zod';
import { environment, loadEnv, pseudonymKeys, redisTarget } from './fields.js';
import { refuse, type DeepReadonly } from './kinds.js';

// The variables in the order they are checked (the first refusal is reported), then the
// rules between variables in the transform below.
const collectorEnv = environment.pick({
  PSEUDONYM_KEYS: true,
  NODE_ENV: true,
  STREAM_RETENTION: true,
  STREAM_KEY: true,
  LOG_LEVEL: true,
  ADMIN_TOKEN: true,
  PORT: true,
  HOST: true,
  WORKERS: true,
  REDIS_CLUSTER_NODES: true,
  REDIS_URL: true,
  STREAM_SHARDS: true,
  STREAM_MAXLEN: true,
  GEOIP_DB: true,
  GEOIP_WATCH_MS: true,
  SITES_FILE: true,
  TRUST_PROXY: true,
  ADMIN_PORT: true,
  ADMIN_HOST: true,
  SITE_RATE_LIMIT: true,
  AGG_PREFIX: true,
  REPORT_MIN_COUNT: true,
  ADMIN_SCAN_MAX_ENTRIES: true,
  ADMIN_SCAN_TIME_MS: true,
  ERASURE_STREAM: true,
  STREAM_TRIM_INTERVAL: true,
  SINK_MAX_PENDING: true,
  SINK_MAX_BATCH: true,
  SINK_TIMEOUT_MS: true,
  SINK_WAIT_AOF: true,
  SINK_WAIT_REPLICAS: true,
  HTTP_HEADERS_TIMEOUT_MS: true,
  HTTP_REQUEST_TIMEOUT_MS: true,
  HTTP_TIMEOUT_CHECK_MS: true,
  MAX_EVENT_LOOP_DELAY_MS: true,
  MAX_IN_FLIGHT_REQUESTS: true,
  SHUTDOWN_DELAY_MS: true,
  SHUTDOWN_TIMEOUT_MS: true,
});

const collectorSchema = collectorEnv.transform((env, ctx) => {
  const { keys, generated } = pseudonymKeys(env, ctx);
  const redis = redisTarget(env, ctx);
  // 0 asks the system for a free port, which cannot collide
  if (env.ADMIN_PORT !== undefined && env.ADMIN_PORT !== 0 && env.ADMIN_PORT === env.PORT) {
    refuse(ctx, `must differ from PORT (${env.PORT}): the operator's listener is never the public one`, 'ADMIN_PORT');
  }
  if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
    refuse(ctx, `must not exceed HTTP_REQUEST_TIMEOUT_MS (${env.HTTP_REQUEST_TIMEOUT_MS})`, 'HTTP_HEADERS_TIMEOUT_MS');
  }
  return {
    port: env.PORT,
    host: env.HOST,
    workers: env.WORKERS,
    redis,
    streamKey: env.STREAM_KEY,
    streamShards: env.STREAM_SHARDS,
    streamMaxLen: env.STREAM_MAXLEN,
    streamRetentionMs: env.STREAM_RETENTION,
    geoipDbs: env.GEOIP_DB,
    geoipWatchMs: env.GEOIP_WATCH_MS,
    pseudonymKeys: keys,
    /** True when no key was configured and a throw-away one was generated. */
    pseudonymKeyGenerated: generated,
    sitesFile: env.SITES_FILE,
    trustProxy: env.TRUST_PROXY,
    adminToken: env.ADMIN_TOKEN,
    adminPort: env.ADMIN_PORT,
    adminHost: env.ADMIN_HOST,
    siteRateLimit: env.SITE_RATE_LIMIT,
    report: { prefix: env.AGG_PREFIX, minCount: env.REPORT_MIN_COUNT },
    admin: { scanMaxEntries: env.ADMIN_SCAN_MAX_ENTRIES, scanTimeMs: env.ADMIN_SCAN_TIME_MS },
    erasureStream: env.ERASURE_STREAM,
    retentionTrimIntervalMs: env.STREAM_TRIM_INTERVAL,
    logLevel: env.LOG_LEVEL,
    sink: {
      maxPending: env.SINK_MAX_PENDING,
      maxBatch: env.SINK_MAX_BATCH,
      timeoutMs: env.SINK_TIMEOUT_MS,
      waitAof: env.SINK_WAIT_AOF,
      waitReplicas: env.SINK_WAIT_REPLICAS,
    },
    http: {
      headersTimeoutMs: env.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: env.HTTP_REQUEST_TIMEOUT_MS,
      timeoutCheckMs: env.HTTP_TIMEOUT_CHECK_MS,
    },
    pressure: { maxEventLoopDelayMs: env.MAX_EVENT_LOOP_DELAY_MS, maxInFlightRequests: env.MAX_IN_FLIGHT_REQUESTS },
    shutdown: { delayMs: env.SHUTDOWN_DELAY_MS, timeoutMs: env.SHUTDOWN_TIMEOUT_MS },
  };
});

/** The collector's configuration (deep-frozen by loadEnv). */
export type Config = DeepReadonly<z.output<typeof collectorSchema>>;

/** The collector's configuration from the environment (the only reader of process.env besides loadAggregateConfig). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadEnv(collectorSchema, env);
}
