import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadSites, parseSites } from '../../src/policy/sites.js';

function refusal(json: unknown): string {
  try {
    parseSites(json);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('SITES_FILE');
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('sites file', () => {
  it('loads the shipped example', () => {
    const sites = loadSites(path.resolve(import.meta.dirname, '../../docker/sites.example.json'));
    expect(sites.configured).toBe(true);
    const s = sites.get('123456')!;
    expect(s).toMatchObject({ maxMode: 'optin', domains: ['www.example.org', 'example.org', '*.example.net'], gpcIsObjection: true });
    expect(s.exemptProperties.has('article_type')).toBe(true);
    expect(s.exemptEvents.has('product.display')).toBe(true);
    expect(sites.get('654321')).toMatchObject({ maxMode: 'exempt' }); // the safe default
    expect(sites.get('nope')).toBeUndefined();
  });

  it('without a file, accepts every site with the exempt defaults', () => {
    const sites = loadSites(undefined);
    expect(sites.configured).toBe(false);
    expect(sites.get('anything')).toMatchObject({ maxMode: 'exempt', domains: [], gpcIsObjection: true, keepRobots: false });
  });

  it('sets robots apart unless a site keeps them (bots: "keep")', () => {
    const sites = parseSites({ sites: { '1': {}, '2': { bots: 'keep' }, '3': { bots: 'set-apart' } } });
    expect([1, 2, 3].map((s) => sites.get(String(s))!.keepRobots)).toEqual([false, true, false]);
    expect(refusal({ sites: { '1': { bots: 'allow' } } })).toMatch(/sites\.1\.bots/);
    expect(refusal({ sites: { '1': { bots: true } } })).toMatch(/sites\.1\.bots/);
  });

  it('refuses a bad file with a message naming the problem', () => {
    expect(refusal({})).toMatch(/sites/);
    expect(refusal({ sites: { '1': { maxMode: 'everything' } } })).toMatch(/sites\.1\.maxMode/);
    expect(refusal({ sites: { '1': { domains: ['https://example.org/'] } } })).toMatch(/host name/);
    expect(refusal({ sites: { '1': { allow: { properties: ['user_id'] } } } })).toMatch(/user_/);
    expect(refusal({ sites: { '1': { colour: 'blue' } } })).toMatch(/colour|Unrecognized/i);
    expect(refusal({ sites: { 'a b': {} } })).toMatch(/sites\.a b/);
    const bad = path.join(tmpdir(), `sites-${process.pid}.json`);
    writeFileSync(bad, '{ nope');
    expect(() => loadSites(bad)).toThrow(/not valid JSON/);
    expect(() => loadSites('/nonexistent/sites.json')).toThrow(/cannot read/);
    expect(readFileSync(bad, 'utf8')).toBe('{ nope');
  });
});
