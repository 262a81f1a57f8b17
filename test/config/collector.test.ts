// loadConfig (src/config/collector.ts): the collector's Config from its variables, the
// rules between them, and the process stopping with exit code 78 on a refusal.
import { describe, expect, it } from 'vitest';
import { embeddedGeoipDbs, loadConfig, MAX_RETENTION_MS, parseDuration } from '../../src/config/index.js';
import { refusal, refused, refusedBy, runEntry } from './refused.js';

const KEYS = 'k1:0123456789abcdef0123456789abcdef';

describe('loadConfig', () => {
  it('has defaults that run next to a local Redis', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 8080,
      host: '0.0.0.0',
      redis: { kind: 'single', url: 'redis://127.0.0.1:6379' },
      streamKey: 'hits',
      streamShards: 1,
    });
    expect(c.geoipDbs.length).toBe(2);
    expect(c.pseudonymKeyGenerated).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('has the documented default for every setting', () => {
    const { pseudonymKeys, ...c } = loadConfig({});
    expect(c).toEqual({
      port: 8080,
      host: '0.0.0.0',
      workers: 1,
      redis: { kind: 'single', url: 'redis://127.0.0.1:6379' },
      streamKey: 'hits',
      streamShards: 1,
      streamMaxLen: 10_000_000,
      streamRetentionMs: parseDuration('13 months'),
      geoipDbs: embeddedGeoipDbs(),
      geoipWatchMs: 60_000,
      pseudonymKeyGenerated: true,
      sitesFile: undefined,
      trustProxy: [],
      adminToken: undefined,
      adminPort: 8081,
      adminHost: '127.0.0.1',
      siteRateLimit: 2000,
      report: { prefix: 'agg', minCount: 5 },
      admin: { scanMaxEntries: 5_000_000, scanTimeMs: 30_000 },
      erasureStream: 'erasures',
      retentionTrimIntervalMs: 600_000,
      logLevel: 'info',
      sink: { maxPending: 20_000, maxBatch: 500, timeoutMs: 500, waitAof: false, waitReplicas: 0 },
      http: { headersTimeoutMs: 5000, requestTimeoutMs: 10_000, timeoutCheckMs: 1000 },
      pressure: { maxEventLoopDelayMs: 200, maxInFlightRequests: 2048 },
      shutdown: { delayMs: 5000, timeoutMs: 10_000 },
    });
    // a throw-away key, different at every start
    expect(pseudonymKeys).toHaveLength(1);
    expect(pseudonymKeys[0]!.id).toBe('dev');
    expect(pseudonymKeys[0]!.secret.length).toBe(32);
    expect(loadConfig({}).pseudonymKeys[0]!.secret.equals(pseudonymKeys[0]!.secret)).toBe(false);
  });

  it('puts every variable where it belongs', () => {
    const c = loadConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      WORKERS: '4',
      REDIS_URL: 'rediss://user:pw@redis.example:6380/2',
      STREAM_KEY: 'k:hits',
      STREAM_SHARDS: '8',
      STREAM_MAXLEN: '5000',
      STREAM_RETENTION: '30d',
      GEOIP_DB: '/a.mmdb, /b.mmdb',
      GEOIP_WATCH_MS: '1000',
      PSEUDONYM_KEYS: `${KEYS},k0:fedcba9876543210fedcba9876543210`,
      SITES_FILE: '/etc/sites.json',
      TRUST_PROXY: '10.0.0.1',
      ADMIN_TOKEN: 'a-long-admin-token-1234',
      ADMIN_PORT: '9001',
      ADMIN_HOST: '0.0.0.0',
      SITE_RATE_LIMIT: '0',
      AGG_PREFIX: 'k:agg',
      REPORT_MIN_COUNT: '10',
      ADMIN_SCAN_MAX_ENTRIES: '1000',
      ADMIN_SCAN_TIME_MS: '100',
      ERASURE_STREAM: 'k:erasures',
      STREAM_TRIM_INTERVAL: '1h',
      LOG_LEVEL: 'warn',
      SINK_MAX_PENDING: '7',
      SINK_MAX_BATCH: '6',
      SINK_TIMEOUT_MS: '50',
      SINK_WAIT_AOF: 'on',
      HTTP_HEADERS_TIMEOUT_MS: '2000',
      HTTP_REQUEST_TIMEOUT_MS: '3000',
      HTTP_TIMEOUT_CHECK_MS: '100',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      MAX_IN_FLIGHT_REQUESTS: '10',
      SHUTDOWN_DELAY_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '100',
    });
    expect({ ...c, pseudonymKeys: c.pseudonymKeys.map((k) => [k.id, k.secret.toString()]) }).toEqual({
      port: 9000,
      host: '127.0.0.1',
      workers: 4,
      redis: { kind: 'single', url: 'rediss://user:pw@redis.example:6380/2' },
      streamKey: 'k:hits',
      streamShards: 8,
      streamMaxLen: 5000,
      streamRetentionMs: 30 * 86_400_000,
      geoipDbs: ['/a.mmdb', '/b.mmdb'],
      geoipWatchMs: 1000,
      pseudonymKeys: [
        ['k1', '0123456789abcdef0123456789abcdef'],
        ['k0', 'fedcba9876543210fedcba9876543210'],
      ],
      pseudonymKeyGenerated: false,
      sitesFile: '/etc/sites.json',
      trustProxy: ['10.0.0.1'],
      adminToken: 'a-long-admin-token-1234',
      adminPort: 9001,
      adminHost: '0.0.0.0',
      siteRateLimit: 0,
      report: { prefix: 'k:agg', minCount: 10 },
      admin: { scanMaxEntries: 1000, scanTimeMs: 100 },
      erasureStream: 'k:erasures',
      retentionTrimIntervalMs: 3_600_000,
      logLevel: 'warn',
      sink: { maxPending: 7, maxBatch: 6, timeoutMs: 50, waitAof: true, waitReplicas: 0 },
      http: { headersTimeoutMs: 2000, requestTimeoutMs: 3000, timeoutCheckMs: 100 },
      pressure: { maxEventLoopDelayMs: 0, maxInFlightRequests: 10 },
      shutdown: { delayMs: 0, timeoutMs: 100 },
    });
  });

  it('is deep-frozen', () => {
    const c = loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', TRUST_PROXY: '10.0.0.1', PSEUDONYM_KEYS: KEYS });
    for (const part of [
      c,
      c.sink,
      c.http,
      c.pressure,
      c.shutdown,
      c.admin,
      c.report,
      c.redis,
      c.trustProxy,
      c.geoipDbs,
      c.pseudonymKeys,
      c.pseudonymKeys[0],
    ]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
    expect(c.redis.kind === 'cluster' && Object.isFrozen(c.redis.nodes[0])).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('no longer carries NODE_ENV (nothing read it)', () => {
    expect(loadConfig({ NODE_ENV: 'test' })).not.toHaveProperty('nodeEnv');
  });

  it('refuses to start in production without keys, naming the variable', () => {
    expect(refused({ NODE_ENV: 'production' })).toBe('PSEUDONYM_KEYS');
    expect(loadConfig({ NODE_ENV: 'production', PSEUDONYM_KEYS: KEYS }).pseudonymKeys[0]!.id).toBe('k1');
    expect(refusal(() => loadConfig({ NODE_ENV: 'production', PSEUDONYM_KEYS: ' ' })).message).toBe(
      'invalid configuration: PSEUDONYM_KEYS: required when NODE_ENV=production (format keyId:secret[,keyId:secret...])',
    );
    // only exactly "production" makes the key required
    expect(loadConfig({ NODE_ENV: 'Production' }).pseudonymKeyGenerated).toBe(true);
  });

  it('names the variable of every invalid setting', () => {
    expect(refused({ PORT: 'eighty' })).toBe('PORT');
    expect(refused({ PSEUDONYM_KEYS: 'k1:short' })).toBe('PSEUDONYM_KEYS');
    expect(refused({ PSEUDONYM_KEYS: `${KEYS},${KEYS}` })).toBe('PSEUDONYM_KEYS');
    expect(refused({ STREAM_RETENTION: '26 months' })).toBe('STREAM_RETENTION');
    expect(refused({ STREAM_RETENTION: 'forever' })).toBe('STREAM_RETENTION');
    expect(refused({ TRUST_PROXY: '10.0.0.0/8,nope' })).toBe('TRUST_PROXY');
    expect(refused({ REDIS_URL: 'http://x' })).toBe('REDIS_URL');
    expect(refused({ REDIS_CLUSTER_NODES: 'a' })).toBe('REDIS_CLUSTER_NODES');
    expect(refused({ STREAM_SHARDS: '0' })).toBe('STREAM_SHARDS');
    expect(refused({ LOG_LEVEL: 'loud' })).toBe('LOG_LEVEL');
    expect(refused({ WORKERS: '0' })).toBe('WORKERS');
    expect(refused({ WORKERS: 'two' })).toBe('WORKERS');
  });

  it('reads retention, shards, proxies, cluster nodes and GEOIP_DB=off', () => {
    const c = loadConfig({
      STREAM_RETENTION: '25 months',
      STREAM_SHARDS: '4',
      TRUST_PROXY: '10.0.0.0/8, ::1',
      REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001',
      GEOIP_DB: 'off',
    });
    expect(c.streamRetentionMs).toBe(Math.round(MAX_RETENTION_MS));
    expect(c.streamShards).toBe(4);
    expect(c.trustProxy).toEqual(['10.0.0.0/8', '::1']);
    expect(c.redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
      ],
    });
    expect(c.geoipDbs).toEqual([]);
  });

  it('reports the first problem when several variables are wrong', () => {
    expect(refusal(() => loadConfig({ LOG_LEVEL: 'loud', PORT: 'x' })).message).toBe(
      'invalid configuration: LOG_LEVEL: unknown pino level "loud"',
    );
    expect(refused({ PORT: 'x', WORKERS: 'y' })).toBe('PORT');
    // the rules between two variables come after every single variable
    expect(refused({ ADMIN_PORT: '8080', SHUTDOWN_TIMEOUT_MS: '1' })).toBe('SHUTDOWN_TIMEOUT_MS');
  });
});

