import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MATOMO_MAX_BULK_REQUESTS,
  MATOMO_TRANSPARENT_GIF,
  matomoBulkSummary,
  parseMatomoRequest,
  type MatomoRequest,
} from '../../src/formats/matomo.js';
import { FormatError } from '../../src/formats/types.js';
import { EXEMPT_EVENTS } from '../../src/policy/allowlists.js';
import { applyPrivacy } from '../helpers/reference-path.js';
import { trackerAge } from '../../src/policy/tracker-lifetime.js';
import { isCampaignName } from '../../src/policy/exempt-values.js';
import { compilePolicy } from '../../src/policy/sites.js';
import { expectNotExempt, expectValidEvents, fixture, formatError, type FixtureRequest } from './helpers.js';

const FORM = 'application/x-www-form-urlencoded; charset=UTF-8';
const get = (query: string) => parseMatomoRequest({ method: 'GET', query });
const one = (query: string) => {
  const r = get(query);
  expect(r.hits).toHaveLength(1);
  return r.hits[0]!;
};
const event = (query: string) => {
  const h = one(query);
  expect(h.events).toHaveLength(1);
  return h.events[0]!;
};
const base = 'idsite=3&rec=1';
const enc = encodeURIComponent;

type MatomoFixture = { requests: (FixtureRequest & { transport: string; sources: Record<string, string> })[] };
const asRequest = (r: FixtureRequest): MatomoRequest => ({
  method: r.method,
  query: r.rawQueryString,
  contentType: r.headers['content-type'],
  body: r.body,
});

