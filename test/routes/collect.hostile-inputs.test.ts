// What a hostile or careless site can send, through HTTP into a real Redis: each row is
// a finding from trying the collector as an attacker would (they were all stored as
// sent before the exempt value rules), and what the stored record holds now.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXEMPT_EVENTS } from '../../src/policy/allowlists.js';
import { startTestApp, type TestApp } from '../helpers/app.js';

/** An SDK-made visitor id (creation time in base 36 + 8 random characters), made now. */
const VISITOR = `${Date.now().toString(36)}k3j5h7g9`;
const SITE = '123456';

type Rec = {
  id: string;
  event: string;
  visitor?: string;
  geo?: Record<string, string>;
  props: Record<string, unknown>;
};

interface Row {
  finding: string;
  data: Record<string, unknown>;
  /** Other events in the same request. */
  more?: { name: string; data: Record<string, unknown> }[];
  idclient?: string;
  headers?: Record<string, string>;
  check: (rec: Rec, raw: string) => void;
}

const base = { visitor_privacy_mode: 'exempt', visitor_privacy_consent: false };
// (needles long enough that no random record id or pseudonym in the stream can hold one:
// a 3-letter name matched base64url text about once in 50 runs)
const neverInRaw =
  (...needles: string[]) =>
  (_: Rec, raw: string) => {
    for (const n of needles) expect(raw.toLowerCase()).not.toContain(n.toLowerCase());
  };

