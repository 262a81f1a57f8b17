// GET /privacy?s=<site> (src/routes/privacy.ts): the conditions the collector applies
// to a site's hits, as the site's privacy notice can quote them, without a secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXEMPT_EVENTS } from '../../src/policy/allowlists.js';
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
});
