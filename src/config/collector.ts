// The collector's configuration: its variables (fields.ts) as one typed, frozen Config.
import type { PseudonymKey } from '../pipeline/pseudonymise.js';
import { environment, loadEnv, pseudonymKeys, redisTarget, type RedisTarget } from './fields.js';
import { refuse } from './kinds.js';

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Processes serving hits (node:cluster workers); 1 runs in the main process. */
  readonly workers: number;
  readonly redis: RedisTarget;
  readonly streamKey: string;
  readonly streamShards: number;
  /** Approximate cap on each stream's length (XADD MAXLEN ~). */
  readonly streamMaxLen: number;
  /** Age limit of stream entries, in milliseconds (at most 25 months). */
  readonly streamRetentionMs: number;
  /** MaxMind City databases to open; empty means geolocation is off. */
  readonly geoipDbs: readonly string[];
  /** How often the databases are checked for replacement on disk. */
  readonly geoipWatchMs: number;
  readonly pseudonymKeys: readonly PseudonymKey[];
  /** True when no key was configured and a throw-away one was generated. */
  readonly pseudonymKeyGenerated: boolean;
  readonly sitesFile: string | undefined;
  readonly trustProxy: readonly string[];
  readonly adminToken: string | undefined;
  /** The operator's listener (/metrics, /admin/*); undefined: not started (ADMIN_PORT=off). */
  readonly adminPort: number | undefined;
  readonly adminHost: string;
  /** Events per second per site and process when the site sets no rateLimit; 0: none. */
  readonly siteRateLimit: number;
  /** Where GET /admin/report reads the reference aggregator's aggregates (AGG_PREFIX, REPORT_MIN_COUNT). */
  readonly report: { readonly prefix: string; readonly minCount: number };
  /** Bounds of one admin access/erasure scan (docs/data-subject-requests.md). */
  readonly admin: {
    /** Most stream entries one call reads before answering `complete: false`. */
    readonly scanMaxEntries: number;
    /** Most time one call spends scanning before answering `complete: false`. */
    readonly scanTimeMs: number;
  };
  /** The stream of erasure tombstones `{site, visitor, ts}` for downstream aggregates. */
  readonly erasureStream: string;
  /** How often the streams are trimmed by age (XTRIM MINID); 0: never. */
  readonly retentionTrimIntervalMs: number;
  readonly logLevel: string;
  readonly sink: {
    /** Most events waiting for Redis (queued + in flight) before hits get 503. */
    readonly maxPending: number;
    /** Most events written in one pipelined batch. */
    readonly maxBatch: number;
    /** A batch not acknowledged within this time fails its hits with 503. */
    readonly timeoutMs: number;
    /** Answer 2xx only once Redis has fsynced the entries to its AOF (WAITAOF 1 0). */
    readonly waitAof: boolean;
    /** Replicas that must have each batch (WAIT n) before its hits get 2xx; 0: the master's ack only. */
    readonly waitReplicas: number;
  };
  /** Slow clients are cut off (Node's http server timeouts). */
  readonly http: {
    /** Time allowed to receive the request headers. */
    readonly headersTimeoutMs: number;
    /** Time allowed to receive the whole request, headers and body. */
    readonly requestTimeoutMs: number;
    /** How often Node checks those two timeouts (so a cut comes at most this late). */
    readonly timeoutCheckMs: number;
  };
  /** Load shedding: beyond these, hits get 503 at once instead of queueing. */
  readonly pressure: {
    /** Mean event-loop delay over 250 ms above which hits are refused; 0 disables. */
    readonly maxEventLoopDelayMs: number;
    /** Most POST /event requests being received or processed at once. */
    readonly maxInFlightRequests: number;
  };
  readonly shutdown: {
    /** After SIGTERM, time spent not ready but still serving, so load balancers drain. */
    readonly delayMs: number;
    /** Then, the most time to finish in-flight requests and writes before exiting anyway. */
    readonly timeoutMs: number;
  };
}

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

const collectorSchema = collectorEnv.transform((env, ctx): Config => {
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

/** The collector's configuration from the environment (the only reader of process.env besides loadAggregateConfig). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return loadEnv(collectorSchema, env);
}