describe('Matomo fixtures (requests as matomo.js builds them)', () => {
  const files = ['transports', 'actions', 'bulk', 'hostile'];

  it('every fixture request is accepted and yields schema-valid events', () => {
    let n = 0;
    for (const f of files) {
      for (const r of fixture<MatomoFixture>('matomo', f).requests) {
        const out = parseMatomoRequest(asRequest(r));
        for (const h of out.hits) expectValidEvents(h.events);
        n++;
      }
    }
    expect(n).toBeGreaterThanOrEqual(15);
  });

  it('every parameter of every fixture names where it comes from', () => {
    for (const f of files) {
      for (const r of fixture<MatomoFixture>('matomo', f).requests) {
        const names = new URLSearchParams(r.body && !r.body.startsWith('{') ? r.body : r.rawQueryString);
        for (const [k] of names) expect(r.sources[k], `${f}: ${k}`).toBeTruthy();
      }
    }
  });

  it('the three transports of one page view give the same hit, and the same record source', () => {
    const [beacon, image, xhr] = fixture<MatomoFixture>('matomo', 'transports').requests.map((r) =>
      parseMatomoRequest(asRequest(r)),
    );
    expect(beacon!.wantsImage).toBe(false); // send_image=0: Matomo answers 204
    expect(image!.wantsImage).toBe(true); // the image fallback switches to send_image=1: a GIF
    expect(xhr!.wantsImage).toBe(false);
    expect(image!.hits).toEqual(beacon!.hits);
    expect(xhr!.hits).toEqual(beacon!.hits);
    const h = beacon!.hits[0]!;
    expect(h).toMatchObject({
      tracker: 'matomo',
      site: '3',
      visitorId: '5d4f2a9c0b7e13f8',
      consent: false,
      optout: false,
    });
    expect(h.events[0]).toMatchObject({
      name: 'page.display',
      data: {
        page: 'Blog / Article title',
        page_url: 'https://www.example.org/blog/article.html',
        previous_url: 'https://search.example.net/',
        device_screen_width: 1920,
        device_screen_height: 1080,
        pageview_id: 'Xk3r9A',
        ch_ua_mobile: false,
        ch_ua_platform: 'Linux',
      },
    });
  });

  it('maps each kind of action', () => {
    const names = fixture<MatomoFixture>('matomo', 'actions').requests.map((r) =>
      parseMatomoRequest(asRequest(r)).hits[0]!.events.map((e) => e.name),
    );
    expect(names).toEqual([
      ['matomo.event'],
      ['click.exit'],
      ['click.download'],
      ['internal_search_result.display'],
      [],
      ['matomo.goal'],
      ['page.display'],
    ]);
    const consent = parseMatomoRequest(asRequest(fixture<MatomoFixture>('matomo', 'actions').requests[6]!));
    expect(consent.hits[0]!.consent).toBe(true);
  });

  it('a bulk gives one hit per item, no image, no summary when send_image is 0', () => {
    const out = parseMatomoRequest(asRequest(fixture<MatomoFixture>('matomo', 'bulk').requests[0]!));
    expect(out.bulk).toBe(true);
    expect(out.wantsImage).toBe(false);
    expect(out.bulkSummary).toBe(false);
    expect(out.hits.map((h) => h.events[0]!.name)).toEqual(['page.display', 'matomo.event']);
    expect(out.hits[0]!.rawBody).not.toBe(out.hits[1]!.rawBody);
  });

  it('hostile fixtures keep none of the foreign parameters', () => {
    const reqs = fixture<MatomoFixture>('matomo', 'hostile').requests;
    for (const r of reqs) {
      const text = JSON.stringify(parseMatomoRequest(asRequest(r)));
      for (const secret of [
        '0123456789abcdef0123456789abcdef',
        'fedcba9876543210fedcba9876543210',
        'abcdefabcdefabcdefabcdefabcdefab',
        'ffffffffffffffffffffffffffffffff',
        '203.0.113.7',
        'Paris',
        '48.85',
        '2.35',
        'rcn-spring-sale',
        'rck-keyword',
        'ref-click-id',
        '1767225600',
        'ORDER-1337',
        'SKU-1',
      ]) {
        expect(text, `${r.note}: ${secret}`).not.toContain(secret);
      }
      expect(text).not.toMatch(
        /token_auth|"cip"|"lat"|"long"|"city"|"country"|"region"|_rcn|_rck|utm_source=newsletter&mtm/,
      );
    }
  });

  it('hostile: an ecommerce order yields no event; dimensions and custom variables keep Matomo’s names (no campaign prefix)', () => {
    const out = parseMatomoRequest(asRequest(fixture<MatomoFixture>('matomo', 'hostile').requests[1]!));
    expect(out.hits[0]!.events).toEqual([]);
    const q = `${base}&dimension1=premium&dimension2=${enc('jane@example.com')}&cvar=${enc('{"1":["basket","full"]}')}&_cvar=${enc('{"2":["customer_email","jane@example.com"]}')}`;
    expect(event(q).data).toMatchObject({
      dimension1: 'premium',
      dimension2: 'jane@example.com',
      cvar_page_1: ['basket', 'full'],
      cvar_visit_2: ['customer_email', 'jane@example.com'],
    });
  });

  it('hostile: a repeated idsite keeps the last value, malformed percent sequences do not throw', () => {
    const r = fixture<MatomoFixture>('matomo', 'hostile').requests[5]!;
    expect(parseMatomoRequest(asRequest(r)).hits[0]!.site).toBe('4');
  });
});

