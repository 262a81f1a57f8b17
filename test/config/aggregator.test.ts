// loadAggregateConfig (src/config/aggregator.ts): the reference aggregator's and the
// report's configuration, and `npm run aggregate` stopping with exit code 78 on a refusal.
import { describe, expect, it } from 'vitest';
import { loadAggregateConfig, parseDuration } from '../../src/config/index.js';
import { refusal, refusedBy, runEntry } from './refused.js';

describe('loadAggregateConfig', () => {
  it('needs no pseudonym key, even in production', () => {
    const c = loadAggregateConfig({ NODE_ENV: 'production', AGG_CONSUMER: 'c1' });
    expect(c).toMatchObject({
      group: 'aggregate',
      consumer: 'c1',
      prefix: 'agg',
      minCount: 5,
      streamKey: 'hits',
      erasureStream: 'erasures',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('has the documented default for every setting', () => {
    expect(loadAggregateConfig({ HOSTNAME: 'web-1' })).toEqual({
      redis: { kind: 'single', url: 'redis://127.0.0.1:6379' },
      streamKey: 'hits',
      streamShards: 1,
      erasureStream: 'erasures',
      retentionMs: parseDuration('13 months'),
      group: 'aggregate',
      consumer: `web-1-${process.pid}`,
      prefix: 'agg',
      batch: 200,
      blockMs: 2000,
      claimIdleMs: 60_000,
      dedupeWindowMs: 48 * 3_600_000,
      minCount: 5,
      logLevel: 'info',
    });
    expect(loadAggregateConfig({}).consumer).toBe(`aggregator-${process.pid}`);
  });

  it('puts every variable where it belongs', () => {
    const c = loadAggregateConfig({
      REDIS_CLUSTER_NODES: '10.0.0.1:7000, 10.0.0.2:7001',
      STREAM_KEY: 'k:hits',
      STREAM_SHARDS: '4',
      ERASURE_STREAM: 'k:erasures',
      STREAM_RETENTION: '30d',
      AGG_GROUP: 'g1',
      AGG_CONSUMER: 'c.1:x-y_z',
      AGG_PREFIX: 'k:agg',
      AGG_BATCH: '10',
      AGG_BLOCK_MS: '10',
      AGG_CLAIM_IDLE_MS: '100',
      AGG_DEDUPE_WINDOW: '1h',
      REPORT_MIN_COUNT: '1',
      LOG_LEVEL: 'silent',
    });
    expect(c).toEqual({
      redis: {
        kind: 'cluster',
        nodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: '10.0.0.2', port: 7001 },
        ],
      },
      streamKey: 'k:hits',
      streamShards: 4,
      erasureStream: 'k:erasures',
      retentionMs: 30 * 86_400_000,
      group: 'g1',
      consumer: 'c.1:x-y_z',
      prefix: 'k:agg',
      batch: 10,
      blockMs: 10,
      claimIdleMs: 100,
      dedupeWindowMs: 3_600_000,
      minCount: 1,
      logLevel: 'silent',
    });
    expect(Object.isFrozen(c.redis)).toBe(true);
  });

  it('has no test-only setting: AGG_TEST_CRASH_AFTER is not read', () => {
    const c = loadAggregateConfig({ AGG_TEST_CRASH_AFTER: '150' });
    expect(c).not.toHaveProperty('testCrashAfter');
    expect(loadAggregateConfig({ AGG_TEST_CRASH_AFTER: 'nonsense' })).toEqual(c);
  });

  it('refuses what the collector refuses, and its own settings by name', () => {
    expect(refusedBy(() => loadAggregateConfig({ STREAM_RETENTION: '26 months' }))).toBe('STREAM_RETENTION');
    expect(refusedBy(() => loadAggregateConfig({ AGG_CONSUMER: 'a b' }))).toBe('AGG_CONSUMER');
    expect(refusedBy(() => loadAggregateConfig({ REPORT_MIN_COUNT: '0' }))).toBe('REPORT_MIN_COUNT');
    expect(refusedBy(() => loadAggregateConfig({ AGG_DEDUPE_WINDOW: '1m' }))).toBe('AGG_DEDUPE_WINDOW');
    expect(refusedBy(() => loadAggregateConfig({ AGG_GROUP: 'a/b' }))).toBe('AGG_GROUP');
    expect(refusedBy(() => loadAggregateConfig({ REDIS_URL: 'http://x' }))).toBe('REDIS_URL');
    expect(refusedBy(() => loadAggregateConfig({ LOG_LEVEL: 'loud' }))).toBe('LOG_LEVEL');
    expect(refusedBy(() => loadAggregateConfig({ AGG_BATCH: '10001' }))).toBe('AGG_BATCH');
  });

  it('blames AGG_CONSUMER when the default made from HOSTNAME is not a valid name', () => {
    expect(refusal(() => loadAggregateConfig({ HOSTNAME: 'my host' })).message).toBe(
      'invalid configuration: AGG_CONSUMER: must be 1-100 letters, digits, _ . : -',
    );
    expect(refusedBy(() => loadAggregateConfig({ HOSTNAME: 'h'.repeat(100) }))).toBe('AGG_CONSUMER');
    expect(loadAggregateConfig({ HOSTNAME: 'bad host', AGG_CONSUMER: ' c1 ' }).consumer).toBe('c1');
    expect(loadAggregateConfig({ HOSTNAME: ' web-1 ' }).consumer).toBe(`web-1-${process.pid}`);
  });

  it('ignores the collector-only variables', () => {
    expect(loadAggregateConfig({ PORT: 'eighty', WORKERS: '0', TRUST_PROXY: 'nope', ADMIN_TOKEN: 'short' }).group).toBe(
      'aggregate',
    );
  });
});

describe('src/aggregate/main.ts', () => {
  it('exits 78 (EX_CONFIG) with the one message naming the variable', async () => {
    const { code, stderr } = await runEntry('src/aggregate/main.ts', { AGG_DEDUPE_WINDOW: '1m' });
    expect(code).toBe(78);
    expect(stderr).toBe('invalid configuration: AGG_DEDUPE_WINDOW: must be a duration between 1h and 31d\n');
  });
});
