// The privacy modes table of docs/privacy.md, row by row, with request bodies exactly as the real SDK sent them
// (test/fixtures/sdk), through HTTP into a real Redis. Rows the SDK cannot produce
// by itself (custom mode sends nothing, a missing or unknown mode, a lying client)
// are derived from a captured body by changing the one field named in the row.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXEMPT_EVENTS, EXEMPT_PROPERTIES } from '../../src/policy/allowlists.js';
import { optoutCounterKey } from '../../src/contract/keys.js';
import { startTestApp, type TestApp, writeSitesFile } from '../helpers/app.js';
import { freshSdkId, type SdkRequest, sdkFixture, sdkRequest } from '../helpers/fixtures.js';

const ALLOWED = new Set([
  ...EXEMPT_PROPERTIES,
  'connection_type',
  'device_timestamp_utc',
  'visitor_privacy_consent',
  'visitor_privacy_mode',
  'event_name',
]);
const PUBLIC_IP = '81.2.69.142';

type Rec = {
  id: string;
  site: string;
  event: string;
  mode: string;
  visitor?: string;
  geo?: object;
  props: Record<string, unknown>;
};

/** A captured request with its body's events rewritten. */
function derive(
  req: SdkRequest,
  change: (data: Record<string, unknown>) => void,
  query?: Record<string, string>,
): SdkRequest {
  const body = JSON.parse(req.body) as { events: { data: Record<string, unknown> }[] };
  for (const e of body.events) change(e.data);
  const q = { ...req.query, ...query };
  return {
    ...req,
    body: JSON.stringify(body),
    query: q,
    rawQueryString: Object.entries(q)
      .map(([k, v]) => `${k}=${v}`)
      .join('&'),
  };
}

interface Row {
  row: string;
  requests: SdkRequest[];
  site?: string;
  expect: {
    records: 'some' | 'none';
    mode?: string;
    visitor: boolean;
    userKept?: boolean;
    allowlistOnly?: boolean;
    geo: boolean;
    counter?: boolean;
  };
}

const exempt = sdkFixture('exempt').requests;
const optin = sdkFixture('optin').requests;

const ROWS: Row[] = [
  {
    row: 'optin, consent true, site allows opt-in',
    requests: optin,
    expect: { records: 'some', mode: 'optin', visitor: true, userKept: true, geo: true },
  },
  {
    row: 'consent API opt-in',
    requests: sdkFixture('consent-optin').requests,
    expect: { records: 'some', mode: 'optin', visitor: true, geo: true },
  },
  {
    row: 'optin claimed on a site capped at exempt',
    site: '654321',
    requests: optin,
    expect: { records: 'some', mode: 'exempt', visitor: true, userKept: false, allowlistOnly: true, geo: true },
  },
  {
    row: 'optin claimed with consent false',
    requests: optin.map((r) => derive(r, (d) => (d.visitor_privacy_consent = false))),
    expect: { records: 'some', mode: 'exempt', visitor: true, userKept: false, allowlistOnly: true, geo: true },
  },
  {
    row: 'exempt',
    requests: exempt,
    expect: { records: 'some', mode: 'exempt', visitor: true, userKept: false, allowlistOnly: true, geo: true },
  },
  {
    row: 'exempt with SDK include (user_id, custom props, product.display)',
    requests: sdkFixture('exempt-include').requests,
    expect: { records: 'some', mode: 'exempt', visitor: true, userKept: false, allowlistOnly: true, geo: true },
  },
  {
    row: 'consent API essential',
    requests: sdkFixture('consent-essential').requests,
    expect: { records: 'some', mode: 'exempt', visitor: true, userKept: false, allowlistOnly: true, geo: true },
  },
  {
    row: 'custom',
    requests: exempt.map((r) => derive(r, (d) => (d.visitor_privacy_mode = 'custom'))),
    expect: { records: 'some', mode: 'exempt', visitor: true, allowlistOnly: true, geo: true },
  },
  {
    row: 'missing mode',
    requests: optin.map((r) => derive(r, (d) => delete d.visitor_privacy_mode)),
    expect: { records: 'some', mode: 'exempt', visitor: true, userKept: false, allowlistOnly: true, geo: true },
  },
  {
    row: 'unknown mode',
    requests: optin.map((r) => derive(r, (d) => (d.visitor_privacy_mode = 'everything'))),
    expect: { records: 'some', mode: 'exempt', visitor: true, userKept: false, allowlistOnly: true, geo: true },
  },
  {
    row: 'no-storage',
    requests: sdkFixture('no-storage').requests,
    expect: { records: 'some', mode: 'exempt', visitor: false, userKept: false, allowlistOnly: true, geo: true },
  },
  {
    row: 'optout',
    requests: sdkFixture('optout').requests,
    expect: { records: 'none', visitor: false, geo: false, counter: true },
  },
  {
    row: 'consent API opt-out',
    requests: sdkFixture('consent-optout').requests,
    expect: { records: 'none', visitor: false, geo: false, counter: true },
  },
  {
    row: 'extended-optout',
    requests: sdkFixture('optout').requests.map((r) => derive(r, (d) => (d.visitor_privacy_mode = 'extended-optout'))),
    expect: { records: 'none', visitor: false, geo: false, counter: true },
  },
  {
    row: 'no-consent',
    requests: sdkFixture('no-consent').requests,
    expect: { records: 'none', visitor: false, geo: false, counter: true },
  },
  {
    row: 'idclient OPT-OUT while claiming optin',
    requests: optin.map((r) => derive(r, () => undefined, { idclient: 'OPT-OUT' })),
    expect: { records: 'none', visitor: false, geo: false, counter: true },
  },
];