describe('Matomo mapping', () => {
  it('page view: action_name, url, urlref, res, pv_id', () => {
    expect(
      event(
        `${base}&action_name=Home&url=${enc('https://x.test/a?b=1')}&urlref=${enc('https://r.test/')}&res=1280x720&pv_id=abc123`,
      ),
    ).toEqual({
      name: 'page.display',
      data: {
        page: 'Home',
        page_url: 'https://x.test/a?b=1',
        previous_url: 'https://r.test/',
        device_screen_width: 1280,
        device_screen_height: 720,
        pageview_id: 'abc123',
      },
    });
  });

  it('a malformed res or pv_id is ignored', () => {
    expect(event(`${base}&res=NaNxNaN&pv_id=${enc('<script>')}`).data).toEqual({});
  });

  it('link → click.exit, download → click.download; the exempt value rules cut the query of click', () => {
    const link = one(`${base}&link=${enc('https://out.test/p?email=a@b.c#x')}&url=${enc('https://x.test/')}`);
    expect(link.events).toEqual([
      { name: 'click.exit', data: { page_url: 'https://x.test/', click: 'https://out.test/p?email=a@b.c#x' } },
    ]);
    // in the privacy step, with the whole text: the address is found before anything is cut
    expect(
      applyPrivacy({
        events: link.events,
        idclient: undefined,
        policy: compilePolicy('3'),
        gpc: false,
        now: Date.now(),
      }).events[0]!.props,
    ).toEqual({ page_url: 'https://x.test/', click: 'https://out.test/p' });
    const hidden = one(`${base}&download=${enc('https://x.test/f/jane&#64;example.com.pdf')}`).events;
    expect(
      applyPrivacy({ events: hidden, idclient: undefined, policy: compilePolicy('3'), gpc: false, now: Date.now() })
        .events[0]!.props,
    ).toEqual({ click: 'https://x.test/f/[email]' });
    expect(event(`${base}&download=${enc('https://x.test/f.pdf?t=1')}`)).toEqual({
      name: 'click.download',
      data: { click: 'https://x.test/f.pdf?t=1' },
    });
    expect(event(`${base}&download=${enc('https://x.test/f.pdf')}&link=${enc('https://o.test/')}`).name).toBe(
      'click.download',
    );
  });

  it('events → matomo.event (e_c, e_a required, trimmed; e_v numeric)', () => {
    expect(event(`${base}&e_c=${enc(' Video ')}&e_a=Play&e_n=Intro&e_v=1.5&ca=1`)).toEqual({
      name: 'matomo.event',
      data: { event_category: 'Video', event_action: 'Play', event_label: 'Intro', event_value: 1.5 },
    });
    expect(event(`${base}&e_c=Video&e_a=Play&e_v=abc`).data).not.toHaveProperty('event_value');
    // without an action it is no event: a page view, as Matomo records it
    expect(event(`${base}&e_c=Video&e_a=${enc('   ')}`).name).toBe('page.display');
  });

  it('site search → internal_search_result.display', () => {
    expect(event(`${base}&search=shoes&search_cat=Shop&search_count=12`)).toEqual({
      name: 'internal_search_result.display',
      data: { ise_keyword: 'shoes', ise_category: 'Shop', ise_result_count: 12 },
    });
    expect(event(`${base}&search=shoes&search_count=-1`).data).toEqual({ ise_keyword: 'shoes' });
  });

  it('content → matomo.content; goal → matomo.goal; ecommerce, ping, ca=1 and recMode=1 → no event', () => {
    expect(event(`${base}&c_n=Banner&c_p=${enc('/img.png')}&c_t=${enc('https://x.test/l?q=1')}&c_i=click`)).toEqual({
      name: 'matomo.content',
      data: {
        content_name: 'Banner',
        content_piece: '/img.png',
        content_target: 'https://x.test/l?q=1',
        content_interaction: 'click',
      },
    });
    expect(event(`${base}&idgoal=4&revenue=15.5`)).toEqual({
      name: 'matomo.goal',
      data: { goal_id: 4, goal_revenue: 15.5 },
    });
    for (const q of [
      'idgoal=0&ec_id=1&revenue=10',
      'ping=1&url=https%3A%2F%2Fx.test%2F',
      'ca=1&cra=error',
      'recMode=1&url=x',
      'idgoal=abc',
    ]) {
      expect(one(`${base}&${q}`).events, q).toEqual([]);
    }
  });

  it('the event precedence is Matomo’s: download > link > event > search > content > page view', () => {
    const all = `${base}&action_name=T&c_n=C&search=S&e_c=E&e_a=A&link=${enc('https://l.test/')}&download=${enc('https://d.test/')}`;
    expect(event(all).name).toBe('click.download');
    expect(event(all.replace(/&download=[^&]*/, '')).name).toBe('click.exit');
    expect(event(all.replace(/&(download|link)=[^&]*/g, '')).name).toBe('matomo.event');
    expect(event(`${base}&action_name=T&c_n=C&search=S`).name).toBe('internal_search_result.display');
    expect(event(`${base}&action_name=T&c_n=C`).name).toBe('matomo.content');
  });

  it('visitor id: _id (first 16 hex, lower-cased), else cid (exactly 16 hex), else none', () => {
    expect(one(`${base}&_id=ABCDEF0123456789`).visitorId).toBe('abcdef0123456789');
    expect(one(`${base}&_id=abcdef0123456789ffff`).visitorId).toBe('abcdef0123456789');
    expect(one(`${base}&_id=&cid=0000111122223333`).visitorId).toBe('0000111122223333');
    expect(one(`${base}&_id=abcdef0123456789&cid=0000111122223333`).visitorId).toBe('abcdef0123456789');
    for (const bad of ['_id=xyz', '_id=abcdef012345678', 'cid=00001111222233334', 'cid=zzzz111122223333']) {
      expect(one(`${base}&${bad}`), bad).not.toHaveProperty('visitorId');
    }
  });

  it('_idts → cookie_creation_date (ISO, to the minute), which the 13-month rule reads', () => {
    const h = one(`${base}&_idts=1600000000`);
    expect(h.events[0]!.data?.cookie_creation_date).toBe('2020-09-13T12:26:00.000Z');
    expect(trackerAge(h.events, h.visitorId, Date.parse('2026-01-01T00:00:00Z'))).toBe('expired');
    expect(trackerAge(one(`${base}&_idts=1767225600`).events, undefined, Date.parse('2026-03-01T00:00:00Z'))).toBe(
      'ok',
    );
    expect(one(`${base}&_idts=-5`).events[0]!.data).not.toHaveProperty('cookie_creation_date');
  });

  it('uid → user_id; consent=1 → consent', () => {
    const h = one(`${base}&uid=${enc('jane@example.com')}&consent=1`);
    expect(h.events[0]!.data?.user_id).toBe('jane@example.com');
    expect(h.consent).toBe(true);
    expect(one(`${base}&consent=0`).consent).toBe(false);
  });

  it('uadata → ch_ua*, malformed is ignored', () => {
    const ua = {
      brands: [{ brand: 'Chromium', version: '156' }, { brand: 1 }],
      mobile: true,
      model: 'Pixel',
      platform: 'Android',
      platformVersion: '15',
      formFactors: ['Mobile', 3],
    };
    expect(event(`${base}&uadata=${enc(JSON.stringify(ua))}`).data).toEqual({
      ch_ua: [{ brand: 'Chromium', version: '156' }],
      ch_ua_mobile: true,
      ch_ua_model: 'Pixel',
      ch_ua_platform: 'Android',
      ch_ua_platform_version: '15',
      ch_ua_form_factors: ['Mobile'],
    });
    expect(event(`${base}&uadata=${enc('{not json')}`).data).toEqual({});
  });

  it('campaign, ecommerce, override and fingerprinting parameters are never mapped', () => {
    const q = `${base}&_rcn=c&_rck=k&_ref=${enc('https://r.test/')}&_refts=1&pk_campaign=c&mtm_source=s&utm_medium=m&ec_id=1&ec_items=%5B%5D&_ects=1&_pks=sku&_pkn=n&_pkc=c&_pkp=1&ua=UA&lang=fr&h=1&m=2&s=3&fla=1&pdf=1&cookie=1&pf_net=1&data=%7B%7D&cs=ISO&new_visit=1&_idvc=3&_viewts=1`;
    expect(event(q)).toEqual({ name: 'page.display', data: {} });
  });

  it('adapter-specific names stay off the exempt allowlist; the mapped events are either exempt or clearly not', () => {
    expectNotExempt([
      'event_category',
      'event_action',
      'event_label',
      'event_value',
      'ise_keyword',
      'ise_category',
      'ise_result_count',
      'content_name',
      'content_piece',
      'content_target',
      'content_interaction',
      'goal_id',
      'goal_revenue',
      'dimension1',
      'cvar_visit_1',
      'user_id',
    ]);
    // and a site can add every one of them (but user_id) to its allowlist: none is a campaign name
    for (const n of [
      'event_category',
      'ise_keyword',
      'content_name',
      'goal_id',
      'goal_revenue',
      'dimension1',
      'cvar_visit_1',
    ])
      expect(isCampaignName(n), n).toBe(false);
    for (const e of ['page.display', 'click.exit', 'click.download']) expect(EXEMPT_EVENTS).toContain(e);
    for (const e of ['matomo.event', 'matomo.content', 'matomo.goal', 'internal_search_result.display'])
      expect(EXEMPT_EVENTS).not.toContain(e);
  });

  it('through the privacy step on an exempt site: allowlisted names only, URLs without query', () => {
    const h = one(
      `${base}&action_name=Home&url=${enc('https://x.test/a?email=j@x.test')}&uid=j%40x.test&dimension1=d&res=10x20&_id=abcdef0123456789&consent=1`,
    );
    const d = applyPrivacy({
      events: h.events,
      idclient: h.visitorId,
      policy: compilePolicy('3'),
      gpc: false,
      now: Date.now(),
    });
    expect(d.mode).toBe('exempt');
    expect(d.events[0]!.props).toEqual({
      page: 'Home',
      page_url: 'https://x.test/a',
      device_screen_width: 10,
      device_screen_height: 20,
    });
    expect(d.visitorId).toBe('abcdef0123456789');
    const dropped = applyPrivacy({
      events: one(`${base}&e_c=a&e_a=b`).events,
      idclient: undefined,
      policy: compilePolicy('3'),
      gpc: false,
      now: Date.now(),
    });
    expect(dropped.events).toEqual([]);
    const added = compilePolicy('3', { allow: { events: ['matomo.event'], properties: ['event_category'] } });
    expect(
      applyPrivacy({
        events: one(`${base}&e_c=a&e_a=b`).events,
        idclient: undefined,
        policy: added,
        gpc: false,
        now: Date.now(),
      }).events[0]!.props,
    ).toEqual({ event_category: 'a' });
  });
});