const ROWS: Row[] = [
  {
    finding: 'a URL with a query inside an array under page_url',
    data: { page_url: ['https://shop.example.org/cart?email=alice@example.com'] },
    check: (r, raw) => {
      expect(r.props.page_url).toEqual(['https://shop.example.org/cart']);
      neverInRaw('alice', 'email=')(r, raw);
    },
  },
  {
    finding: 'an object under previous_url',
    data: { previous_url: { href: 'https://shop.example.org/?token=SECRET' } },
    check: (r, raw) => {
      expect(r.props).not.toHaveProperty('previous_url');
      neverInRaw('SECRET')(r, raw);
    },
  },
  {
    finding: 'user_id and an IP nested under page_chapter2',
    data: { page_chapter2: { user_id: 'u-77', ip: '203.0.113.9' } },
    check: (r, raw) => {
      expect(r.props).not.toHaveProperty('page_chapter2');
      neverInRaw('u-77', '203.0.113.9', 'user_id')(r, raw);
    },
  },
  {
    finding: 'an e-mail address as the page name',
    data: { page: 'alice@example.com' },
    check: (r, raw) => {
      expect(r.props.page).toBe('[email]');
      neverInRaw('alice')(r, raw);
    },
  },
  {
    finding: 'names that only start like a client hint',
    data: {
      ch_ua_user_id: 'u-78',
      ch_uaemail: 'bob@example.com',
      ch_ua_page_url: 'https://x.test/?q=secret',
      ch_ua_platform: 'Linux',
    },
    check: (r, raw) => {
      expect(Object.keys(r.props).filter((k) => k.startsWith('ch_ua'))).toEqual(['ch_ua_platform']);
      neverInRaw('u-78', 'bob@', 'secret')(r, raw);
    },
  },
  {
    finding: "the SDK's pageview_id, which starts with the visitor id's creation time",
    data: { pageview_id: `${VISITOR.slice(0, 8)}5saqoq44` },
    check: (r, raw) => {
      expect(r.props.pageview_id).toMatch(/^k1\.[A-Za-z0-9_-]{22}$/);
      neverInRaw(VISITOR.slice(0, 8))(r, raw);
    },
  },
  {
    finding: 'the raw visitor id copied into a page property, in upper case',
    data: { page: `profile-${VISITOR.toUpperCase()}`, page_chapter1: VISITOR },
    check: (r, raw) => {
      expect(r.props.page).toBe('profile-[visitor-id]');
      neverInRaw(VISITOR.slice(0, 8))(r, raw);
    },
  },
  {
    finding: 'the random half of the SDK visitor id alone, in a page property',
    data: { page: `order code ${VISITOR.slice(8)}` },
    check: (r, raw) => {
      expect(r.props.page).toBe('order code [visitor-id]');
      neverInRaw(VISITOR.slice(8))(r, raw);
    },
  },
  ...[1795923480000, '2026-11-29T03:38:00.000Z ', ['2026-11-29'], '2099-01-01T00:00:00Z'].map((date): Row => ({
    finding: `cookie_creation_date that cannot be read: ${JSON.stringify(date)}`,
    data: { cookie_creation_date: date, page: 'p' },
    check: (r) => {
      expect(r.visitor).toBeUndefined();
      expect(r.props).not.toHaveProperty('cookie_creation_date');
    },
  })),
  {
    finding: 'a fresh cookie_creation_date on an id made more than 13 months ago',
    idclient: `${(Date.now() - 400 * 86_400_000).toString(36)}k3j5h7g9`,
    data: { cookie_creation_date: new Date().toISOString(), page: 'p' },
    check: (r) => expect(r.visitor).toBeUndefined(),
  },
  {
    finding: 'cookie_creation_date with its time of day',
    data: { cookie_creation_date: '2026-11-29T03:38:00.000Z' },
    check: (r) => {
      expect(r.props.cookie_creation_date).toBe('2026-11-29');
      expect(r.visitor).toMatch(/^k1\./);
    },
  },
  {
    finding: 'queries percent-encoded, as path parameters, and in properties not named as URLs',
    data: {
      page_url: 'https://shop.example.org/cart%3Femail%3Dalice%40example.com',
      event_url_full: 'https://shop.example.org/cart;jsessionid=0A1B2C3D',
      page: 'checkout?email=carol@example.com',
      page_full_name: 'cart%3Ftoken%3DSECRET2',
      event_url_domain: 'shop.example.org/?session=SECRET3',
      src_detail: 'see https://x.test/a?token=SECRET4',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({
        page_url: 'https://shop.example.org/cart',
        event_url_full: 'https://shop.example.org/cart',
        page: 'checkout',
        page_full_name: 'cart',
        event_url_domain: 'shop.example.org/',
        src_detail: 'see https://x.test/a',
      });
      neverInRaw('alice', 'carol', '0A1B2C3D', 'SECRET')(r, raw);
    },
  },
  {
    finding: 'credentials in a referrer URL',
    data: { src_referrer_url: 'https://bobuser:hunter2@partner.example.net/landing' },
    check: (r, raw) => {
      expect(r.props.src_referrer_url).toBe('https://partner.example.net/landing');
      neverInRaw('bobuser', 'hunter2')(r, raw);
    },
  },
  {
    finding: 'campaign parameters and click ids in kept strings',
    data: {
      page: 'landing utm_source=newsletter',
      src_detail: 'gclid=EAIaIQobChMI',
      page_chapter3: '{"fbclid":"IwAR0xyz"}',
      click: 'xtor=AD-3030',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({ page: 'landing ', src_detail: '', page_chapter3: '{}', click: '' });
      neverInRaw('newsletter', 'EAIaIQobChMI', 'IwAR0xyz', 'AD-3030')(r, raw);
    },
  },
  {
    finding: 'IP addresses and look-alike e-mails in titles and client hints',
    data: {
      page_title_html: 'Welcome 203.0.113.9 / 2001:db8:85a3::8a2e:370:7334',
      page_chapter1: 'alice＠example．com',
      ch_ua_full_version_list: [{ brand: 'eve@example.com', version: '1.0' }],
    },
    check: (r, raw) => {
      expect(r.props.page_title_html).toBe('Welcome [ip] / [ip]');
      expect(r.props.page_chapter1).toBe('[email]');
      expect(r.props.ch_ua_full_version_list).toEqual([{ brand: '[email]', version: '1.0' }]);
      neverInRaw('203.0.113.9', '8a2e:370:7334', 'alice', 'eve@')(r, raw);
    },
  },
  {
    finding: 'the client IP as a host name writes it, and e-mails left as escapes or in other bracket words',
    data: {
      page: 'Welcome ip-203-0-113-9.ec2.internal',
      page_chapter1: '81-2-69-142.dsl.example.net',
      page_chapter2: 'contact alice\\u0040example.com',
      page_chapter3: 'BOBBYTABLES {AT} EXAMPLE {DOT} ORG',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({
        page: 'Welcome ip-[ip].ec2.internal',
        page_chapter1: '[ip].dsl.example.net',
        page_chapter2: 'contact [email]',
        page_chapter3: '[email]',
      });
      neverInRaw('203-0-113-9', '81-2-69-142', 'alice', 'bobbytables')(r, raw);
    },
  },
  {
    finding: "the client IP as the numbers a URL's host may be (decimal, hex, octal)",
    data: {
      page_url: 'http://3405803785/welcome',
      previous_url: 'https://0xcb.0.0x71.0x9:8443/from',
      src_detail: 'via http://0313.0.0161.011/x',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({
        page_url: 'http://[ip]/welcome',
        previous_url: 'https://[ip]:8443/from',
        src_detail: 'via http://[ip]/x',
      });
      neverInRaw('3405803785', '0xcb.0.0x71', '0313.0.0161')(r, raw);
    },
  },
  {
    finding: 'e-mails spaced, in plain words, or with a quoted local part',
    data: {
      page: 'write to alice @ example . com',
      page_chapter1: 'BOBBYTABLES at example dot org',
      page_chapter2: '"carol"@example.net',
      page_url: 'https://shop.example.org/contact/davejones%20at%20example%20dot%20com',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({
        page: 'write to [email]',
        page_chapter1: '[email]',
        page_chapter2: '[email]',
        page_url: 'https://shop.example.org/contact/[email]',
      });
      neverInRaw('alice', 'bobbytables', 'carol', 'davejones')(r, raw);
    },
  },
  {
    finding: 'user_* in other letter cases, and objects in arrays',
    data: {
      User_Id: 'u-79',
      USER_EMAIL: 'dan@example.com',
      page_chapter1: ['ok', { user_id: 'u-80' }],
      page_chapter2: [['nested']],
    },
    check: (r, raw) => {
      expect(Object.keys(r.props).sort()).toEqual(['visitor_privacy_consent', 'visitor_privacy_mode']);
      neverInRaw('u-79', 'u-80', 'dan@', 'nested')(r, raw);
    },
  },
  // issue 18: values built from what is allowed (each of these was stored on main before)
  {
    finding:
      'e-mails as browsers and pages write them: percent-encoded letters, entities without ";", %u, \\u{…}, invisible or line-break characters around the @',
    data: {
      page_url: 'https://www.example.org/unsubscribe/jos%C3%A9@example.com',
      previous_url: 'https://www.example.org/unsubscribe/jos%C3%A9%40example.com',
      page: 'm%C3%BCllerhans@example.com',
      page_chapter1: 'contact aliceentity&#64example.com',
      page_chapter2: 'contact alicepercentu%u0040example.com',
      page_chapter3: 'contact alicebraces\\u{40}example.com',
      page_full_name: 'contact alicezerowidth%E2%80%8B@example.com',
      page_title_html: 'contact alicelinebreak\n@example.com',
      click: 'contact aliceoctal\\100example.com',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({
        page_url: 'https://www.example.org/unsubscribe/[email]',
        previous_url: 'https://www.example.org/unsubscribe/[email]',
        page: '[email]',
        page_chapter1: 'contact [email]',
        page_chapter2: 'contact [email]',
        page_chapter3: 'contact [email]',
        page_full_name: 'contact [email]',
        page_title_html: 'contact [email]',
        click: 'contact [email]',
      });
      neverInRaw(
        'jos%C3%A9',
        'josé',
        'llerhans',
        'aliceentity',
        'alicepercentu',
        'alicebraces',
        'alicezerowidth',
        'alicelinebreak',
        'aliceoctal',
      )(r, raw);
    },
  },
  {
    finding: 'addresses the IP rule did not read: reversed, after a host label, 6to4, ip6.arpa, an IPv6 /64',
    data: {
      page: 'static.9.113.0.203.clients.your-server.de',
      page_chapter1: 'client.203.0.113.9',
      page_chapter2: 'myapp.203.0.113.9.nip.io',
      page_chapter3: 'tunnel 2002:cb00:7109::',
      page_full_name:
        '9.0.1.7.0.0.b.c.2.0.0.2.ip6.arpa 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.d.8.0.3.a.5.8.8.b.d.0.1.0.0.2.ip6.arpa',
      page_title_html: 'net 2001:db8:85a3:8d3:: kept 2001:db8:85a3::',
      page_url: 'http://client.203.0.113.9/welcome',
      previous_url: 'https://static.9.113.0.203.clients.your-server.de/from',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({
        page: 'static.[ip].clients.your-server.de',
        page_chapter1: 'client.[ip]',
        page_chapter2: 'myapp.[ip].nip.io',
        page_chapter3: 'tunnel [ip]',
        page_title_html: 'net [ip] kept 2001:db8:85a3::',
        page_url: 'http://[ip]/welcome',
        previous_url: 'https://[ip]/from',
      });
      expect(r.props.page_full_name).toBe('[ip] [ip]');
      neverInRaw('9.113.0.203', '203.0.113.9', 'cb00:7109', '8d3::', '3.d.8.0.3.a')(r, raw);
    },
  },
  {
    finding: 'queries in non-URL strings whatever their names, bare tokens after ?, ;jsessionid= in a page name',
    data: {
      page: '/reset?$token=SECRETDOLLAR1',
      page_chapter1: 'login session:id=SECRETCOLON2',
      page_chapter2: 'calc a+b=SECRETPLUS3',
      page_chapter3: '/s?SECRETBARE4',
      page_full_name: 'cart;jsessionid=SECRETJSESSION5',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({
        page: '/reset',
        page_chapter1: 'login ',
        page_chapter2: 'calc ',
        page_chapter3: '/s',
        page_full_name: 'cart',
      });
      neverInRaw('SECRETDOLLAR1', 'SECRETCOLON2', 'SECRETPLUS3', 'SECRETBARE4', 'SECRETJSESSION5')(r, raw);
    },
  },
  {
    finding: 'campaign data as escaped JSON, as entities, and as a name/value pair',
    data: {
      page: '{\\"gclid\\":\\"EAIaESCAPED1\\"}',
      page_chapter1: '&quot;gclid&quot;:&quot;EAIaENTITY2&quot;',
      page_chapter2: ['gclid', 'EAIaPAIR3'],
      page_chapter3: '["utm_source","newsPAIR4"]',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({ page: '{}', page_chapter1: '' });
      expect(r.props).not.toHaveProperty('page_chapter2');
      neverInRaw('EAIaESCAPED1', 'EAIaENTITY2', 'EAIaPAIR3', 'newsPAIR4')(r, raw);
    },
  },
  {
    finding: 'URLs rebuilt from their parts: tokens in paths, a click id after a colon, credentials written in words',
    data: {
      page_url:
        'https://www.example.org/u/5d4f2a9c-0b7e-43f8-9aaa-123456789abc/orders/8f14e45fceea167a5a36dedd4bea2543',
      previous_url: 'https://www.example.org/track/gclid:EAIaIQobColon9/',
      src_url: 'https://bob <AT> www.example{dot}org/secretwords',
      event_url_full: 'https://www.example.org/reset/eyJhbGciOiJIUzI1NiJ9eyJzdWIiOiJhbGljZSJ9',
      page_chapter1: 'see https://www.example.org/p;jsessionid=0A1B2C3D#access_token=SECRETHASH6',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({
        page_url: 'https://www.example.org/u/[id]/orders/[id]',
        previous_url: 'https://www.example.org/track/[id]/',
        src_url: 'https://[email]/secretwords',
        event_url_full: 'https://www.example.org/reset/[id]',
        page_chapter1: 'see https://www.example.org/p',
      });
      neverInRaw('5d4f2a9c', '8f14e45f', 'EAIaIQobColon9', 'eyJhbGci', '0A1B2C3D', 'SECRETHASH6')(r, raw);
    },
  },
  {
    finding:
      'the same text as a plain property, then as a URL-valued one, is cleaned as a URL the second time (no cache across kinds)',
    data: {
      page: 'https://bobcache:pw@www.example.org/a?q=SECRETCACHE7',
      page_url: 'https://bobcache:pw@www.example.org/a?q=SECRETCACHE7',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({ page: 'https://www.example.org/a', page_url: 'https://www.example.org/a' });
      neverInRaw('bobcache', 'SECRETCACHE7')(r, raw);
    },
  },
  {
    finding: 'both strings of a client-hint brand entry go through the value rules',
    data: {
      ch_ua_full_version_list: [
        { brand: 'Chromium', version: '120.0.6099.0 203.0.113.9' },
        { brand: 'Not?A_Brand', version: '8.0.0.0' },
      ],
    },
    check: (r, raw) => {
      expect(r.props.ch_ua_full_version_list).toEqual([
        { brand: 'Chromium', version: '120.0.6099.0 [ip]' },
        { brand: 'Not?A_Brand', version: '8.0.0.0' },
      ]);
      neverInRaw('203.0.113.9')(r, raw);
    },
  },
  {
    finding: 'the raw id partly percent-encoded, and sent as a number',
    data: { page: `order %${VISITOR.charCodeAt(0).toString(16)}${VISITOR.slice(1)} done`, page_chapter1: 'x' },
    check: (r, raw) => {
      expect(r.props.page).toBe('order [visitor-id] done');
      neverInRaw(VISITOR.slice(1, 9))(r, raw);
    },
  },
  {
    finding: 'a custom visitor id with capitals in kept strings',
    idclient: 'Customer-4711',
    data: {
      page: 'profile of Customer-4711',
      page_chapter1: 'CUSTOMER-4711/orders',
      page_url: 'https://www.example.org/customers/Customer-4711',
    },
    check: (r, raw) => {
      expect(r.props).toMatchObject({
        page: 'profile of [visitor-id]',
        page_chapter1: '[visitor-id]/orders',
        page_url: 'https://www.example.org/customers/[visitor-id]',
      });
      neverInRaw('customer-4711')(r, raw);
    },
  },
  {
    finding: 'a short custom visitor id (4-7 characters) as a whole word, and as a number',
    idclient: '94117',
    data: { page: 'account 94117', page_chapter1: 94117, page_chapter2: 'item 941170 stays' },
    check: (r) => {
      expect(r.props).toMatchObject({
        page: 'account [visitor-id]',
        page_chapter1: '[visitor-id]',
        page_chapter2: 'item 941170 stays',
      });
    },
  },
  {
    finding: 'ordinary page names and article paths survive unchanged',
    data: {
      page: 'Accueil',
      page_chapter1: '/2026/12/07/mon-article-sur-l-ete',
      page_chapter2: '/produits/42',
      page_url: 'https://www.example.org/2026/12/07/mon-article-sur-l-ete',
    },
    check: (r) => {
      expect(r.props).toMatchObject({
        page: 'Accueil',
        page_chapter1: '/2026/12/07/mon-article-sur-l-ete',
        page_chapter2: '/produits/42',
        page_url: 'https://www.example.org/2026/12/07/mon-article-sur-l-ete',
      });
    },
  },
  {
    finding: 'an opt-in claim after an opt-out in the same request (the most restrictive wins)',
    data: { visitor_privacy_mode: 'optin', visitor_privacy_consent: true, user_id: 'u-81' },
    more: [{ name: 'page.display', data: { visitor_privacy_mode: 'optout' } }],
    check: () => expect.fail('an opt-out request must store no record'),
  },
];