describe('privacy modes, row by row (docs/privacy.md), with real SDK bodies', () => {
  let t: TestApp;
  let base: string;
  const counts: Record<string, { sent: number; kept: number }> = {};

  beforeAll(async () => {
    t = await startTestApp({
      TRUST_PROXY: '127.0.0.1',
      SITES_FILE: writeSitesFile({
        '123456': { maxMode: 'optin', domains: ['127.0.0.1'] },
        '654321': { maxMode: 'exempt' },
      }),
    });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    console.log(
      'properties sent → kept per row:\n' +
        Object.entries(counts)
          .map(([r, c]) => `  ${r}: ${c.sent} → ${c.kept} (${c.sent - c.kept} dropped)`)
          .join('\n'),
    );
    await t.close();
  });

  for (const row of ROWS) {
    it(row.row, async () => {
      const site = row.site ?? '123456';
      const before = new Set((await t.records()).map((r) => r.id));
      const counterKey = optoutCounterKey(site, Date.now());
      const counterBefore = Object.values(await t.redis.hgetall(counterKey)).reduce((a, b) => a + Number(b), 0);
      let sentProps = 0;
      let sentEvents = 0;
      for (const req of row.requests) {
        const q = req.rawQueryString.replace(/^s=\d+/, `s=${site}`);
        const res = await fetch(`${base}/event?${q}`, {
          method: 'POST',
          headers: {
            'content-type': req.headers['content-type']!,
            origin: req.headers.origin!,
            'x-forwarded-for': PUBLIC_IP,
          },
          body: req.body,
        });
        expect(res.status, await res.text()).toBe(204);
        for (const e of JSON.parse(req.body).events) {
          sentEvents++;
          sentProps += Object.keys(e.data ?? {}).length;
        }
      }
      const recs = ((await t.records()) as unknown as Rec[]).filter((r) => !before.has(r.id));
      counts[row.row] = { sent: sentProps, kept: recs.reduce((a, r) => a + Object.keys(r.props).length, 0) };
      // real visitor ids (the shared OPT-OUT, no-consent, no-storage also name modes)
      const rawIds = row.requests
        .map((r) => r.query.idclient)
        .filter((id): id is string => !!id && !['OPT-OUT', 'no-consent', 'no-storage'].includes(id));
      const streamText = JSON.stringify(recs);
      for (const id of rawIds) expect(streamText).not.toContain(`"${id}"`);

      if (row.expect.records === 'none') {
        expect(recs).toEqual([]);
      } else {
        expect(recs.length).toBeGreaterThan(0);
        expect(recs.length).toBeLessThanOrEqual(sentEvents);
      }
      for (const r of recs) {
        expect(r.mode).toBe(row.expect.mode);
        expect(r.site).toBe(site);
        expect(r.visitor !== undefined).toBe(row.expect.visitor);
        expect(r.geo !== undefined).toBe(row.expect.geo);
        if (row.expect.userKept === false)
          expect(Object.keys(r.props).filter((k) => k.startsWith('user_'))).toEqual([]);
        if (row.expect.userKept === true && r.event === 'page.display') expect(r.props.user_id).toBe('user-123');
        if (row.expect.allowlistOnly) {
          expect(EXEMPT_EVENTS).toContain(r.event);
          for (const k of Object.keys(r.props))
            expect(ALLOWED.has(k) || k.startsWith('ch_ua'), `${row.row}: ${k}`).toBe(true);
          for (const k of ['event_url_full', 'previous_url']) {
            const v = r.props[k];
            if (typeof v === 'string') expect(v).not.toMatch(/[?#]/);
          }
        }
      }
      const counterAfter = Object.values(await t.redis.hgetall(counterKey)).reduce((a, b) => a + Number(b), 0);
      if (row.expect.counter) {
        expect(counterAfter - counterBefore).toBe(sentEvents);
        const ttl = await t.redis.ttl(counterKey);
        expect(ttl).toBeGreaterThan(0);
        // refreshed until the hour ends: an hour less than the retention
        expect(ttl).toBeLessThanOrEqual(Math.ceil(t.config.streamRetentionMs / 1000) - 3600);
        const fields = Object.keys(await t.redis.hgetall(counterKey));
        for (const f of fields) expect(f).toMatch(/^[a-z._]+(\|.+)?$/);
      } else {
        expect(counterAfter).toBe(counterBefore);
      }
    });
  }

  it('pseudonymises an id ending in -NO like any other', async () => {
    const id = freshSdkId();
    const req = derive(optin[0]!, () => undefined, { idclient: `${id}-NO` });
    const before = new Set((await t.records()).map((r) => r.id));
    const res = await fetch(`${base}/event?${req.rawQueryString}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: req.headers.origin! },
      body: req.body,
    });
    expect(res.status).toBe(204);
    const [rec] = (await t.records()).filter((r) => !before.has(r.id as string));
    expect(rec!.visitor).toMatch(/^k1\./);
    expect(JSON.stringify(rec)).not.toContain(id);
  });

  it('drops the pseudonym of a cookie older than 13 months and keeps the hit', async () => {
    const old = new Date(Date.now() - 400 * 86_400_000).toISOString();
    const req = derive(exempt[0]!, (d) => (d.cookie_creation_date = old));
    const before = new Set((await t.records()).map((r) => r.id));
    const res = await fetch(`${base}/event?${req.rawQueryString}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: req.headers.origin! },
      body: req.body,
    });
    expect(res.status).toBe(204);
    const recs = (await t.records()).filter((r) => !before.has(r.id as string));
    expect(recs.length).toBeGreaterThan(0);
    for (const r of recs) expect(r.visitor).toBeUndefined();
  });
});

