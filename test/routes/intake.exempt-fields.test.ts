// Issue 18, the fields a client does not choose, through HTTP and a real Redis on every
// tracker route they apply to: server-owned fields, client-chosen page-view ids, the
// 13-month rule failing closed, site ids with a shape, and behaviours no test pinned
// (consent exactly true, a no-storage claim on any event, an unreadable X-Forwarded-For
// hop, Matomo's uid without a visitor id). Each row failed on the code before it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRACKER_LIFETIME_DAYS } from '../../src/policy/allowlists.js';
import { startTestApp, type TestApp, writeSitesFile } from '../helpers/app.js';
import { sample, type Rec } from '../helpers/trackers.js';

const DAY = 86_400_000;
const sdkIdAt = (t: number, tail = 'k3j5h7g9') => `${t.toString(36)}${tail}`;
const VISITOR = sdkIdAt(Date.now());
const EXPIRED = sdkIdAt(Date.now() - (TRACKER_LIFETIME_DAYS + 5) * DAY, 'q8w7e6r5');
const PIANO = '123456';
const MATOMO = '3';
const exempt = { visitor_privacy_mode: 'exempt', visitor_privacy_consent: false };
const optin = { visitor_privacy_mode: 'optin', visitor_privacy_consent: true };
const seconds = (t: number) => String(Math.floor(t / 1000));
const pageView = (data: Record<string, unknown>) => [{ name: 'page.display', data }];

