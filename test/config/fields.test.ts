// The variables (src/config/fields.ts): each one's default and bounds, the lists, the
// rules spanning two variables, secrets from `<NAME>_FILE`, and how a refusal is reported.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  embeddedGeoipDbs,
  loadAggregateConfig,
  loadConfig,
  MAX_RETENTION_MS,
  parseDuration,
} from '../../src/config/index.js';
import { environment } from '../../src/config/fields.js';
import { ConfigError } from '../../src/errors.js';
import { refusal, refused, refusedBy } from './refused.js';

type Variable = keyof typeof environment.shape;

/** What the field of `variable` reads from `raw`, or its refusal. */
function read(variable: Variable, raw: string | undefined): { value: unknown } | { refused: string } {
  const r = (environment.shape[variable] as z.ZodType).safeParse(raw);
  return r.success ? { value: r.data } : { refused: r.error.issues[0]!.message };
}
const value = (variable: Variable, raw: string | undefined) => (read(variable, raw) as { value: unknown }).value;

const KEY = '0123456789abcdef0123456789abcdef';

describe('integer variables', () => {
  // name, default, min, max, and which process reads it
  const integers: [Variable, number, number, number, 'collector' | 'aggregator' | 'both'][] = [
    ['PORT', 8080, 0, 65535, 'collector'],
    ['WORKERS', 1, 1, 64, 'collector'],
    ['STREAM_SHARDS', 1, 1, 1024, 'both'],
    ['STREAM_MAXLEN', 10_000_000, 1000, 2 ** 40, 'collector'],
    ['GEOIP_WATCH_MS', 60_000, 100, 86_400_000, 'collector'],
    ['SITE_RATE_LIMIT', 2000, 0, 10_000_000, 'collector'],
    ['REPORT_MIN_COUNT', 5, 1, 1_000_000, 'both'],
    ['ADMIN_SCAN_MAX_ENTRIES', 5_000_000, 1000, 2 ** 40, 'collector'],
    ['ADMIN_SCAN_TIME_MS', 30_000, 100, 600_000, 'collector'],
    ['SINK_MAX_PENDING', 20_000, 1, 10_000_000, 'collector'],
    ['SINK_MAX_BATCH', 500, 1, 100_000, 'collector'],
    ['SINK_TIMEOUT_MS', 500, 10, 60_000, 'collector'],
    ['SINK_WAIT_REPLICAS', 0, 0, 16, 'collector'],
    ['HTTP_HEADERS_TIMEOUT_MS', 5000, 100, 600_000, 'collector'],
    ['HTTP_REQUEST_TIMEOUT_MS', 10_000, 100, 600_000, 'collector'],
    ['HTTP_TIMEOUT_CHECK_MS', 1000, 10, 60_000, 'collector'],
    ['MAX_EVENT_LOOP_DELAY_MS', 200, 0, 60_000, 'collector'],
    ['MAX_IN_FLIGHT_REQUESTS', 2048, 1, 1_000_000, 'collector'],
    ['SHUTDOWN_DELAY_MS', 5000, 0, 600_000, 'collector'],
    ['SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000, 'collector'],
    ['ADMIN_PORT', 8081, 0, 65535, 'collector'],
    ['AGG_BATCH', 200, 1, 10_000, 'aggregator'],
    ['AGG_BLOCK_MS', 2000, 10, 60_000, 'aggregator'],
    ['AGG_CLAIM_IDLE_MS', 60_000, 100, 86_400_000, 'aggregator'],
  ];

  it.each(integers)('%s: default %d, from %d to %d', (name, fallback, min, max, reader) => {
    expect(read(name, undefined)).toEqual({ value: fallback });
    expect(read(name, '')).toEqual({ value: fallback });
    expect(read(name, String(min))).toEqual({ value: min });
    expect(read(name, ` ${max} `)).toEqual({ value: max });
    expect(read(name, String(max + 1))).toEqual({ refused: `must be between ${min} and ${max}, got ${max + 1}` });
    if (min > 0)
      expect(read(name, String(min - 1))).toEqual({ refused: `must be between ${min} and ${max}, got ${min - 1}` });
    expect(read(name, '-1')).toEqual({ refused: 'expected an integer, got "-1"' });
    expect(read(name, '1k')).toEqual({ refused: 'expected an integer, got "1k"' });
    // the loaders name it
    const tooBig = { [name]: String(max + 1) };
    if (reader !== 'aggregator')
      expect(refusal(() => loadConfig(tooBig)).message).toBe(
        `invalid configuration: ${name}: must be between ${min} and ${max}, got ${max + 1}`,
      );
    if (reader !== 'collector') expect(refusedBy(() => loadAggregateConfig(tooBig))).toBe(name);
  });
});

describe('other variables', () => {
  it('HOST, ADMIN_HOST and SITES_FILE: trimmed text', () => {
    expect(value('HOST', undefined)).toBe('0.0.0.0');
    expect(value('HOST', ' ::1 ')).toBe('::1');
    expect(value('ADMIN_HOST', '')).toBe('127.0.0.1');
    expect(value('SITES_FILE', undefined)).toBeUndefined();
    expect(value('SITES_FILE', '  ')).toBeUndefined();
    expect(value('SITES_FILE', ' /etc/sites.json ')).toBe('/etc/sites.json');
  });

  it('STREAM_KEY, ERASURE_STREAM and AGG_PREFIX: key names', () => {
    expect([
      value('STREAM_KEY', undefined),
      value('ERASURE_STREAM', undefined),
      value('AGG_PREFIX', undefined),
    ]).toEqual(['hits', 'erasures', 'agg']);
    for (const name of ['STREAM_KEY', 'ERASURE_STREAM', 'AGG_PREFIX'] as const) {
      expect(read(name, 'a{b}')).toEqual({ refused: 'must be 1-200 characters without spaces or braces' });
      expect(refused({ [name]: 'a b' })).toBe(name);
      expect(refusedBy(() => loadAggregateConfig({ [name]: 'x'.repeat(201) }))).toBe(name);
    }
  });

  it('STREAM_RETENTION: 13 months by default, at most 25 months', () => {
    expect(value('STREAM_RETENTION', undefined)).toBe(parseDuration('13 months'));
    expect(value('STREAM_RETENTION', '30d')).toBe(30 * 86_400_000);
    expect(value('STREAM_RETENTION', '25 months')).toBe(Math.round(MAX_RETENTION_MS));
    expect(value('STREAM_RETENTION', '761d')).toBe(761 * 86_400_000);
    expect(read('STREAM_RETENTION', '762d')).toEqual({ refused: 'the CNIL exemption allows at most 25 months' });
    expect(read('STREAM_RETENTION', '26 months')).toEqual({ refused: 'the CNIL exemption allows at most 25 months' });
    expect(read('STREAM_RETENTION', ' forever ')).toEqual({
      refused: '"forever" is not a duration such as 30d or 13 months',
    });
    expect(read('STREAM_RETENTION', '0')).toEqual({ refused: '"0" is not a duration such as 30d or 13 months' });
  });

  it('STREAM_TRIM_INTERVAL: 10m by default, from 1s to 24h, or off', () => {
    expect(value('STREAM_TRIM_INTERVAL', undefined)).toBe(600_000);
    expect(value('STREAM_TRIM_INTERVAL', 'off')).toBe(0);
    expect(value('STREAM_TRIM_INTERVAL', '0')).toBe(0);
    expect(value('STREAM_TRIM_INTERVAL', '1s')).toBe(1000);
    expect(value('STREAM_TRIM_INTERVAL', '24h')).toBe(86_400_000);
    expect(read('STREAM_TRIM_INTERVAL', '10ms')).toEqual({
      refused: '"10ms" is not a duration between 1s and 24h (or off)',
    });
    expect(read('STREAM_TRIM_INTERVAL', '25h')).toEqual({
      refused: '"25h" is not a duration between 1s and 24h (or off)',
    });
  });

  it('AGG_DEDUPE_WINDOW: 48h by default, from 1h to 31d', () => {
    expect(value('AGG_DEDUPE_WINDOW', undefined)).toBe(48 * 3_600_000);
    expect(value('AGG_DEDUPE_WINDOW', '1h')).toBe(3_600_000);
    expect(value('AGG_DEDUPE_WINDOW', '31d')).toBe(31 * 86_400_000);
    for (const raw of ['59m', '32d', 'long'])
      expect(read('AGG_DEDUPE_WINDOW', raw)).toEqual({ refused: 'must be a duration between 1h and 31d' });
  });

  it('SINK_WAIT_AOF: off by default', () => {
    expect(value('SINK_WAIT_AOF', undefined)).toBe(false);
    expect(value('SINK_WAIT_AOF', 'yes')).toBe(true);
    expect(read('SINK_WAIT_AOF', 'maybe')).toEqual({ refused: 'expected on or off, got "maybe"' });
  });

  it('LOG_LEVEL: a pino level, info by default', () => {
    expect(value('LOG_LEVEL', undefined)).toBe('info');
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      expect(value('LOG_LEVEL', ` ${level} `)).toBe(level);
    expect(read('LOG_LEVEL', ' loud ')).toEqual({ refused: 'unknown pino level "loud"' });
    expect(read('LOG_LEVEL', 'INFO')).toEqual({ refused: 'unknown pino level "INFO"' });
  });

  it('ADMIN_TOKEN: absent, or at least 16 characters', () => {
    expect(value('ADMIN_TOKEN', undefined)).toBeUndefined();
    expect(value('ADMIN_TOKEN', ' ')).toBeUndefined();
    expect(value('ADMIN_TOKEN', ` ${'x'.repeat(16)} `)).toBe('x'.repeat(16));
    expect(read('ADMIN_TOKEN', ` ${'x'.repeat(15)} `)).toEqual({ refused: 'must be at least 16 characters' });
  });

  it('ADMIN_PORT: off', () => {
    expect(value('ADMIN_PORT', 'off')).toBeUndefined();
    expect(value('ADMIN_PORT', 'OFF')).toBeUndefined();
  });

  it('GEOIP_DB: the embedded data by default, a list of paths, or off', () => {
    expect(value('GEOIP_DB', undefined)).toEqual(embeddedGeoipDbs());
    expect(value('GEOIP_DB', ' ')).toEqual(embeddedGeoipDbs());
    expect(value('GEOIP_DB', ' Off ')).toEqual([]);
    expect(value('GEOIP_DB', '/a.mmdb , /b.mmdb')).toEqual(['/a.mmdb', '/b.mmdb']);
  });

  it('TRUST_PROXY: IP addresses and CIDR ranges', () => {
    expect(value('TRUST_PROXY', undefined)).toEqual([]);
    expect(value('TRUST_PROXY', ' ')).toEqual([]);
    expect(value('TRUST_PROXY', '10.0.0.0/8, ::1,fe80::/10, ::ffff:1.2.3.4')).toEqual([
      '10.0.0.0/8',
      '::1',
      'fe80::/10',
      '::ffff:1.2.3.4',
    ]);
    expect(read('TRUST_PROXY', '10.0.0.0/8, nope')).toEqual({ refused: '"nope" is not an IP address or CIDR range' });
    expect(read('TRUST_PROXY', '1.2.3.4/33')).toEqual({ refused: '"1.2.3.4/33" is not an IP address or CIDR range' });
    expect(read('TRUST_PROXY', '10.0.0.1,')).toEqual({ refused: '"" is not an IP address or CIDR range' });
  });

  it('REDIS_CLUSTER_NODES: host:port, comma-separated', () => {
    expect(value('REDIS_CLUSTER_NODES', ' ')).toBeUndefined();
    expect(value('REDIS_CLUSTER_NODES', ' h:1 , [::1]:7000,10.0.0.1:65535')).toEqual([
      { host: 'h', port: 1 },
      { host: '::1', port: 7000 },
      { host: '10.0.0.1', port: 65535 },
    ]);
    expect(read('REDIS_CLUSTER_NODES', 'h:1,a')).toEqual({ refused: '"a" is not host:port' });
    expect(read('REDIS_CLUSTER_NODES', 'h:123456')).toEqual({ refused: '"h:123456" is not host:port' });
    expect(read('REDIS_CLUSTER_NODES', 'h:1,,h:2')).toEqual({ refused: '"" is not host:port' });
  });

  it('REDIS_URL: redis:// or rediss://, redis://127.0.0.1:6379 by default', () => {
    expect(loadConfig({ REDIS_URL: ' ' }).redis).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379' });
    expect(loadConfig({ REDIS_URL: ' rediss://u:p@h:1/0 ' }).redis).toEqual({
      kind: 'single',
      url: 'rediss://u:p@h:1/0',
    });
    expect(refusal(() => loadConfig({ REDIS_URL: 'http://x' })).message).toBe(
      'invalid configuration: REDIS_URL: must start with redis:// or rediss://',
    );
    expect(refusal(() => loadAggregateConfig({ REDIS_URL: 'redis://[bad' })).message).toBe(
      'invalid configuration: REDIS_URL: is not a valid URL',
    );
  });

  it('PSEUDONYM_KEYS: keyId:secret entries, the first one active', () => {
    const keys = value('PSEUDONYM_KEYS', ` k1: ${KEY} , k_0-b:${KEY.toUpperCase()} `) as {
      id: string;
      secret: Buffer;
    }[];
    expect(keys.map((k) => [k.id, k.secret.toString('utf8')])).toEqual([
      ['k1', KEY],
      ['k_0-b', KEY.toUpperCase()],
    ]);
    const entry = 'each entry is keyId:secret, keyId of 1-16 letters, digits, "_" or "-"';
    for (const raw of ['k1', `:${KEY}`, `bad id:${KEY}`, `${'k'.repeat(17)}:${KEY}`, `k1:${KEY},`])
      expect(read('PSEUDONYM_KEYS', raw)).toEqual({ refused: entry });
    expect(read('PSEUDONYM_KEYS', `k1:${KEY.slice(1)}`)).toEqual({
      refused: 'the secret of key "k1" is shorter than 32 characters',
    });
    expect(read('PSEUDONYM_KEYS', `k1:${KEY},k1:${KEY}`)).toEqual({ refused: 'key id "k1" appears twice' });
  });

  it('AGG_GROUP and AGG_CONSUMER: Redis group member names', () => {
    expect(value('AGG_GROUP', undefined)).toBe('aggregate');
    expect(value('AGG_CONSUMER', undefined)).toBeUndefined();
    expect(value('AGG_CONSUMER', ' a.b:c-d_1 ')).toBe('a.b:c-d_1');
    for (const name of ['AGG_GROUP', 'AGG_CONSUMER'] as const) {
      expect(read(name, 'a b')).toEqual({ refused: 'must be 1-100 letters, digits, _ . : -' });
      expect(read(name, 'x'.repeat(101))).toEqual({ refused: 'must be 1-100 letters, digits, _ . : -' });
    }
  });
});

describe('secrets from files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'collector-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('reads PSEUDONYM_KEYS, ADMIN_TOKEN and REDIS_URL from *_FILE, trimmed', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      GEOIP_DB: 'off',
      PSEUDONYM_KEYS_FILE: file('keys', 'k9:0123456789abcdef0123456789abcdef\n'),
      ADMIN_TOKEN_FILE: file('token', 'a-long-admin-token-1234\n'),
      REDIS_URL_FILE: file('url', 'redis://:secret@redis:6379\n'),
    });
    expect(config.pseudonymKeys[0]!.id).toBe('k9');
    expect(config.pseudonymKeyGenerated).toBe(false);
    expect(config.adminToken).toBe('a-long-admin-token-1234');
    expect(config.redis).toEqual({ kind: 'single', url: 'redis://:secret@redis:6379' });
  });

  it('refuses a missing file or both forms, naming the variable', () => {
    expect(() => loadConfig({ PSEUDONYM_KEYS_FILE: path.join(dir, 'nope') })).toThrow(
      /PSEUDONYM_KEYS_FILE: cannot read .*ENOENT/,
    );
    expect(() => loadConfig({ ADMIN_TOKEN: 'x'.repeat(20), ADMIN_TOKEN_FILE: file('t2', 'y'.repeat(20)) })).toThrow(
      ConfigError,
    );
  });

  it('words those refusals exactly', () => {
    const nope = path.join(dir, 'nope');
    expect(
      refusal(() => loadConfig({ ADMIN_TOKEN: 'x'.repeat(20), ADMIN_TOKEN_FILE: file('t3', 'y'.repeat(20)) })).message,
    ).toBe('invalid configuration: ADMIN_TOKEN_FILE: set either ADMIN_TOKEN or ADMIN_TOKEN_FILE, not both');
    expect(refusal(() => loadConfig({ REDIS_URL_FILE: ` ${nope} ` })).message).toBe(
      `invalid configuration: REDIS_URL_FILE: cannot read ${nope}: ENOENT`,
    );
    expect(refusal(() => loadConfig({ PSEUDONYM_KEYS_FILE: dir })).message).toBe(
      `invalid configuration: PSEUDONYM_KEYS_FILE: cannot read ${dir}: EISDIR`,
    );
  });

  it('checks a secret read from a file like one set directly', () => {
    expect(refusal(() => loadConfig({ ADMIN_TOKEN_FILE: file('short', 'short\n') })).message).toBe(
      'invalid configuration: ADMIN_TOKEN: must be at least 16 characters',
    );
    expect(refusedBy(() => loadConfig({ PSEUDONYM_KEYS_FILE: file('bad-keys', 'k1:short') }))).toBe('PSEUDONYM_KEYS');
    expect(refusedBy(() => loadConfig({ REDIS_URL_FILE: file('bad-url', 'http://x') }))).toBe('REDIS_URL');
    // an empty file is an unset secret
    expect(refusedBy(() => loadConfig({ NODE_ENV: 'production', PSEUDONYM_KEYS_FILE: file('empty', '') }))).toBe(
      'PSEUDONYM_KEYS',
    );
  });

  it('ignores a blank *_FILE, and a blank plain value beside a file', () => {
    expect(loadConfig({ ADMIN_TOKEN_FILE: ' ' }).adminToken).toBeUndefined();
    expect(loadConfig({ ADMIN_TOKEN: ' ', ADMIN_TOKEN_FILE: file('t4', 'a-long-admin-token-1234') }).adminToken).toBe(
      'a-long-admin-token-1234',
    );
  });

  it('are read before anything else is checked, by the aggregator too', () => {
    expect(refusedBy(() => loadConfig({ PORT: 'x', PSEUDONYM_KEYS_FILE: path.join(dir, 'nope') }))).toBe(
      'PSEUDONYM_KEYS_FILE',
    );
    expect(loadAggregateConfig({ REDIS_URL_FILE: file('url2', 'redis://agg:6379\n') }).redis).toEqual({
      kind: 'single',
      url: 'redis://agg:6379',
    });
    // as before, every *_FILE is read, even of a secret the aggregator does not use
    expect(refusedBy(() => loadAggregateConfig({ PSEUDONYM_KEYS_FILE: path.join(dir, 'nope') }))).toBe(
      'PSEUDONYM_KEYS_FILE',
    );
  });
});