describe('hostile inputs through HTTP and Redis', () => {
  let t: TestApp;
  const logs = () => t.logs.join('\n');

  beforeAll(async () => {
    t = await startTestApp({ TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(() => t.close());

  async function send(
    events: { name: string; data: Record<string, unknown> }[],
    idclient = VISITOR,
    headers: Record<string, string> = {},
  ) {
    const before = new Set((await t.records()).map((r) => r.id));
    const res = await t.app.inject({
      method: 'POST',
      url: `/event?s=${SITE}&idclient=${idclient}`,
      headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
      payload: JSON.stringify({ events }),
    });
    expect(res.statusCode, res.body).toBe(204);
    const all = await t.records();
    return all.filter((r) => !before.has(r.id as string)) as unknown as Rec[];
  }

  for (const row of ROWS) {
    it(row.finding, async () => {
      const recs = await send(
        [{ name: 'page.display', data: { ...base, ...row.data } }, ...(row.more ?? [])],
        row.idclient,
        row.headers,
      );
      if (row.more) {
        expect(recs).toEqual([]);
        return;
      }
      expect(recs).toHaveLength(1);
      row.check(recs[0]!, await t.rawStream());
    });
  }

  it('an IPv6 6to4 client address is truncated as the IPv4 address it carries', async () => {
    const [six] = await send([{ name: 'page.display', data: { ...base, page: '6to4' } }], VISITOR, {
      'x-forwarded-for': '2002:1f31:c8:1:2:3:4:5',
    });
    const [four] = await send([{ name: 'page.display', data: { ...base, page: 'v4' } }], VISITOR, {
      'x-forwarded-for': '31.49.0.77',
    });
    const [full] = await send([{ name: 'page.display', data: { ...base, page: 'full' } }], VISITOR, {
      'x-forwarded-for': '::ffff:31.49.0.200',
    });
    expect(six!.geo).toEqual(four!.geo);
    expect(full!.geo).toEqual(four!.geo); // truncation first: .200 and .77 are the same /24
  });

  it('Sec-GPC sent twice is still an objection: counters only', async () => {
    const recs = await send([{ name: 'page.display', data: { ...base, page: 'gpc' } }], VISITOR, { 'sec-gpc': '1, 1' });
    expect(recs).toEqual([]);
  });

  it('never logs a path as sent: a 404 for /c/<id>/<ip>/<e-mail> logs its route only', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/c/${VISITOR}/203.0.113.9/alice%40example.com?idclient=${VISITOR}`,
    });
    expect(res.statusCode).toBe(404);
    expect(res.body).not.toContain(VISITOR);
    const text = logs();
    expect(text).toContain('request refused');
    for (const leak of [VISITOR, '203.0.113.9', 'alice', '/c/']) expect(text).not.toContain(leak);
  });

  it('keeps the opt-out counters to the event list + 1 fields, whatever events and pages are invented', async () => {
    const key = `optout:{${SITE}}:${new Date().toISOString().slice(0, 13)}`;
    const invented = Array.from({ length: 1000 }, (_, i) => ({
      name: `made.up${i}`,
      data: { visitor_privacy_mode: 'optout', page: `page-${i}-alice@example.com` },
    }));
    for (let i = 0; i < invented.length; i += 50) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/event?s=${SITE}&idclient=OPT-OUT`,
        headers: { 'content-type': 'text/plain' },
        payload: JSON.stringify({
          events: [
            ...invented.slice(i, i + 49),
            { name: 'page.display', data: { visitor_privacy_mode: 'optout', page: 'home' } },
          ],
        }),
      });
      expect(res.statusCode).toBe(204);
    }
    const fields = await t.redis.hgetall(key);
    expect(Object.keys(fields).length).toBeLessThanOrEqual(EXEMPT_EVENTS.length + 1);
    expect(Object.keys(fields).every((f) => f === 'other' || EXEMPT_EVENTS.includes(f))).toBe(true);
    expect(Number(fields.other)).toBeGreaterThanOrEqual(980);
    expect(JSON.stringify(fields)).not.toContain('alice');
    await t.redis.del(key);
  });

  it('stores no raw id, raw IP or e-mail anywhere it wrote, and logs none', async () => {
    const raw = await t.rawStream();
    for (const leak of [
      VISITOR,
      VISITOR.slice(0, 8),
      VISITOR.slice(8),
      '203.0.113.9',
      'alice@',
      '31.49.0.200',
      '31.49.0.77',
    ]) {
      expect(raw).not.toContain(leak);
      expect(logs()).not.toContain(leak);
    }
  });
});