describe('server-owned fields and client-chosen ids, through HTTP and Redis', () => {
  let t: TestApp;
  let operator: string;

  beforeAll(async () => {
    t = await startTestApp({
      TRUST_PROXY: '127.0.0.1',
      SITES_FILE: writeSitesFile({
        [PIANO]: { maxMode: 'optin' },
        [MATOMO]: {},
        pl: { domains: ['pl.test'] },
      }),
    });
    [, operator] = await t.listen();
  });
  afterAll(() => t.close());

  /** Sends a Piano SDK request and returns the records it added. */
  type Ev = { name: string; data: Record<string, unknown> };
  async function piano(events: Ev[], idclient?: string, headers: Record<string, string> = {}) {
    const before = new Set((await t.records()).map((r) => r.id));
    const query = idclient === undefined ? `s=${PIANO}` : `s=${PIANO}&idclient=${idclient}`;
    const res = await t.app.inject({
      method: 'POST',
      url: `/event?${query}`,
      headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
      payload: JSON.stringify({ events }),
    });
    expect(res.statusCode, res.body).toBe(204);
    return (await t.records()).filter((r) => !before.has(r.id as string)) as unknown as Rec[];
  }

  /** Sends a Matomo GET and returns the records it added. */
  async function matomo(params: Record<string, string>) {
    const before = new Set((await t.records()).map((r) => r.id));
    const q = new URLSearchParams({
      idsite: MATOMO,
      rec: '1',
      url: 'https://www.example.org/a',
      action_name: 'A',
      ...params,
    });
    const res = await t.app.inject({ method: 'GET', url: `/matomo.php?${q}&send_image=0` });
    expect(res.statusCode, res.body).toBe(204);
    return (await t.records()).filter((r) => !before.has(r.id as string)) as unknown as Rec[];
  }

  const droppedCount = async () =>
    sample(
      await (await fetch(`${operator}/metrics`)).text(),
      'collector_privacy_dropped_properties_total',
      'mode="optin"',
    ) ?? 0;

  it('client geo_*, site, visitor and time fields are dropped and counted as dropped, in exempt and in opt-in mode', async () => {
    const owned = {
      geo_city: '48.858370,2.294481',
      geo_metro: 'u09tunq6',
      geo_region: '75007',
      site: '999',
      site_id: '999',
      hit_time_utc: 1733567890123,
      event_time_utc: '2026-12-07T10:11:12.345Z',
      date_day: 7,
    };
    for (const mode of [exempt, optin]) {
      const before = await droppedCount();
      const [rec] = await piano(pageView({ ...mode, page: 'home', ...owned, geoLatitude: '48.8583' }), VISITOR);
      expect(rec!.mode).toBe(mode === optin ? 'optin' : 'exempt');
      expect(rec!.site).toBe(PIANO);
      expect(Object.keys(rec!.props).filter((k) => k in owned || k.startsWith('geo'))).toEqual([]);
      expect(rec!.props.page).toBe('home');
      const raw = JSON.stringify(rec);
      for (const leak of ['48.858370', 'u09tunq6', '75007', '2.294481', '1733567890123'])
        expect(raw).not.toContain(leak);
      if (mode === optin) expect((await droppedCount()) - before).toBe(Object.keys(owned).length + 1);
    }
  });

  it('a pageview_id sent on every hit links nothing without a visitor: a keyed id per request', async () => {
    const pv = 'same-on-every-hit';
    const noStorage = { visitor_privacy_mode: 'no-storage', visitor_privacy_consent: false };
    const [a] = await piano(
      [{ name: 'page.display', data: { ...noStorage, page: 'a', pageview_id: pv } }],
      'no-storage',
    );
    const [b] = await piano(
      [{ name: 'page.display', data: { ...noStorage, page: 'b', pageview_id: pv } }],
      'no-storage',
    );
    const [expired] = await piano([{ name: 'page.display', data: { ...exempt, page: 'c', pageview_id: pv } }], EXPIRED);
    const [withVisitor] = await piano(
      [{ name: 'page.display', data: { ...exempt, page: 'd', pageview_id: pv } }],
      VISITOR,
    );
    for (const r of [a, b, expired]) expect(r!.visitor).toBeUndefined();
    expect(withVisitor!.visitor).toBeDefined();
    const ids = [a, b, expired, withVisitor].map((r) => r!.props.pageview_id);
    for (const id of ids) expect(id).toMatch(/^k1\.[A-Za-z0-9_-]{22}$/);
    expect(new Set(ids).size).toBe(4);
  });

  it('a pageview_id groups the events of one page view of one visitor, in one request or several', async () => {
    const pv = `${VISITOR.slice(0, 8)}5saqoq44`;
    const recs = await piano(
      [
        { name: 'page.display', data: { ...exempt, page: 'a', pageview_id: pv } },
        { name: 'click.action', data: { ...exempt, click: 'x', pageview_id: pv } },
      ],
      VISITOR,
    );
    const [later] = await piano([{ name: 'click.action', data: { ...exempt, click: 'y', pageview_id: pv } }], VISITOR);
    const otherVisitor = sdkIdAt(Date.now(), 'z9z9z9z9');
    const [other] = await piano(
      [{ name: 'click.action', data: { ...exempt, click: 'y', pageview_id: pv } }],
      otherVisitor,
    );
    expect(recs[0]!.props.pageview_id).toBe(recs[1]!.props.pageview_id);
    expect(later!.props.pageview_id).toBe(recs[0]!.props.pageview_id);
    expect(other!.props.pageview_id).not.toBe(recs[0]!.props.pageview_id);
  });

  it("Matomo's pv_id: per request without a visitor, grouped with one", async () => {
    const [a] = await matomo({ pv_id: 'Xk3r9A', r: '1' });
    const [b] = await matomo({ pv_id: 'Xk3r9A', r: '2' });
    expect(a!.visitor).toBeUndefined();
    expect(a!.props.pageview_id).not.toBe(b!.props.pageview_id);
    const id = '5d4f2a9c0b7e13f8';
    const [c] = await matomo({ pv_id: 'Xk3r9A', r: '3', _id: id });
    const [d] = await matomo({ pv_id: 'Xk3r9A', r: '4', _id: id, link: 'https://out.test/' });
    expect(c!.visitor).toBeDefined();
    expect(c!.props.pageview_id).toBe(d!.props.pageview_id);
    expect(c!.props.pageview_id).not.toBe(a!.props.pageview_id);
  });

  it('an expired SDK id sent upper-cased or with %20 appended gets no pseudonym', async () => {
    const forms = [
      EXPIRED.toUpperCase(),
      `${EXPIRED}%20`,
      `${EXPIRED}%2520`,
      `${EXPIRED.toUpperCase()}-NO`,
      `%20${EXPIRED}`,
    ];
    for (const idclient of forms) {
      const [rec] = await piano([{ name: 'page.display', data: { ...exempt, page: 'old' } }], idclient);
      expect(rec!.visitor, idclient).toBeUndefined();
    }
    const future = sdkIdAt(Date.now() + 30 * DAY);
    const [rec] = await piano([{ name: 'page.display', data: { ...exempt, page: 'future' } }], future.toUpperCase());
    expect(rec!.visitor).toBeUndefined();
    // the control: a young id in capitals keeps its pseudonym
    const [young] = await piano([{ name: 'page.display', data: { ...exempt, page: 'young' } }], VISITOR.toUpperCase());
    expect(young!.visitor).toBeDefined();
  });

  it("Matomo's _idts that cannot be read, or in the future, gives no pseudonym", async () => {
    const id = '0123456789abcdef';
    const now = Date.now();
    for (const idts of [
      'abc',
      '1000000000.5',
      '-5',
      String(now - DAY),
      seconds(now + 30 * DAY),
      '',
      '0',
      ` ${seconds(now)}`,
    ]) {
      const [rec] = await matomo({ _id: id, _idts: idts, r: `idts-${idts}` });
      expect(rec!.visitor, JSON.stringify(idts)).toBeUndefined();
      expect(rec!.props).not.toHaveProperty('cookie_creation_date');
    }
    const [young] = await matomo({ _id: id, _idts: seconds(now - DAY), r: 'young' });
    expect(young!.visitor).toBeDefined();
    const [absent] = await matomo({ _id: id, r: 'absent' }); // matomo.js 4+ sends no _idts
    expect(absent!.visitor).toBeDefined();
  });

  it('a Matomo request with uid and no _id or cid gets no visitor, and the uid is not stored', async () => {
    const [rec] = await matomo({ uid: 'alice.martin.4711', r: 'uid' });
    expect(rec!.visitor).toBeUndefined();
    expect(JSON.stringify(rec)).not.toContain('alice.martin.4711');
  });

  it('opt-in needs visitor_privacy_consent exactly true', async () => {
    for (const consent of ['false', 1, 'no', 'true', 'yes', null, [true]]) {
      const claim = { visitor_privacy_mode: 'optin', visitor_privacy_consent: consent };
      const [rec] = await piano(pageView({ ...claim, page: 'p', user_id: 'u-4711' }), VISITOR);
      expect(rec!.mode, JSON.stringify(consent)).toBe('exempt');
      expect(rec!.props).not.toHaveProperty('user_id');
    }
    const [rec] = await piano([{ name: 'page.display', data: { ...optin, page: 'p', user_id: 'u-4711' } }], VISITOR);
    expect(rec!.mode).toBe('optin');
  });

  it('a no-storage claim on any event of a request drops the pseudonym for the whole request', async () => {
    for (const at of [0, 1, 2]) {
      const events = [0, 1, 2].map((i) => ({
        name: 'page.display',
        data: { ...exempt, page: `p${i}`, ...(i === at ? { visitor_privacy_mode: 'no-storage' } : {}) },
      }));
      const recs = await piano(events, VISITOR);
      expect(recs).toHaveLength(3);
      for (const r of recs) expect(r.visitor, `no-storage on event ${at}`).toBeUndefined();
    }
  });

  it('behind a trusted proxy, an unreadable X-Forwarded-For hop stops the walk: nothing to its left is the client', async () => {
    // (each body differs: a request sent again gets the same record id)
    const [control] = await piano(pageView({ ...exempt, page: 'xff' }), VISITOR, { 'x-forwarded-for': '81.2.69.142' });
    expect(control!.geo).toBeDefined();
    for (const xff of [
      '81.2.69.142, not-an-address',
      '81.2.69.142, 999.1.1.1',
      '81.2.69.142,,',
      '81.2.69.142, 10.0.0.1:99x',
    ]) {
      const [rec] = await piano(pageView({ ...exempt, page: `xff ${xff}` }), VISITOR, { 'x-forwarded-for': xff });
      // the client is the trusted peer (loopback, no place), not the address left of the garbage
      expect(rec!.geo, xff).toBeUndefined();
    }
  });

  it('a Plausible hit gets its site from the domain; its props never name a server-owned field', async () => {
    const before = (await t.records()).length;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/event',
      headers: { 'content-type': 'text/plain', origin: 'https://pl.test' },
      payload: JSON.stringify({
        n: 'pageview',
        u: 'https://pl.test/a',
        d: 'pl.test',
        p: { geo_city: '48.858370,2.294481', site: '999' },
      }),
    });
    expect(res.statusCode).toBe(202);
    const [rec] = (await t.records()).slice(before) as unknown as Rec[];
    expect(rec!.site).toBe('pl');
    expect(JSON.stringify(rec)).not.toContain('48.858370');
  });
});

