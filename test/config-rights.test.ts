// Configuration of admin scans, erasures, retention trimming and the aggregator.
import { describe, expect, it } from 'vitest';
import { refusedBy } from './helpers/config.js';
import { loadAggregateConfig, loadConfig } from '../src/config/index.js';

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

describe('loadAggregateConfig', () => {
  it('needs no pseudonym key, even in production', () => {
    const c = loadAggregateConfig({ NODE_ENV: 'production', AGG_CONSUMER: 'c1' });
    expect(c).toMatchObject({ group: 'aggregate', consumer: 'c1', prefix: 'agg', minCount: 5, streamKey: 'hits', erasureStream: 'erasures', testCrashAfter: 0 });
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('refuses what the collector refuses, and its own settings by name', () => {
    expect(refusedBy(() => loadAggregateConfig({ STREAM_RETENTION: '26 months' }))).toBe('STREAM_RETENTION');
    expect(refusedBy(() => loadAggregateConfig({ AGG_CONSUMER: 'a b' }))).toBe('AGG_CONSUMER');
    expect(refusedBy(() => loadAggregateConfig({ REPORT_MIN_COUNT: '0' }))).toBe('REPORT_MIN_COUNT');
    expect(refusedBy(() => loadAggregateConfig({ AGG_DEDUPE_WINDOW: '1m' }))).toBe('AGG_DEDUPE_WINDOW');
  });
});
