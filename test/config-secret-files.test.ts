// Secrets from files (<NAME>_FILE), as Docker and Kubernetes secrets provide them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/index.js';
import { ConfigError } from '../src/errors.js';

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
    expect(() => loadConfig({ PSEUDONYM_KEYS_FILE: path.join(dir, 'nope') })).toThrow(/PSEUDONYM_KEYS_FILE: cannot read .*ENOENT/);
    expect(() => loadConfig({ ADMIN_TOKEN: 'x'.repeat(20), ADMIN_TOKEN_FILE: file('t2', 'y'.repeat(20)) })).toThrow(ConfigError);
  });
});