describe('site ids without a sites file', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({});
  });
  afterAll(() => t.close());

  const keysHolding = async (text: string) => (await t.redis.keys(`*${text}*`)).length;

  it('an address or a visitor id as s is 400 and touches no Redis key', async () => {
    for (const site of ['203.0.113.9', VISITOR, 'example.org', '12345678901']) {
      const streamBefore = (await t.records()).length;
      for (const idclient of [VISITOR, 'OPT-OUT']) {
        const res = await t.app.inject({
          method: 'POST',
          url: `/event?s=${site}&idclient=${idclient}`,
          headers: { 'content-type': 'text/plain' },
          payload: JSON.stringify({ events: [{ name: 'page.display', data: { ...exempt, page: 'p' } }] }),
        });
        expect(res.statusCode, site).toBe(400);
        expect(res.json()).toMatchObject({ error: 'invalid_hit', path: 'query.s' });
        expect(res.body).not.toContain(site);
      }
      expect(await keysHolding(site), site).toBe(0);
      expect((await t.records()).length).toBe(streamBefore);
    }
    const res = await t.app.inject({
      method: 'GET',
      url: `/matomo.php?idsite=203.0.113.9&rec=1&url=https%3A%2F%2Fx.test%2F`,
    });
    expect(res.statusCode).toBe(400);
  });

  it('a digits-only site id is taken, as before', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/event?s=424242&idclient=${VISITOR}`,
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ events: [{ name: 'page.display', data: { ...exempt, page: 'p' } }] }),
    });
    expect(res.statusCode).toBe(204);
  });

  it('Plausible, which names its site by domain, is refused without a sites file and stores nothing', async () => {
    const before = (await t.records()).length;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/event',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ n: 'pageview', u: 'https://203.0.113.9/a', d: '203.0.113.9' }),
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'unknown_site' });
    expect((await t.records()).length).toBe(before);
  });
});
