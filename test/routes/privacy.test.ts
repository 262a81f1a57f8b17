// GET /privacy?s=<site> (src/routes/privacy.ts): the conditions the collector applies
// to a site's hits, as the site's privacy notice can quote them, without a secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXEMPT_EVENTS, SERVER_OWNED_PROPERTIES } from '../../src/policy/allowlists.js';
import { startTestApp, type TestApp, writeSitesFile } from '../helpers/app.js';

describe('GET /privacy', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({
      SITES_FILE: writeSitesFile({
        '123456': { domains: ['www.example.org', '*.example.net'], maxMode: 'optin' },
        '777': { gpc: 'ignore' },
      }),
    });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('states what the collector does for a site, without secrets', async () => {
    const res = await fetch(`${base}/privacy?s=123456`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      site: '123456',
      siteConfigured: true,
      conditions: {
        ipTruncation: { ipv4PrefixBits: 24, ipv6PrefixBits: 48 },
        geolocation: { level: 'city', enabled: true },
        visitorPseudonym: { activeKeyId: 'k1' },
        modes: { maxMode: 'optin' },
        oneSite: { allowedDomains: ['www.example.org', '*.example.net'] },
        retention: { maximumMonths: 25 },
      },
    });
    expect(body.conditions.exemptAllowlists.events).toEqual(EXEMPT_EVENTS);
    const text = JSON.stringify(body);
    expect(text).not.toContain('0123456789abcdef'); // the test key's secret
    expect((await fetch(`${base}/privacy?s=999999`)).status).toBe(404);
    expect((await fetch(`${base}/privacy`)).status).toBe(400);
    const other = await (await fetch(`${base}/privacy?s=777`)).json();
    expect(other.conditions.globalPrivacyControl).toBe('ignored');
  });

  it('states the fields a client does not choose, from the lists the code applies', async () => {
    const body = await (await fetch(`${base}/privacy?s=123456`)).json();
    const c = body.conditions;
    expect(c.serverOwnedFields.names).toEqual(SERVER_OWNED_PROPERTIES);
    expect(c.serverOwnedFields.namesStartingWith).toEqual(['geo_']);
    expect(c.clientChosenIds.properties).toEqual(['pageview_id']);
    expect(c.siteIds).toMatch(/sites file names every site/);
    expect(c.trackerLifetime.rule).toMatch(/_idts/);
    expect(c.trackers.matomo.bulk).toMatch(/one site/);
  });

  it('without a sites file, says what a site id looks like and refuses one without the shape', async () => {
    const open = await startTestApp({});
    try {
      const ok = await open.app.inject({ method: 'GET', url: '/privacy?s=4711' });
      expect(ok.json().conditions.siteIds).toMatch(/1-10 digits/);
      const bad = await open.app.inject({ method: 'GET', url: '/privacy?s=203.0.113.9' });
      expect(bad.statusCode).toBe(400);
      expect(bad.body).not.toContain('203.0.113.9');
    } finally {
      await open.close();
    }
  });
});
