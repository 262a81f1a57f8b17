// The collector's promise: a site keeps its Piano Analytics SDK and only changes the
// collect domain. Each case drives the real SDK (piano-analytics-js, pinned, its own
// browser bundle) in Chromium and checks what landed in Redis: the stream and the
// opt-out counters, not only the HTTP status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymiseIp } from '../../src/pipeline/anonymise-ip.js';
import { Pseudonymiser } from '../../src/pipeline/pseudonymise.js';
import { type CaseResult, type Harness, startHarness } from './harness.js';

// The SDK's global, inside the page (scripts below run there, not in Node).
type SdkCall = (...args: unknown[]) => void;
declare const pa: {
  sendEvent: SdkCall;
  sendEvents: SdkCall;
  setConfigurations: SdkCall;
  setProperty: SdkCall;
  setUser: SdkCall;
  consent: { setMode: SdkCall };
  privacy: { setMode: SdkCall; include: { event: SdkCall; properties: SdkCall; property: SdkCall } };
};

/** A real public address (MaxMind's test range, GB); the load balancer reports it. */
const CLIENT_IP = '81.2.69.142';
/** The site of most cases: a consent banner (maxMode optin), its pages on 127.0.0.1. */
const SITE = '123456';
/** A site without a banner: whatever the SDK claims, at most exempt. */
const CAPPED_SITE = '222222';
/** A site whose pages are elsewhere: hits from the test page are refused. */
const OTHER_DOMAIN_SITE = '333333';
const SITES = {
  [SITE]: { domains: ['127.0.0.1'], maxMode: 'optin', allow: { properties: ['custom_allowed'] } },
  [CAPPED_SITE]: { domains: ['127.0.0.1'], maxMode: 'exempt' },
  [OTHER_DOMAIN_SITE]: { domains: ['www.example.org', '*.example.org'], maxMode: 'optin' },
};
/** The opt-out counter hash of a site for the current UTC hour (docs/privacy.md, "Opt-out counters"). */
const optoutKeyPattern = (site: string) => new RegExp(`^optout:\\{${site}\\}:\\d{4}-\\d{2}-\\d{2}T\\d{2}$`);

type Rec = {
  id: string;
  site: string;
  event: string;
  mode: string;
  visitor?: string;
  geo?: Record<string, string>;
  props: Record<string, unknown>;
};
const recs = (r: CaseResult) => r.records as Rec[];
const query = (url: string) => Object.fromEntries(new URL(url, 'http://x').searchParams);
/** The SDK's visitor id, from its `_pcid` cookie (URL-encoded JSON `{"browserId": ..., "_t": ...}`). */
function browserId(r: CaseResult): string {
  const raw = r.cookies._pcid;
  if (!raw) throw new Error('the SDK set no _pcid cookie');
  return (JSON.parse(decodeURIComponent(raw)) as { browserId: string }).browserId;
}