describe('Matomo request forms', () => {
  it('a POST form body merges with the query string, the query winning (PHP $_GET + $_POST)', () => {
    const out = parseMatomoRequest({
      method: 'POST',
      query: 'idsite=7&action_name=FromQuery',
      contentType: FORM,
      body: 'idsite=3&rec=1&action_name=FromBody&url=https%3A%2F%2Fx.test%2F',
    });
    expect(out.hits[0]!.site).toBe('7');
    expect(out.hits[0]!.events[0]!.data).toEqual({ page: 'FromQuery', page_url: 'https://x.test/' });
  });

  it('a repeated parameter keeps its last value; the query string may start with ?', () => {
    expect(one(`?${base}&action_name=a&action_name=b`).events[0]!.data?.page).toBe('b');
  });

  it('decodes like a form (+ is a space); malformed % sequences stay as written, invalid UTF-8 becomes U+FFFD', () => {
    expect(event(`${base}&action_name=a+b%2Bc&url=%E0%A4%A&urlref=%ZZ`).data).toEqual({
      page: 'a b+c',
      page_url: '\uFFFD%A',
      previous_url: '%ZZ',
    });
  });

  it('sendBeacon: POST with an empty body and the parameters in the URL', () => {
    const out = parseMatomoRequest({ method: 'POST', query: `${base}&send_image=0`, contentType: FORM, body: '' });
    expect(out.hits[0]!.events[0]!.name).toBe('page.display');
    expect(out.wantsImage).toBe(false);
  });

  it('wantsImage unless send_image=0 (from the query first, then the body)', () => {
    expect(get(base).wantsImage).toBe(true);
    expect(get(`${base}&send_image=1`).wantsImage).toBe(true);
    expect(get(`${base}&send_image=0`).wantsImage).toBe(false);
    expect(
      parseMatomoRequest({ method: 'POST', query: 'send_image=1', contentType: FORM, body: `${base}&send_image=0` })
        .wantsImage,
    ).toBe(true);
  });

  it('bulk: JSON from matomo-tracker (application/json), strings and objects, summary unless send_image is 0', () => {
    const body = JSON.stringify({
      requests: [
        `?${base}&action_name=A`,
        `https://c.test/matomo.php?${base}&action_name=B#frag`,
        { idsite: 3, rec: 1, action_name: 'C', url: 'https://x.test/', skip: [1] },
      ],
    });
    const out = parseMatomoRequest({ method: 'POST', query: 'idsite=99', contentType: 'application/json', body });
    expect(out).toMatchObject({ bulk: true, wantsImage: false, bulkSummary: true });
    expect(out.hits.map((h) => [h.site, h.events[0]!.data?.page])).toEqual([
      ['3', 'A'],
      ['3', 'B'],
      ['3', 'C'],
    ]);
    for (const s of [0, '0', false, '']) {
      expect(
        parseMatomoRequest({
          method: 'POST',
          query: '',
          contentType: FORM,
          body: JSON.stringify({ requests: [`?${base}`], send_image: s }),
        }).bulkSummary,
      ).toBe(false);
    }
    expect(matomoBulkSummary(3)).toEqual({ status: 'success', tracked: 3, invalid: 0 });
  });

  it('a bulk item and the same request sent alone have the same record source', () => {
    const q = `${base}&action_name=A&r=123456&send_image=0`;
    const alone = one(q);
    const inBulk = parseMatomoRequest({
      method: 'POST',
      query: '',
      contentType: FORM,
      body: JSON.stringify({ requests: [`?${q.replace('send_image=0', 'send_image=1')}`] }),
    }).hits[0]!;
    expect(inBulk.rawBody).toBe(alone.rawBody);
  });

  it('the record source holds the parameters read and those telling hits apart, sorted, and nothing else', () => {
    const read = ['idsite', 'rec', 'url', 'urlref', 'action_name', '_id', 'cid', 'uid', '_idts', 'res', 'pv_id'];
    read.push('uadata', 'consent', '_cvar', 'cvar', 'e_cvar', 'link', 'download', 'e_c', 'e_a', 'e_n', 'e_v', 'search');
    read.push('search_cat', 'search_count', 'c_n', 'c_p', 'c_t', 'c_i', 'idgoal', 'revenue', 'ping', 'ca', 'recMode');
    read.push('r', 'rand', 'h', 'm', 's', 'dimension0', 'dimension999');
    const unread = ['ua', 'send_image', 'token_auth', 'cip', 'lang', 'utm_source', 'dimension1000', 'ec_id'];
    const q = [...read.filter((k) => k !== 'idsite' && k !== 'rec'), ...unread].map((k) => `${k}=v`).join('&');
    const names = one(`${base}&${q}`)
      .rawBody.split('&')
      .map((kv) => kv.split('=')[0]);
    expect(names).toEqual([...read].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it('the transparent GIF is Matomo’s 43-byte 1×1 GIF', () => {
    expect(MATOMO_TRANSPARENT_GIF.length).toBe(43);
    expect(MATOMO_TRANSPARENT_GIF.subarray(0, 6).toString('latin1')).toBe('GIF89a');
  });
});

describe('Matomo refusals', () => {
  const long = 'a'.repeat(8193);
  const cases: [string, () => unknown, number, RegExp, string?][] = [
    ['no idsite', () => get('rec=1'), 400, /Invalid idSite: idsite is missing/, 'query.idsite'],
    ['idsite not an integer', () => get('idsite=abc&rec=1'), 400, /Invalid idSite: "abc"/, 'query.idsite'],
    ['idsite 0', () => get('idsite=0&rec=1'), 400, /Invalid idSite/, 'query.idsite'],
    ['idsite too large', () => get('idsite=99999999999&rec=1'), 400, /Invalid idSite/, 'query.idsite'],
    ['idsite as an array', () => get('idsite[]=1&rec=1'), 400, /idsite is missing/, 'query.idsite'],
    ['no rec', () => get('idsite=1'), 400, /'rec' parameter not found/, 'query.rec'],
    ['rec=0', () => get('idsite=1&rec=0'), 400, /'rec' parameter not found/, 'query.rec'],
    ['empty request', () => get(''), 400, /empty request/, 'query'],
    ['other method', () => parseMatomoRequest({ method: 'PUT', query: base }), 400, /not a tracking request/],
    [
      'multipart',
      () =>
        parseMatomoRequest({ method: 'POST', query: '', contentType: 'multipart/form-data; boundary=x', body: 'x' }),
      415,
      /content type/,
      'body',
    ],
    [
      'JSON that is not a bulk',
      () => parseMatomoRequest({ method: 'POST', query: '', contentType: 'application/json', body: '[1]' }),
      400,
      /bulk/,
      'body',
    ],
    [
      'invalid bulk JSON',
      () => parseMatomoRequest({ method: 'POST', query: '', contentType: FORM, body: '{"requests":[' }),
      400,
      /not valid JSON/,
      'body',
    ],
    [
      'bulk __proto__',
      () =>
        parseMatomoRequest({ method: 'POST', query: '', body: '{"requests":["?idsite=1&rec=1"],"__proto__":{"x":1}}' }),
      400,
      /forbidden property name/,
      'body',
    ],
    [
      'bulk without requests',
      () => parseMatomoRequest({ method: 'POST', query: '', body: '{"request":[]}' }),
      400,
      /requests must be an array/,
      'body.requests',
    ],
    [
      'empty bulk',
      () => parseMatomoRequest({ method: 'POST', query: '', body: '{"requests":[]}' }),
      400,
      /no request/,
      'body.requests',
    ],
    [
      'bulk too large',
      () =>
        parseMatomoRequest({
          method: 'POST',
          query: '',
          body: JSON.stringify({ requests: Array(MATOMO_MAX_BULK_REQUESTS + 1).fill(`?${base}`) }),
        }),
      400,
      /more than 50/,
      'body.requests',
    ],
    [
      'bulk item without ?',
      () => parseMatomoRequest({ method: 'POST', query: '', body: JSON.stringify({ requests: [`?${base}`, base] }) }),
      400,
      /beginning with \?/,
      'body.requests.1',
    ],
    [
      'bulk item of another type',
      () => parseMatomoRequest({ method: 'POST', query: '', body: '{"requests":[42]}' }),
      400,
      /query string or an object/,
      'body.requests.0',
    ],
    [
      'bulk item without rec',
      () =>
        parseMatomoRequest({
          method: 'POST',
          query: '',
          body: JSON.stringify({ requests: [`?${base}`, '?idsite=1'] }),
        }),
      400,
      /'rec'/,
      'body.requests.1.rec',
    ],
    [
      'a string longer than 8192',
      () => get(`${base}&action_name=${'a'.repeat(8193)}`),
      400,
      /longer than 8192/,
      'query.action_name',
    ],
    // every parameter an action requires is read before the action is passed over
    ['an event action longer than 8192, no category', () => get(`${base}&e_a=${long}`), 400, /8192/, 'query.e_a'],
    ['a dimension longer than 8192', () => get(`${base}&dimension7=${long}`), 400, /8192/, 'query.dimension7'],
    [
      'too many dimensions',
      () => get(`${base}&${Array.from({ length: 201 }, (_, i) => `dimension${i}=x`).join('&')}`),
      400,
      /more than 200 properties/,
      'query',
    ],
    [
      'body over 64 KiB',
      () =>
        parseMatomoRequest({ method: 'POST', query: '', contentType: FORM, body: `${base}&x=${'a'.repeat(70_000)}` }),
      413,
      /larger than 64 KiB/,
      'body',
    ],
    ['query over 64 KiB', () => get(`${base}&x=${'a'.repeat(70_000)}`), 413, /larger than 64 KiB/, 'query'],
  ];
  for (const [name, fn, status, message, path] of cases) {
    it(name, () => {
      const e = formatError(fn);
      expect(e.statusCode).toBe(status);
      expect(e.message).toMatch(message);
      if (path !== undefined) expect(e.path).toBe(path);
    });
  }
});

describe('Matomo secrets and overrides never reach the output', () => {
  const MARK = 'S3CR3TMARK';
  // `ua` is read, as the hit's userAgent, for the robot check alone (src/pipeline/audience.ts):
  // what the pipeline stores (events, rawBody) never holds it; test/routes/audience.test.ts
  // scans the stream for it
  const stored = (out: unknown) => JSON.stringify(out, (k, v: unknown) => (k === 'userAgent' ? undefined : v));
  const names = [
    'token_auth',
    'TOKEN_AUTH',
    'Token_Auth',
    'token%5Fauth',
    'token%5fauth',
    'token_auth%00',
    'token.auth',
    'token_auth[]',
    'cip',
    'CIP',
    'cdt',
    'cdo',
    'country',
    'region',
    'city',
    'lat',
    'long',
    'ua',
    'lang',
    '_rcn',
    '_rck',
    'pk_campaign',
    'mtm_campaign',
    'utm_source',
    'ec_id',
    'ec_items',
    '_ects',
  ];

  it('whatever the spelling, encoding or repetition', () => {
    for (const n of names) {
      const q = `${base}&${n}=${MARK}1&${n}=${MARK}2&url=${enc('https://x.test/')}`;
      for (const out of [
        get(q),
        parseMatomoRequest({ method: 'POST', query: '', contentType: FORM, body: q }),
        parseMatomoRequest({
          method: 'POST',
          query: '',
          body: JSON.stringify({ requests: [`?${q}`], token_auth: MARK }),
        }),
      ]) {
        expect(stored(out), n).not.toContain(MARK);
      }
    }
  });

  it('property: any casing of those names, repeated, in query, form body or bulk (fast-check)', () => {
    const spelled = fc
      .tuple(fc.constantFrom(...names), fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }))
      .map(([n, up]) =>
        n
          .split('')
          .map((c, i) => (up[i] ? c.toUpperCase() : c))
          .join(''),
      );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(spelled, fc.string({ maxLength: 20 })), { minLength: 1, maxLength: 10 }),
        fc.constantFrom('query', 'form', 'bulk'),
        (extra, where) => {
          const q = `${base}&${extra.map(([k, v]) => `${k}=${enc(MARK + v)}`).join('&')}`;
          const req: MatomoRequest =
            where === 'query'
              ? { method: 'GET', query: q }
              : where === 'form'
                ? { method: 'POST', query: '', contentType: FORM, body: q }
                : { method: 'POST', query: '', body: JSON.stringify({ requests: [`?${q}`] }) };
          expect(stored(parseMatomoRequest(req))).not.toContain(MARK);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('Matomo hostile input (property-based)', () => {
  const chunk = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.constantFrom(
      '%',
      '%%',
      '%E0%A4%A',
      '%ZZ',
      '%00',
      '+',
      '&&',
      '==',
      '?',
      '#',
      '\u0000',
      '\uD800',
      'idsite=',
      'rec=1',
      'idsite=3',
      'url=',
      '_id=',
      'res=',
      'e_c=a&e_a=b',
      'link=',
      'download=',
      'search=',
      'uadata=%7B',
      '_cvar=%7B%221%22%3A',
      'dimension1=',
      'idgoal=',
      'ping=1',
      'send_image=0',
      '_idts=',
      '__proto__=1',
      'constructor=1',
    ),
  );
  const query = fc.array(chunk, { maxLength: 20 }).map((parts) => parts.join(''));

  const check = (req: MatomoRequest) => {
    let out;
    try {
      out = parseMatomoRequest(req);
    } catch (err) {
      expect(err).toBeInstanceOf(FormatError);
      return;
    }
    for (const h of out.hits) {
      expectValidEvents(h.events);
      expect(h.site).toMatch(/^[1-9][0-9]{0,9}$/);
      if (h.visitorId !== undefined) expect(h.visitorId).toMatch(/^[0-9a-f]{16}$/);
    }
  };

  it('arbitrary query strings throw nothing but FormatError, and every event passes eventSchema', () => {
    fc.assert(
      fc.property(query, (q) => check({ method: 'GET', query: `idsite=3&rec=1&${q}` })),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(query, (q) => check({ method: 'GET', query: q })),
      { numRuns: 1000 },
    );
  });

  it('arbitrary POST bodies and bulk JSON throw nothing but FormatError', () => {
    fc.assert(
      fc.property(query, fc.constantFrom(undefined, FORM, 'text/plain', 'application/json', 'x/y'), (q, ct) =>
        check({ method: 'POST', query: '', contentType: ct, body: `idsite=3&rec=1&${q}` }),
      ),
      { numRuns: 1000 },
    );
    const item = fc.oneof(
      query.map((q) => `?idsite=3&rec=1&${q}`),
      fc.jsonValue({ maxDepth: 2 }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.double())),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), (requests, sendImage) =>
        check({
          method: 'POST',
          query: '',
          contentType: FORM,
          body: JSON.stringify({ requests, send_image: sendImage }),
        }),
      ),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => check({ method: 'POST', query: '', body: `{${s}` })),
      { numRuns: 500 },
    );
  });
});
