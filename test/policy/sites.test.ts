import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { loadSites, parseSites, SITE_ID_SHAPE } from '../../src/policy/sites.js';

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
    expect(s).toMatchObject({
      maxMode: 'optin',
      domains: ['www.example.org', 'example.org', '*.example.net'],
      gpcIsObjection: true,
    });
    expect(s.exemptProperties.has('article_type')).toBe(true);
    expect(s.exemptEvents.has('product.display')).toBe(true);
    expect(sites.get('654321')).toMatchObject({ maxMode: 'exempt' }); // the safe default
    expect(sites.get('nope')).toBeUndefined();
  });

  it('without a file, accepts every site with the exempt defaults', () => {
    const sites = loadSites(undefined);
    expect(sites.configured).toBe(false);
    expect(sites.get('4711')).toMatchObject({
      maxMode: 'exempt',
      domains: [],
      gpcIsObjection: true,
      keepRobots: false,
    });
  });

  it('sets robots apart unless a site keeps them (bots: "keep")', () => {
    const sites = parseSites({ sites: { '1': {}, '2': { bots: 'keep' }, '3': { bots: 'set-apart' } } });
    expect([1, 2, 3].map((s) => sites.get(String(s))!.keepRobots)).toEqual([false, true, false]);
    expect(refusal({ sites: { '1': { bots: 'allow' } } })).toMatch(/sites\.1\.bots/);
    expect(refusal({ sites: { '1': { bots: true } } })).toMatch(/sites\.1\.bots/);
  });

  it('without a file, takes only site ids with the shape Piano and Matomo give them: digits, bounded', () => {
    const sites = loadSites(undefined);
    for (const ok of ['1', '123456', '2147483647']) expect(sites.get(ok), ok).toBeDefined();
    for (const bad of ['203.0.113.9', 'mx1ai3fsjp7z2jhr', 'anything', '', '12345678901', '1 ', '-1', '１２３']) {
      expect(sites.get(bad), bad).toBeUndefined();
      expect(SITE_ID_SHAPE.test(bad), bad).toBe(false);
    }
  });

  it('refuses any added name that reads as a user id, an e-mail address or campaign data, under any spelling', () => {
    const names = [
      // user ids
      'user_id',
      'plausible_prop_user_id',
      'user.id',
      'userId',
      'UserID',
      'USER-ID',
      'usr_name',
      'plausible_prop_userId',
      'customerId',
      'plausible_prop_uid',
      'cvar_visit_user_id',
      'login',
      'visitorId',
      // e-mail addresses
      'Email',
      'e_mail',
      'e-mail',
      'plausible_prop_email',
      'contactEmail',
      'mail',
      'email_address',
      'eMail',
      // campaign parameters and click identifiers
      'plausible_prop_utm_source',
      'plausible_prop_gclid',
      'utm.source',
      'utmSource',
      'UTM_CAMPAIGN',
      'pk-campaign',
      'pk.kwd',
      'mtm_source',
      'at_medium',
      'gclid',
      'GCLID',
      'fbClid',
      'plausible_prop_fbclid',
      'ms.clk.id',
      'xtor',
      'mc_eid',
      'mcEid',
      // fields the collector fills itself
      'geo_city',
      'geo.lat',
      'geoCity',
      'plausible_prop_geo_region',
      'latitude',
      'site_id',
      'hit_time_utc',
    ];
    for (const name of names) {
      const message = refusal({ sites: { '42': { allow: { properties: [name] } } } });
      // the message names the site and the name
      expect(message, name).toContain('site 42');
      expect(message, name).toContain(`"${name}"`);
    }
    expect(refusal({ sites: { '42': { allow: { properties: ['plausible_prop_utm_source'] } } } })).toMatch(/campaign/);
    expect(refusal({ sites: { '42': { allow: { properties: ['userId'] } } } })).toMatch(/user id/);
    expect(refusal({ sites: { '42': { allow: { properties: ['e_mail'] } } } })).toMatch(/e-mail/);
    // ordinary names stay allowed
    const fine = [
      'article_type',
      'plausible_prop_plan',
      'plausible_prop_author',
      'dimension1',
      'cvar_visit_1',
      'event_category',
      'utm',
      'page_template',
      'mailbox_size_class',
      'site_section',
      'attribute',
      'users_online',
    ];
    expect(() => parseSites({ sites: { '42': { allow: { properties: fine } } } })).not.toThrow();
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