describe('the real Piano Analytics SDK in Chromium', () => {
  let h: Harness;
  let pseudonymiser: Pseudonymiser;
  /** Every raw visitor id the SDK sent during the suite: none may appear in Redis or logs. */
  const rawIds = new Set<string>();

  beforeAll(async () => {
    h = await startHarness({ clientIp: CLIENT_IP, sites: SITES });
    pseudonymiser = new Pseudonymiser(h.collector.config.pseudonymKeys);
    console.info(
      `piano-analytics-js@${h.sdkVersion}, Chromium ${h.browserVersion}; page ${h.pageOrigin}, collectDomain ${h.collectDomain}`,
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  function noteIds(r: CaseResult) {
    for (const req of r.requests) {
      const id = query(req.url).idclient;
      if (id && !['OPT-OUT', 'no-consent', 'no-storage'].includes(id)) rawIds.add(id);
    }
    if (r.cookies._pcid) rawIds.add(browserId(r));
  }

  /** Every request the SDK sent got a 2xx readable cross-origin (else the SDK resends). */
  function expectCleanAnswers(r: CaseResult, n: number) {
    expect(r.requests.map((q) => q.method)).toEqual(Array(n).fill('POST'));
    for (const q of r.requests) {
      expect(q.status).toBe(204);
      expect(q.responseHeaders['access-control-allow-origin']).toBe(r.pageOrigin);
      expect(q.headers.origin).toBe(r.pageOrigin); // cross-origin, as in production
    }
    expect(r.pageErrors).toEqual([]);
  }

  function expectCityGeo(rec: Rec) {
    const expected = h.collector.app.geolocator.lookup(anonymiseIp(CLIENT_IP));
    // the pinned embedded GeoLite2 City data, for 81.2.69.0
    expect(expected).toEqual({ country: 'GB', region: 'England', city: 'Bracknell' });
    expect(rec.geo).toEqual(expected);
    expect(Object.keys(rec.geo ?? {}).every((k) => ['country', 'region', 'city'].includes(k))).toBe(true);
  }

  it('opt-in: a page view and a click give one record each, with page, city geolocation and the pseudonym', async () => {
    const r = await h.runCase(
      ({ collectDomain, site }) => {
        pa.setConfigurations({ site, collectDomain });
        pa.privacy.setMode('optin');
        pa.setUser('user-123', 'premium');
        pa.sendEvent('page.display', { page: 'home', page_chapter1: 'news' });
        pa.sendEvent('click.action', { click: 'cta', click_chapter1: 'header' });
      },
      { collectDomain: h.collectDomain, site: SITE },
      { requests: 2, records: 2 },
    );
    noteIds(r);
    expectCleanAnswers(r, 2);
    const pcid = browserId(r);
    expect(pcid).toMatch(/^[0-9a-z]{16}$/);
    expect(r.requests.map((q) => query(q.url))).toEqual([
      { s: SITE, idclient: pcid },
      { s: SITE, idclient: pcid },
    ]);
    const [page, click] = recs(r);
    expect(recs(r)).toHaveLength(2);
    expect(page).toMatchObject({
      site: SITE,
      event: 'page.display',
      mode: 'optin',
      props: { page: 'home', page_chapter1: 'news', user_id: 'user-123' },
    });
    expect(click).toMatchObject({
      site: SITE,
      event: 'click.action',
      mode: 'optin',
      props: { click: 'cta', click_chapter1: 'header' },
    });
    for (const rec of [page!, click!]) {
      expect(rec.visitor).toBe(pseudonymiser.pseudonymise(SITE, pcid));
      expectCityGeo(rec);
    }
    expect(r.counterDeltas).toEqual({});
  });

  it('transport sendBeacon (default): one request, one record, no duplicate', async () => {
    const r = await h.runCase(
      ({ collectDomain, site }) => {
        pa.setConfigurations({ site, collectDomain });
        pa.privacy.setMode('optin');
        pa.sendEvent('page.display', { page: 'beacon' });
      },
      { collectDomain: h.collectDomain, site: SITE },
      { requests: 1, records: 1 },
    );
    noteIds(r);
    expect(r.transport.map((t) => t.via)).toEqual(['sendBeacon']);
    expect(r.requests[0]!.headers['sec-fetch-mode']).toBe('no-cors');
    expectCleanAnswers(r, 1);
    expect(recs(r)).toHaveLength(1);
    expect(recs(r)[0]).toMatchObject({
      event: 'page.display',
      props: { page: 'beacon' },
      visitor: pseudonymiser.pseudonymise(SITE, browserId(r)),
    });
  });

  it('transport fetch (useSendBeacon: false): the CORS answer is accepted, one request, one record, no duplicate', async () => {
    const r = await h.runCase(
      ({ collectDomain, site }) => {
        pa.setConfigurations({ site, collectDomain, useSendBeacon: false });
        pa.privacy.setMode('optin');
        pa.sendEvent('page.display', { page: 'fetch' });
      },
      { collectDomain: h.collectDomain, site: SITE },
      { requests: 1, records: 1 },
    );
    noteIds(r);
    expect(r.transport).toMatchObject([{ via: 'fetch', keepalive: true }]);
    expect(r.requests[0]!.headers['sec-fetch-mode']).toBe('cors');
    expect(r.requests[0]!.headers.cookie).toBeUndefined(); // fetch carries no cookie; the id is in the query
    expectCleanAnswers(r, 1);
    expect(recs(r)).toHaveLength(1);
    expect(recs(r)[0]).toMatchObject({
      event: 'page.display',
      props: { page: 'fetch' },
      visitor: pseudonymiser.pseudonymise(SITE, browserId(r)),
    });
  });

  it('control: without Access-Control-Allow-Origin the fetch transport resends, so the duplicate check can fail', async () => {
    const r = await h.runCase(
      ({ collectDomain, site }) => {
        pa.setConfigurations({ site, collectDomain, useSendBeacon: false });
        pa.privacy.setMode('optin');
        pa.sendEvent('page.display', { page: 'cors-control' });
      },
      { collectDomain: h.collectDomain, site: SITE },
      {
        requests: 2,
        records: 2,
        rewriteAnswer: (headers) => {
          const { 'access-control-allow-origin': _dropped, ...rest } = headers;
          return rest;
        },
      },
    );
    noteIds(r);
    expect(r.requests).toHaveLength(2); // the SDK could not read the answer and sent the hit again
    expect(r.requests[0]!.body).toBe(r.requests[1]!.body);
    expect(recs(r)).toHaveLength(2);
    expect(recs(r)[0]!.id).toBe(recs(r)[1]!.id); // same dedupe key: consumers drop the repeat
  });

  it('sendEvents: several events in one request give one record each', async () => {
    const r = await h.runCase(
      ({ collectDomain, site }) => {
        pa.setConfigurations({ site, collectDomain });
        pa.privacy.setMode('optin');
        pa.sendEvents([
          { name: 'page.display', data: { page: 'batch' } },
          { name: 'click.action', data: { click: 'cta' } },
          { name: 'product.display', data: { product_id: 'p-1' } },
        ]);
      },
      { collectDomain: h.collectDomain, site: SITE },
      { requests: 1, records: 3 },
    );
    noteIds(r);
    expectCleanAnswers(r, 1);
    expect(r.sentEvents.map((e) => e.name)).toEqual(['page.display', 'click.action', 'product.display']);
    expect(recs(r).map((x) => x.event)).toEqual(['page.display', 'click.action', 'product.display']);
    expect(new Set(recs(r).map((x) => x.id)).size).toBe(3);
    const visitor = pseudonymiser.pseudonymise(SITE, browserId(r));
    expect(recs(r).every((x) => x.visitor === visitor)).toBe(true);
  });

  /** The SDK filtered first; the server re-applies the exempt allowlist: both must agree. */
  /**
   * What an exempt record keeps of an SDK event: what the SDK sent, but for the two
   * values the exempt rules change on every real SDK hit: cookie_creation_date cut to
   * the day, pageview_id keyed (it starts with the visitor id's creation time).
   */
  function asStored(sent: Record<string, unknown>, stored: Record<string, unknown>): Record<string, unknown> {
    const out = { ...sent };
    if (typeof out.cookie_creation_date === 'string') out.cookie_creation_date = out.cookie_creation_date.slice(0, 10);
    if (typeof out.pageview_id === 'string') {
      expect(stored.pageview_id).toMatch(/^k1\.[A-Za-z0-9_-]{22}$/);
      out.pageview_id = stored.pageview_id;
    }
    return out;
  }

  function expectServerAgreesWithSdk(r: CaseResult) {
    expect(recs(r).map((x) => x.event)).toEqual(r.sentEvents.map((e) => e.name));
    recs(r).forEach((rec, i) => {
      expect(rec.mode).toBe('exempt');
      expect(rec.props).toEqual(asStored(r.sentEvents[i]!.data, rec.props));
    });
  }

  it('exempt (privacy.setMode): the SDK filters, the server keeps exactly what it sent, no user_*', async () => {
    const r = await h.runCase(
      ({ collectDomain, site }) => {
        pa.setConfigurations({ site, collectDomain });
        pa.privacy.setMode('exempt');
        pa.setProperty('site_level2', 'sports', { persistent: true });
        pa.setUser('user-123', 'premium');
        pa.sendEvent('page.display', { page: 'home', page_chapter1: 'news', custom_prop: 'dropped by the SDK' });
        pa.sendEvent('click.navigation', { click: 'menu', click_chapter1: 'header' });
        pa.sendEvent('product.display', { product_id: 'p-1' }); // not an exempt event: the SDK sends nothing
        pa.sendEvents([
          { name: 'click.exit', data: { click: 'outbound' } },
          { name: 'product.display', data: { product_id: 'p-2' } },
        ]);
      },
      { collectDomain: h.collectDomain, site: SITE },
      { requests: 3, records: 3 },
    );
    noteIds(r);
    expectCleanAnswers(r, 3);
    expect(r.sentEvents.map((e) => [e.name, e.data.visitor_privacy_mode])).toEqual([
      ['page.display', 'exempt'],
      ['click.navigation', 'exempt'],
      ['click.exit', 'exempt'],
    ]);
    expectServerAgreesWithSdk(r);
    const visitor = pseudonymiser.pseudonymise(SITE, browserId(r));
    for (const rec of recs(r)) {
      expect(rec.visitor).toBe(visitor);
      expectCityGeo(rec);
      expect(
        Object.keys(rec.props).filter((k) => k.startsWith('user_') || k === 'custom_prop' || k === 'site_level2'),
      ).toEqual([]);
    }
    expect(recs(r)[0]!.props).toMatchObject({ page: 'home', page_chapter1: 'news' });
    expect(r.counterDeltas).toEqual({});
  });

  it('exempt with the SDK include options: the server still drops user_id, unlisted properties and events', async () => {
    const r = await h.runCase(
      ({ collectDomain, site }) => {
        pa.setConfigurations({ site, collectDomain });
        pa.privacy.setMode('exempt');
        pa.privacy.include.properties(['user_id', 'custom_allowed', 'custom_extra'], 'exempt');
        pa.privacy.include.property('article_id', 'exempt', 'page.display');
        pa.privacy.include.event('product.display', 'exempt');
        pa.setUser('user-123', 'premium');
        pa.sendEvent('page.display', { page: 'home', custom_allowed: 'kept', custom_extra: 'x', article_id: 'a-1' });
        pa.sendEvent('click.action', { click: 'cta', custom_allowed: 'kept' });
        pa.sendEvent('product.display', { product_id: 'p-1', custom_allowed: 'kept' });
      },
      { collectDomain: h.collectDomain, site: SITE },
      { requests: 3, records: 2 },
    );
    noteIds(r);
    expectCleanAnswers(r, 3);
    // what the SDK let through thanks to include: user_id, the custom properties, the extra event
    expect(r.sentEvents.map((e) => e.name)).toEqual(['page.display', 'click.action', 'product.display']);
    expect(r.sentEvents[0]!.data).toMatchObject({
      user_id: 'user-123',
      custom_allowed: 'kept',
      custom_extra: 'x',
      article_id: 'a-1',
    });
    // what the server kept: the site's own addition (custom_allowed) only
    expect(recs(r).map((x) => x.event)).toEqual(['page.display', 'click.action']);
    for (const [i, rec] of recs(r).entries()) {
      const sent = r.sentEvents[i]!.data;
      const { user_id: _u, custom_extra: _c, article_id: _a, ...expected } = sent;
      expect(rec.mode).toBe('exempt');
      expect(rec.props).toEqual(asStored(expected, rec.props));
      expect(rec.props.custom_allowed).toBe('kept');
      expect(Object.keys(rec.props).some((k) => k.startsWith('user_'))).toBe(false);
    }
    expect(r.counterDeltas).toEqual({});
  });

  it("exempt via the consent API (pa.consent.setMode('essential')): mode exempt on the wire and in the record", async () => {
    const r = await h.runCase(
      ({ collectDomain, site }) => {
        pa.setConfigurations({ site, collectDomain });
        pa.consent.setMode('essential');
        pa.setUser('user-123', 'premium');
        pa.sendEvent('page.display', { page: 'home', page_chapter1: 'news', custom_prop: 'x' });
        pa.sendEvent('click.action', { click: 'cta', custom_prop: 'x' });
        pa.sendEvent('product.display', { product_id: 'p-1' }); // not essential: the SDK sends nothing
      },
      { collectDomain: h.collectDomain, site: SITE },
      { requests: 2, records: 2, pac: { consentDefaultMode: 'opt-in' } },
    );
    noteIds(r);
    expectCleanAnswers(r, 2);
    expect(r.sentEvents.map((e) => [e.name, e.data.visitor_privacy_mode, e.data.visitor_privacy_consent])).toEqual([
      ['page.display', 'exempt', false],
      ['click.action', 'exempt', false],
    ]);
    expectServerAgreesWithSdk(r);
    for (const rec of recs(r)) {
      expect(rec.visitor).toBe(pseudonymiser.pseudonymise(SITE, browserId(r)));
      expect(Object.keys(rec.props).some((k) => k.startsWith('user_') || k === 'custom_prop')).toBe(false);
    }
  });

  it('a site capped at exempt (maxMode) stores an opt-in claim as exempt, without user_*', async () => {
    const r = await h.runCase(
      ({ collectDomain, site }) => {
        pa.setConfigurations({ site, collectDomain });
        pa.privacy.setMode('optin');
        pa.setUser('user-123', 'premium');
        pa.sendEvent('page.display', { page: 'home', custom_prop: 'x' });
      },
      { collectDomain: h.collectDomain, site: CAPPED_SITE },
      { requests: 1, records: 1 },
    );
    noteIds(r);
    expectCleanAnswers(r, 1);
    expect(r.sentEvents[0]!.data).toMatchObject({
      visitor_privacy_mode: 'optin',
      user_id: 'user-123',
      custom_prop: 'x',
    });
    const [rec] = recs(r);
    expect(rec).toMatchObject({ site: CAPPED_SITE, event: 'page.display', mode: 'exempt', props: { page: 'home' } });
    expect(Object.keys(rec!.props).some((k) => k.startsWith('user_') || k === 'custom_prop')).toBe(false);
    expect(rec!.visitor).toBe(pseudonymiser.pseudonymise(CAPPED_SITE, browserId(r)));
  });

  for (const [label, pac, script] of [
    [
      "opt-out (privacy.setMode('optout'))",
      undefined,
      ({ collectDomain, site }: { collectDomain: string; site: string }) => {
        pa.setConfigurations({ site, collectDomain });
        pa.privacy.setMode('optout');
        pa.sendEvent('page.display', { page: 'home', custom_prop: 'x' });
      },
    ],
    [
      "opt-out via the consent API (pa.consent.setMode('opt-out'))",
      { consentDefaultMode: 'opt-in' },
      ({ collectDomain, site }: { collectDomain: string; site: string }) => {
        pa.setConfigurations({ site, collectDomain });
        pa.consent.setMode('opt-out');
        pa.sendEvent('page.display', { page: 'home', custom_prop: 'x' });
      },
    ],
  ] as const) {
    it(`${label}: no record, the site's opt-out counter moves by one`, async () => {
      const r = await h.runCase(
        script,
        { collectDomain: h.collectDomain, site: SITE },
        { requests: 1, records: 0, pac },
      );
      noteIds(r);
      expectCleanAnswers(r, 1);
      expect(query(r.requests[0]!.url)).toEqual({ s: SITE, idclient: 'OPT-OUT' });
      expect(r.sentEvents[0]!.data.visitor_privacy_mode).toBe('optout');
      expect(r.records).toEqual([]);
      const keys = Object.keys(r.counterDeltas);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(optoutKeyPattern(SITE));
      const hourStart = Date.parse(`${keys[0]!.slice(-13)}:00:00Z`);
      expect(Date.now() - hourStart).toBeGreaterThanOrEqual(0);
      expect(Date.now() - hourStart).toBeLessThan(2 * 3_600_000);
      expect(r.counterDeltas[keys[0]!]).toEqual({ 'page.display': 1 });
      expect(await h.collector.redis.ttl(keys[0]!)).toBeGreaterThan(0);
    });
  }

  it('headless Chromium as it comes (HeadlessChrome in its User-Agent) is a robot: the same 204, no record, the robot counter moves', async () => {
    const r = await h.runCase(
      ({ collectDomain, site }) => {
        pa.setConfigurations({ site, collectDomain });
        pa.sendEvent('page.display', { page: 'headless' });
      },
      { collectDomain: h.collectDomain, site: SITE },
      { requests: 1, records: 0, headlessUserAgent: true },
    );
    expectCleanAnswers(r, 1);
    expect(r.requests[0]!.headers['user-agent']).toMatch(/HeadlessChrome/);
    expect(r.records).toEqual([]);
    const keys = Object.keys(r.counterDeltas);
    expect(keys).toEqual([expect.stringMatching(new RegExp(`^setapart:\\{${SITE}\\}:\\d{4}-\\d{2}-\\d{2}T\\d{2}$`))]);
    expect(r.counterDeltas[keys[0]!]).toEqual({ robot: 1 });
  });

  for (const transport of ['sendBeacon', 'fetch'] as const) {
    it(`a page on a domain the site does not list (${transport}): 403, nothing stored, no counter`, async () => {
      const script =
        transport === 'fetch'
          ? ({ collectDomain, site }: { collectDomain: string; site: string }) => {
              pa.setConfigurations({ site, collectDomain, useSendBeacon: false });
              pa.privacy.setMode('optin');
              pa.sendEvent('page.display', { page: 'home' });
            }
          : ({ collectDomain, site }: { collectDomain: string; site: string }) => {
              pa.setConfigurations({ site, collectDomain });
              pa.privacy.setMode('optin');
              pa.sendEvent('page.display', { page: 'home' });
            };
      // the fetch transport resends a refused hit once; the beacon never reads the answer
      const requests = transport === 'fetch' ? 2 : 1;
      const r = await h.runCase(
        script,
        { collectDomain: h.collectDomain, site: OTHER_DOMAIN_SITE },
        { requests, records: 0 },
      );
      noteIds(r);
      expect(r.requests).toHaveLength(requests);
      for (const q of r.requests) {
        expect(q.headers.origin).toBe(r.pageOrigin);
        expect(q.status).toBe(403);
        expect(q.responseHeaders['access-control-allow-origin']).toBe(r.pageOrigin);
      }
      expect(r.records).toEqual([]);
      expect(r.counterDeltas).toEqual({});
    });
  }

  // Runs last: it scans everything the cases above left (run the whole file, not this case alone).
  it('no raw visitor id and no raw IP anywhere in Redis or in the logs', async () => {
    expect(rawIds.size).toBeGreaterThan(0);
    const stream = await h.collector.rawStream();
    expect(stream.length).toBeGreaterThan(0);
    const keys = await h.collector.redis.keys('*');
    const counters = (
      await Promise.all(keys.filter((k) => k.startsWith('optout:')).map((k) => h.collector.redis.hgetall(k)))
    ).map((x) => JSON.stringify(x));
    const haystacks = {
      stream,
      keys: keys.join('\n'),
      counters: counters.join('\n'),
      logs: h.collector.logs.join('\n'),
    };
    expect(h.collector.logs.length).toBeGreaterThan(0);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const id of rawIds) expect(text.includes(id), `raw id in ${where}`).toBe(false);
      expect(text.includes(CLIENT_IP), `raw IP in ${where}`).toBe(false);
    }
  });
});