describe('rules between variables', () => {
  it('keeps the operator listener off the public port, unless both are 0 (any free port) or it is off', () => {
    expect(refusal(() => loadConfig({ ADMIN_PORT: '8080' })).message).toBe(
      "invalid configuration: ADMIN_PORT: must differ from PORT (8080): the operator's listener is never the public one",
    );
    expect(refused({ PORT: '9000', ADMIN_PORT: '9000' })).toBe('ADMIN_PORT');
    expect(refused({ PORT: '8081' })).toBe('ADMIN_PORT');
    expect(loadConfig({ PORT: '0', ADMIN_PORT: '0' })).toMatchObject({ port: 0, adminPort: 0 });
    expect(loadConfig({ PORT: '8081', ADMIN_PORT: 'off' }).adminPort).toBeUndefined();
    expect(loadConfig({ ADMIN_PORT: ' OFF ' }).adminPort).toBeUndefined();
  });

  it('wants the headers before the whole request', () => {
    expect(refusal(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '10001' })).message).toBe(
      'invalid configuration: HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (10000)',
    );
    expect(refused({ HTTP_REQUEST_TIMEOUT_MS: '4999' })).toBe('HTTP_HEADERS_TIMEOUT_MS');
    expect(
      loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '10000', HTTP_REQUEST_TIMEOUT_MS: '10000' }).http.headersTimeoutMs,
    ).toBe(10_000);
  });

  it('reads REDIS_URL only without REDIS_CLUSTER_NODES', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'h:1', REDIS_URL: 'not a url' }).redis).toEqual({
      kind: 'cluster',
      nodes: [{ host: 'h', port: 1 }],
    });
    expect(refusal(() => loadConfig({ REDIS_URL: 'redis://[bad' })).message).toBe(
      'invalid configuration: REDIS_URL: is not a valid URL',
    );
  });
});

