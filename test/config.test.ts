import { describe, expect, it } from 'vitest';
import { refused } from './helpers/config.js';
import { loadConfig, MAX_RETENTION_MS, parseDuration } from '../src/config/index.js';

const KEYS = 'k1:0123456789abcdef0123456789abcdef';

describe('loadConfig', () => {
  it('has defaults that run next to a local Redis', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 8080, host: '0.0.0.0', redis: { kind: 'single', url: 'redis://127.0.0.1:6379' }, streamKey: 'hits', streamShards: 1 });
    expect(c.geoipDbs.length).toBe(2);
    expect(c.pseudonymKeyGenerated).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('refuses to start in production without keys, naming the variable', () => {
    expect(refused({ NODE_ENV: 'production' })).toBe('PSEUDONYM_KEYS');
    expect(loadConfig({ NODE_ENV: 'production', PSEUDONYM_KEYS: KEYS }).pseudonymKeys[0]!.id).toBe('k1');
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
    const c = loadConfig({ STREAM_RETENTION: '25 months', STREAM_SHARDS: '4', TRUST_PROXY: '10.0.0.0/8, ::1', REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001', GEOIP_DB: 'off' });
    expect(c.streamRetentionMs).toBe(Math.round(MAX_RETENTION_MS));
    expect(c.streamShards).toBe(4);
    expect(c.trustProxy).toEqual(['10.0.0.0/8', '::1']);
    expect(c.redis).toEqual({ kind: 'cluster', nodes: [{ host: '127.0.0.1', port: 7000 }, { host: '127.0.0.1', port: 7001 }] });
    expect(c.geoipDbs).toEqual([]);
  });

  it('parses durations', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('13 months')).toBeGreaterThan(395 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('x')).toBeUndefined();
  });
});