describe('site policy', () => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    t = await startTestApp({
      SITES_FILE: writeSitesFile({
        '123456': { domains: ['www.example.org', '*.example.net'], maxMode: 'optin' },
        '777': { gpc: 'ignore' },
        '888': { allow: { properties: ['custom_allowed'], events: ['product.display'] } },
      }),
    });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  const post = (site: string, headers: Record<string, string>, req = sdkRequest('exempt')) =>
    fetch(`${base}/event?s=${site}&idclient=${req.query.idclient}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
      body: req.body,
    });

  it('takes hits from listed domains, whatever the scheme or port', async () => {
    expect((await post('123456', { origin: 'https://www.example.org' })).status).toBe(204);
    expect((await post('123456', { origin: 'http://www.example.org:8443' })).status).toBe(204);
    expect((await post('123456', { origin: 'https://shop.example.net' })).status).toBe(204);
    expect((await post('123456', { referer: 'https://www.example.org/page?x=1' })).status).toBe(204);
  });

  it('refuses hits from other domains, or without Origin and Referer, with 403 and stores nothing', async () => {
    const before = (await t.records()).length;
    const cases: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { origin: 'https://example.org.evil.example' },
      { origin: 'https://evilexample.net' },
      { referer: 'https://evil.example/' },
      {},
    ];
    for (const headers of cases) {
      const res = await post('123456', headers);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ statusCode: 403, error: 'origin_not_allowed' });
    }
    expect((await t.records()).length).toBe(before);
  });

  it('takes a hit a back end sends (no Origin, no Referer) when every event names a page of the site', async () => {
    // what a site's server builds: the Piano wire format, its page in page_url
    const backEnd = (events: { name: string; data: Record<string, unknown> }[]) =>
      fetch(`${base}/event?s=123456&idclient=0123456789abcdef`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          events: events.map((e) => ({ ...e, data: { visitor_privacy_mode: 'exempt', ...e.data } })),
        }),
      });
    const before = (await t.records()).length;
    const own = await backEnd([
      { name: 'page.display', data: { page: 'server-side', page_url: 'https://www.example.org/from-the-server?q=1' } },
      { name: 'page.display', data: { page: 'server-side-2', page_url: 'https://shop.example.net:8443/b' } },
    ]);
    expect(own.status).toBe(204);
    const stored = (await t.records()).slice(before) as unknown as Rec[];
    expect(stored.map((r) => [r.event, r.props.page])).toEqual([
      ['page.display', 'server-side'],
      ['page.display', 'server-side-2'],
    ]);

    const after = (await t.records()).length;
    for (const events of [
      [{ name: 'page.display', data: { page: 'foreign', page_url: 'https://evil.example/www.example.org' } }],
      // the site's own page beside another site's, or beside an event naming no page: the whole request
      [
        { name: 'page.display', data: { page: 'own', page_url: 'https://www.example.org/' } },
        { name: 'page.display', data: { page: 'foreign', page_url: 'https://evilexample.net/' } },
      ],
      [
        { name: 'page.display', data: { page: 'own', page_url: 'https://www.example.org/' } },
        { name: 'click.action', data: { click: 'no page' } },
      ],
    ]) {
      const res = await backEnd(events);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ statusCode: 403, error: 'origin_not_allowed' });
    }
    expect((await t.records()).length).toBe(after);
  });

  it('refuses an unknown site when a sites file is in force', async () => {
    const res = await post('999999', { origin: 'https://www.example.org' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'unknown_site' });
  });

  it('treats Sec-GPC: 1 as an objection unless the site says otherwise', async () => {
    const before = (await t.records()).length;
    expect((await post('123456', { origin: 'https://www.example.org', 'sec-gpc': '1' })).status).toBe(204);
    expect((await t.records()).length).toBe(before);
    expect(Object.keys(await t.redis.hgetall(optoutCounterKey('123456', Date.now())))).not.toHaveLength(0);
    expect((await post('777', { 'sec-gpc': '1' })).status).toBe(204);
    expect((await t.records()).length).toBeGreaterThan(before);
  });

  it("applies a site's allowlist additions", async () => {
    const req = sdkRequest('exempt-include');
    const before = new Set((await t.records()).map((r) => r.id));
    for (const r of sdkFixture('exempt-include').requests) expect((await post('888', {}, r)).status).toBe(204);
    const recs = (await t.records()).filter((r) => !before.has(r.id as string)) as unknown as Rec[];
    expect(recs.map((r) => r.event)).toContain('product.display');
    expect(recs.some((r) => 'custom_allowed' in r.props)).toBe(true);
    for (const r of recs) expect(r.props.user_id).toBeUndefined();
    expect(req).toBeDefined();
  });
});

describe('privacy modes over HTTP (property-based)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({});
  });
  afterAll(() => t.close());

  const eventArb = fc.record({
    name: fc.oneof(fc.constantFrom(...EXEMPT_EVENTS), fc.constantFrom('product.display', 'custom.event')),
    data: fc.dictionary(
      fc
        .oneof(
          fc.constantFrom(
            ...EXEMPT_PROPERTIES.slice(0, 20),
            'user_id',
            'user_category',
            'email',
            'custom_prop',
            'ch_ua_model',
          ),
          fc.stringMatching(/^[a-z_]{1,10}$/),
        )
        .filter((k) => k !== '__proto__' && k !== 'constructor'), // those get a 400 (validate tests)
      fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean()),
      { maxKeys: 15 },
    ),
  });

  it('for any exempt body, the stored records hold no name outside the allowlist and no user_*', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventArb, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('exempt', 'custom', 'optin'),
        async (events, mode) => {
          const body = JSON.stringify({
            events: events.map((e) => ({
              name: e.name,
              data: { ...e.data, visitor_privacy_mode: mode, visitor_privacy_consent: mode === 'optin' },
            })),
          });
          const before = new Set((await t.records()).map((r) => r.id));
          const res = await t.app.inject({
            method: 'POST',
            url: '/event?s=42&idclient=lpw0hd7t9bz0ecov',
            headers: { 'content-type': 'text/plain' },
            payload: body,
          });
          expect(res.statusCode).toBe(204);
          for (const r of (await t.records()).filter((x) => !before.has(x.id as string)) as unknown as Rec[]) {
            expect(r.mode).toBe('exempt'); // no sites file: every site is capped at exempt
            expect(EXEMPT_EVENTS).toContain(r.event);
            for (const k of Object.keys(r.props)) expect(ALLOWED.has(k) || k.startsWith('ch_ua')).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('for any opt-out body, no record is written at all', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventArb, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('optout', 'extended-optout', 'no-consent'),
        fc.boolean(),
        async (events, mode, optoutId) => {
          const body = JSON.stringify({
            events: events.map((e) => ({ name: e.name, data: { ...e.data, visitor_privacy_mode: mode } })),
          });
          const before = (await t.records()).length;
          const res = await t.app.inject({
            method: 'POST',
            url: `/event?s=43&idclient=${optoutId ? 'OPT-OUT' : 'lpw0hd7t9bz0ecov'}`,
            headers: { 'content-type': 'text/plain' },
            payload: body,
          });
          expect(res.statusCode).toBe(204);
          expect((await t.records()).length).toBe(before);
        },
      ),
      { numRuns: 150 },
    );
  });
});