describe('reliability settings', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.sink).toMatchObject({ timeoutMs: 500, waitAof: false, maxPending: 20_000 });
    expect(c.http).toEqual({ headersTimeoutMs: 5000, requestTimeoutMs: 10_000, timeoutCheckMs: 1000 });
    expect(c.pressure).toEqual({ maxEventLoopDelayMs: 200, maxInFlightRequests: 2048 });
    expect(c.shutdown).toEqual({ delayMs: 5000, timeoutMs: 10_000 });
  });

  it('reads them, and names the variable of an invalid one', () => {
    expect(loadConfig({ SINK_WAIT_AOF: 'on' }).sink.waitAof).toBe(true);
    expect(loadConfig({ SINK_WAIT_AOF: 'false' }).sink.waitAof).toBe(false);
    expect(loadConfig({ MAX_EVENT_LOOP_DELAY_MS: '0' }).pressure.maxEventLoopDelayMs).toBe(0);
    expect(refused({ SINK_WAIT_AOF: 'maybe' })).toBe('SINK_WAIT_AOF');
    expect(loadConfig({ SINK_WAIT_REPLICAS: '2' }).sink.waitReplicas).toBe(2);
    expect(refused({ SINK_WAIT_REPLICAS: 'all' })).toBe('SINK_WAIT_REPLICAS');
    expect(refused({ SINK_WAIT_REPLICAS: '17' })).toBe('SINK_WAIT_REPLICAS');
    expect(refused({ HTTP_REQUEST_TIMEOUT_MS: '10s' })).toBe('HTTP_REQUEST_TIMEOUT_MS');
    expect(refused({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toBe(
      'HTTP_HEADERS_TIMEOUT_MS',
    );
    expect(refused({ MAX_IN_FLIGHT_REQUESTS: '0' })).toBe('MAX_IN_FLIGHT_REQUESTS');
    expect(refused({ SHUTDOWN_DELAY_MS: '-1' })).toBe('SHUTDOWN_DELAY_MS');
    expect(refused({ SHUTDOWN_TIMEOUT_MS: '5' })).toBe('SHUTDOWN_TIMEOUT_MS');
  });
});

describe('admin, erasure and retention settings', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    expect(c.admin).toEqual({ scanMaxEntries: 5_000_000, scanTimeMs: 30_000 });
    expect(c.erasureStream).toBe('erasures');
    expect(c.retentionTrimIntervalMs).toBe(600_000);
    expect(c.adminToken).toBeUndefined();
  });

  it('reads and refuses them by name', () => {
    const c = loadConfig({ STREAM_TRIM_INTERVAL: 'off', ERASURE_STREAM: 'x:erasures', ADMIN_SCAN_TIME_MS: '500' });
    expect(c.retentionTrimIntervalMs).toBe(0);
    expect(c.erasureStream).toBe('x:erasures');
    expect(c.admin.scanTimeMs).toBe(500);
    expect(refusedBy(() => loadConfig({ STREAM_TRIM_INTERVAL: '10ms' }))).toBe('STREAM_TRIM_INTERVAL');
    expect(refusedBy(() => loadConfig({ ERASURE_STREAM: 'a b' }))).toBe('ERASURE_STREAM');
    expect(refusedBy(() => loadConfig({ ADMIN_TOKEN: 'short' }))).toBe('ADMIN_TOKEN');
    expect(refusedBy(() => loadConfig({ ADMIN_SCAN_MAX_ENTRIES: '10' }))).toBe('ADMIN_SCAN_MAX_ENTRIES');
  });
});

describe('src/server.ts', () => {
  it('exits 78 (EX_CONFIG) with the one message naming the variable', async () => {
    const { code, stderr } = await runEntry('src/server.ts', { PORT: 'eighty' });
    expect(code).toBe(78);
    expect(stderr).toBe('invalid configuration: PORT: expected an integer, got "eighty"\n');
  });
});
