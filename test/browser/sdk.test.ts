// The collector's promise: a site keeps its Piano Analytics SDK and only changes the
// collect domain. Each case drives the real SDK (piano-analytics-js, pinned, its own
// browser bundle) in Chromium and checks what landed in Redis: the stream and the
// opt-out counters, not only the HTTP status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymiseIp } from '../../src/pipeline/anonymise-ip.js';
import { Pseudonymiser } from '../../src/pipeline/pseudonymise.js';
import { type CaseResult, type Harness, startHarness } from './harness.js';

// The SDK's global, inside the page (scripts below run there, not in Node).
declare const pa: any;

/** A real public address (MaxMind's test range, GB); the load balancer reports it. */
const CLIENT_IP = '81.2.69.142';
const SITE = '123456';

type Rec = { id: string; site: string; event: string; mode: string; visitor?: string; geo?: Record<string, string>; props: Record<string, unknown> };
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
    h = await startHarness({ clientIp: CLIENT_IP });
    pseudonymiser = new Pseudonymiser(h.collector.config.pseudonymKeys);
    console.info(`piano-analytics-js@${h.sdkVersion}, Chromium ${h.browserVersion}; page ${h.pageOrigin}, collectDomain ${h.collectDomain}`);
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
    expect(expected?.country).toBe('GB');
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
    expect(page).toMatchObject({ site: SITE, event: 'page.display', mode: 'optin', props: { page: 'home', page_chapter1: 'news', user_id: 'user-123' } });
    expect(click).toMatchObject({ site: SITE, event: 'click.action', mode: 'optin', props: { click: 'cta', click_chapter1: 'header' } });
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
    expect(recs(r)[0]).toMatchObject({ event: 'page.display', props: { page: 'beacon' }, visitor: pseudonymiser.pseudonymise(SITE, browserId(r)) });
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
    expect(recs(r)[0]).toMatchObject({ event: 'page.display', props: { page: 'fetch' }, visitor: pseudonymiser.pseudonymise(SITE, browserId(r)) });
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

  it('no raw visitor id and no raw IP anywhere in Redis or in the logs', async () => {
    expect(rawIds.size).toBeGreaterThan(0);
    const stream = await h.collector.rawStream();
    expect(stream.length).toBeGreaterThan(0);
    const keys = await h.collector.redis.keys('*');
    const counters = (await Promise.all(keys.filter((k) => k.startsWith('optout:')).map((k) => h.collector.redis.hgetall(k)))).map((x) =>
      JSON.stringify(x),
    );
    const haystacks = { stream, keys: keys.join('\n'), counters: counters.join('\n'), logs: h.collector.logs.join('\n') };
    expect(h.collector.logs.length).toBeGreaterThan(0);
    for (const [where, text] of Object.entries(haystacks)) {
      for (const id of rawIds) expect(text.includes(id), `raw id in ${where}`).toBe(false);
      expect(text.includes(CLIENT_IP), `raw IP in ${where}`).toBe(false);
    }
  });
});
