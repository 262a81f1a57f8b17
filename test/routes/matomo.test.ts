// /matomo.php and /piwik.php through the real HTTP server and a real Redis: the requests
// matomo.js builds (test/fixtures/matomo: GET, sendBeacon, XHR form body, bulk) and the
// Matomo organisation's own Node client (npm matomo-tracker), checked in the stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MATOMO_TRANSPARENT_GIF } from '../../src/formats/matomo.js';
import { Pseudonymiser } from '../../src/pipeline/pseudonymise.js';
import { startTestApp, type TestApp, writeSitesFile } from '../helpers/app.js';
import { freePort } from '../helpers/net.js';
import { MatomoTracker, matomoRequests, type Rec, sample, send, whatChanged } from '../helpers/trackers.js';
import { BROWSER_USER_AGENTS } from '../helpers/user-agents.js';

/** The visitor's browser a server-side tracker forwards (Matomo `ua`). */
const VISITOR_UA = BROWSER_USER_AGENTS.find((b) => b.name === 'Safari, iPhone')!.ua;

const PUBLIC_IP = '81.2.69.142'; // GB in the embedded GeoLite2 City data
const RAW_ID = '5d4f2a9c0b7e13f8'; // the fixtures' _id
const SITES = {
  // the fixtures' site (idsite=3) and the repeated-idsite fixture's (4): pages on www.example.org, no banner
  '3': { domains: ['www.example.org'] },
  '4': { domains: ['www.example.org'] },
  // a site with a consent banner
  '5': { domains: ['www.example.org'], maxMode: 'optin' },
  // server-side tracking (matomo-tracker from a Node service): no Origin, no domains listed
  '6': {},
  '7': { domains: ['www.example.org'], rateLimit: 1 },
  '8': { domains: ['www.example.org'], gpc: 'ignore' },
  '9': {
    domains: ['www.example.org'],
    allow: {
      events: ['matomo.event', 'matomo.goal'],
      properties: ['event_category', 'event_action', 'goal_id', 'dimension1'],
    },
  },
  // limited sites (buckets of 2 and 4 events); a bulk naming two sites is refused whole
  '10': { domains: ['www.example.org'], rateLimit: 1 },
  '11': { domains: ['www.example.org'], rateLimit: 2 },
};
const [beacon, image, xhr] = matomoRequests('transports');
const [accountPage, ecommerce, tokenAuth, oldVisitor, campaignParams, broken] = matomoRequests('hostile');
const [bulk] = matomoRequests('bulk');
const withSite = (q: string, site: string) => q.replace(/(^|&)idsite=3(?=&|$)/, `$1idsite=${site}`);

describe('Matomo tracking API through HTTP and Redis', () => {
  let t: TestApp;
  let base: string;
  let ops: string;
  let pseudonymiser: Pseudonymiser;

  beforeAll(async () => {
    t = await startTestApp({ TRUST_PROXY: '127.0.0.1', SITES_FILE: writeSitesFile(SITES) });
    [base, ops] = await t.listen();
    pseudonymiser = new Pseudonymiser(t.config.pseudonymKeys);
  });
  afterAll(() => t.close());

  it('sendBeacon (POST, parameters in the URL, empty body): 204, one page-view record in the Piano vocabulary', async () => {
    const { records } = await whatChanged(t, '3', async () => {
      const res = await send(base, beacon!, { headers: { 'x-forwarded-for': PUBLIC_IP } });
      expect(res.status).toBe(204);
      expect(await res.text()).toBe('');
      // matomo.js sends withCredentials: the origin named, credentials allowed
      expect(res.headers.get('access-control-allow-origin')).toBe('https://www.example.org');
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    });
    expect(records).toHaveLength(1);
    const rec = records[0]!;
    expect(Object.keys(rec)).toEqual(['id', 'site', 'event', 'mode', 'tracker', 'ts', 'visitor', 'geo', 'props']);
    expect(rec).toMatchObject({
      site: '3',
      event: 'page.display',
      mode: 'exempt',
      tracker: 'matomo',
      geo: { country: 'GB' },
    });
    expect(rec.visitor).toBe(pseudonymiser.pseudonymise('3', RAW_ID));
    expect(rec.props).toMatchObject({
      page: 'Blog / Article title',
      page_url: 'https://www.example.org/blog/article.html',
      previous_url: 'https://search.example.net/',
      device_screen_width: 1920,
      device_screen_height: 1080,
      visitor_privacy_mode: 'exempt',
      visitor_privacy_consent: false,
      ch_ua_platform: 'Linux',
    });
    // pv_id is stored keyed, as the SDK's pageview_id
    expect(rec.props.pageview_id).toMatch(/^k1\.[A-Za-z0-9_-]{22}$/);
    expect(JSON.stringify(rec)).not.toContain('Xk3r9A');
  });

  it('the image fallback (GET, send_image=1) gets the 43-byte GIF, the XHR form body a 204; all three transports give the same record id', async () => {
    const { records } = await whatChanged(t, '3', async () => {
      const gif = await send(base, image!);
      expect(gif.status).toBe(200);
      expect(gif.headers.get('content-type')).toBe('image/gif');
      expect(gif.headers.get('cache-control')).toBe('no-store');
      expect(Buffer.from(await gif.arrayBuffer()).equals(MATOMO_TRANSPARENT_GIF)).toBe(true);
      expect(MATOMO_TRANSPARENT_GIF).toHaveLength(43);
      const form = await send(base, xhr!);
      expect(form.status).toBe(204);
      expect((await send(base, beacon!)).status).toBe(204);
    });
    expect(records).toHaveLength(3);
    expect(new Set(records.map((r) => r.id)).size).toBe(1); // a consumer counts the page view once
    expect(new Set(records.map((r) => JSON.stringify(r.props))).size).toBe(1);
  });

  it('/piwik.php is the same endpoint', async () => {
    const { records } = await whatChanged(t, '3', async () => {
      expect(
        (
          await send(base, beacon!, {
            path: '/piwik.php',
            query: beacon!.rawQueryString.replace('r=482913', 'r=111111'),
          })
        ).status,
      ).toBe(204);
    });
    expect(records).toMatchObject([{ event: 'page.display', tracker: 'matomo' }]);
  });

  it('keeps no raw _id, no query string, no uid, no campaign data, no e-mail', async () => {
    const { records } = await whatChanged(t, '3', async () => {
      expect((await send(base, accountPage!)).status).toBe(204);
      expect((await send(base, campaignParams!)).status).toBe(204);
    });
    expect(records).toHaveLength(2);
    const [account, campaign] = records as [Rec, Rec];
    expect(account.props.page_url).toBe('https://www.example.org/account');
    expect(account.props.previous_url).toBe('https://mail.example.net/inbox');
    expect(account.props.page).toBe('Account of [email]');
    expect(account.props).not.toHaveProperty('user_id');
    expect(campaign.props.page_url).toBe('https://www.example.org/blog/article.html');
    const raw = await t.rawStream();
    for (const needle of [
      RAW_ID,
      'jane.doe',
      'spring',
      'newsletter',
      'rcn-spring-sale',
      'rck-keyword',
      'gclid',
      'ref-click-id',
      'utm_',
      'mtm_',
      'pk_campaign',
      '?',
    ]) {
      expect(raw, needle).not.toContain(needle);
    }
  });

  it('ignores token_auth and what needs it (cip, cdt, country, region, city, lat, long): in no record, in no log', async () => {
    const { records } = await whatChanged(t, '3', async () => {
      expect((await send(base, tokenAuth!, { headers: { 'x-forwarded-for': PUBLIC_IP } })).status).toBe(204);
      // and in the query string of a GET (what a log of the URL would show)
      expect(
        (
          await send(base, image!, {
            query: `${image!.rawQueryString.replace('r=482913', 'r=222222')}&token_auth=0123456789abcdef0123456789abcdef&cip=203.0.113.7`,
          })
        ).status,
      ).toBe(200);
      // and in a refused request
      expect((await send(base, image!, { query: 'token_auth=0123456789abcdef0123456789abcdef&rec=1' })).status).toBe(
        400,
      );
    });
    expect(records).toHaveLength(2);
    expect(records[0]!.geo).toEqual({ country: 'GB', region: 'England', city: 'Bracknell' }); // from the address, not from city=Paris
    const raw = await t.rawStream();
    const logs = t.logs.join('\n');
    for (const needle of [
      '0123456789abcdef0123456789abcdef',
      'fedcba9876543210',
      'abcdefabcdefabcdef',
      'ffffffffffffffffffffffff',
      '203.0.113.7',
      'token_auth',
      'Paris',
      '48.85',
      '2020-01-01',
    ]) {
      expect(raw, needle).not.toContain(needle);
      expect(logs, needle).not.toContain(needle);
    }
    expect(logs).toContain('"route":"/matomo.php"'); // the refusal was logged, by its route
  });

  it('answers 400 with a clear JSON message without idsite or rec=1, and for an unknown site 403', async () => {
    const noSite = await send(base, image!, { query: image!.rawQueryString.replace('idsite=3&', '') });
    expect(noSite.status).toBe(400);
    expect(await noSite.json()).toEqual({
      statusCode: 400,
      error: 'invalid_hit',
      message: 'Invalid idSite: idsite is missing',
      path: 'query.idsite',
    });
    const noRec = await send(base, xhr!, { body: xhr!.body.replace('rec=1&', '') });
    expect(noRec.status).toBe(400);
    expect(await noRec.json()).toMatchObject({
      error: 'invalid_hit',
      message: "'rec' parameter not found: a tracking request carries rec=1",
    });
    const unknown = await send(base, image!, { query: withSite(image!.rawQueryString, '99') });
    expect(unknown.status).toBe(403);
    expect(await unknown.json()).toMatchObject({ error: 'unknown_site' });
    const otherOrigin = await send(base, beacon!, {
      headers: { origin: 'https://evil.example.net', referer: undefined },
    });
    expect(otherOrigin.status).toBe(403);
    expect(await otherOrigin.json()).toMatchObject({ error: 'origin_not_allowed' });
    expect(otherOrigin.headers.get('access-control-allow-origin')).toBe('https://evil.example.net'); // readable, so not resent as an image
  });

  it('refuses a body over 64 KiB (413) and other content types (415)', async () => {
    const big = await send(base, xhr!, { body: `${xhr!.body}&action_name=${'a'.repeat(65 * 1024)}` });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: 'body_too_large' });
    const multipart = await send(base, xhr!, {
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x--',
    });
    expect(multipart.status).toBe(415);
    expect(await multipart.json()).toMatchObject({ error: 'unsupported_media_type' });
  });

  it('answers CORS preflights', async () => {
    const res = await fetch(`${base}/matomo.php`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://www.example.org',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://www.example.org');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('content-type');
  });

  it('a matomo.js bulk is one request: 204 (send_image 0), every hit written', async () => {
    const { records } = await whatChanged(t, '3', async () => {
      const res = await send(base, bulk!);
      expect(res.status).toBe(204);
    });
    expect(records.map((r) => r.event)).toEqual(['page.display']); // the second item, a Matomo event, is outside the exempt list
    // one invalid item refuses the whole bulk, nothing written
    const bad = bulk!.body.replace(/("\?e_c=Video[^"]*?)idsite=3/, '$1idsite=abc');
    const { records: none } = await whatChanged(t, '3', async () => {
      const res = await send(base, bulk!, { body: bad });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ path: 'body.requests.1.idsite' });
    });
    expect(none).toEqual([]);
  });

  it('a site that allows Matomo events and goals keeps them, with the names it added', async () => {
    const { records } = await whatChanged(t, '9', async () => {
      const res = await send(base, bulk!, { body: bulk!.body.replaceAll('idsite=3', 'idsite=9') });
      expect(res.status).toBe(204);
    });
    expect(records.map((r) => r.event)).toEqual(['page.display', 'matomo.event']);
    expect(records[1]!.props).toMatchObject({ event_category: 'Video', event_action: 'Play' });
    // a goal with a custom dimension: the names it added, not the revenue nor the other dimension
    const goal = matomoRequests('actions')[5]!;
    const { records: goals } = await whatChanged(t, '9', async () => {
      expect(
        (
          await send(base, goal, {
            query: `${withSite(goal.rawQueryString, '9')}&dimension1=premium&dimension2=secret-dim`,
          })
        ).status,
      ).toBe(204);
    });
    expect(goals).toMatchObject([{ event: 'matomo.goal', props: { goal_id: 4, dimension1: 'premium' } }]);
    expect(goals[0]!.props).not.toHaveProperty('goal_revenue');
    expect(JSON.stringify(goals)).not.toContain('secret-dim');
  });

  it('Sec-GPC: 1, DNT: 1 and Matomo’s opt-out cookie: counters only, no record', async () => {
    for (const headers of [
      { 'sec-gpc': '1' },
      { dnt: '1' },
      { 'x-do-not-track': '1' },
      { cookie: 'matomo_ignore=*' },
      { cookie: 'a=b; piwik_ignore=ignore%3DKg%3D%3D' },
    ]) {
      const { records, optouts } = await whatChanged(t, '3', async () => {
        expect((await send(base, beacon!, { headers })).status).toBe(204);
      });
      expect(records, JSON.stringify(headers)).toEqual([]);
      expect(optouts, JSON.stringify(headers)).toEqual({ 'page.display': 1 });
    }
    // a site that ignores GPC ignores DNT too, never the opt-out cookie
    const ignored = await whatChanged(t, '8', async () => {
      expect(
        (
          await send(base, beacon!, {
            query: withSite(beacon!.rawQueryString, '8'),
            headers: { 'sec-gpc': '1', dnt: '1' },
          })
        ).status,
      ).toBe(204);
    });
    expect(ignored.records).toHaveLength(1);
    const cookie = await whatChanged(t, '8', async () => {
      expect(
        (
          await send(base, beacon!, {
            query: withSite(beacon!.rawQueryString, '8'),
            headers: { cookie: 'matomo_ignore=*' },
          })
        ).status,
      ).toBe(204);
    });
    expect(cookie).toEqual({ records: [], optouts: { 'page.display': 1 } });
  });

  it('states what the tracker routes honour in /privacy', async () => {
    const statement = async (site: string) =>
      (await (await fetch(`${base}/privacy?s=${site}`)).json()).conditions.trackers;
    expect((await statement('3')).matomo).toMatchObject({
      optin: expect.stringMatching(/^never/),
      optout: expect.stringMatching(/^Sec-GPC: 1 and DNT: 1.*opt-out cookie/),
    });
    expect((await statement('5')).matomo.optin).toBe('consent=1 claims opt-in');
    expect((await statement('8')).matomo.optout).toMatch(
      /^neither Sec-GPC nor DNT.*opt-out cookie \(matomo_ignore, piwik_ignore\) always$/,
    );
  });

  it('a visitor cookie older than 13 months (_idts): the record keeps no visitor', async () => {
    const { records } = await whatChanged(t, '3', async () => {
      expect((await send(base, oldVisitor!)).status).toBe(200); // send_image=1: the GIF
    });
    expect(records).toHaveLength(1);
    expect(records[0]).not.toHaveProperty('visitor');
    expect(records[0]!.props.cookie_creation_date).toBe('2020-09-13'); // to the day
    // a fresh one keeps it
    const fresh = oldVisitor!.rawQueryString.replace(
      '_idts=1600000000',
      `_idts=${Math.floor(Date.now() / 1000) - 86_400}`,
    );
    const { records: kept } = await whatChanged(t, '3', async () => {
      expect((await send(base, oldVisitor!, { query: fresh })).status).toBe(200);
    });
    expect(kept[0]!.visitor).toBe(pseudonymiser.pseudonymise('3', RAW_ID));
  });

  it('uid is kept only in opt-in: consent=1 on a site with a consent banner', async () => {
    const consent = `${accountPage!.rawQueryString}&consent=1`;
    const run = async (site: string, query: string) =>
      (
        await whatChanged(t, site, async () => {
          expect((await send(base, accountPage!, { query: withSite(query, site) })).status).toBe(204);
        })
      ).records[0]!;
    const optin = await run('5', consent);
    expect(optin).toMatchObject({
      mode: 'optin',
      tracker: 'matomo',
      props: { user_id: 'jane.doe@example.com', visitor_privacy_mode: 'optin', visitor_privacy_consent: true },
    });
    expect(optin.props.page_url).toContain('?'); // what the visitor consented to
    // no consent on the banner site, or consent on a site without a banner: exempt, uid gone
    for (const [site, query] of [
      ['5', accountPage!.rawQueryString],
      ['3', consent],
    ] as const) {
      const rec = await run(site, query);
      expect(rec.mode, site).toBe('exempt');
      expect(rec.props, site).not.toHaveProperty('user_id');
    }
  });

  it('an ecommerce request, a heartbeat: answered, nothing written', async () => {
    const [, , , , ping] = matomoRequests('actions');
    const { records, optouts } = await whatChanged(t, '3', async () => {
      expect((await send(base, ecommerce!)).status).toBe(204);
      expect((await send(base, ping!)).status).toBe(204);
    });
    expect(records).toEqual([]);
    expect(optouts).toEqual({});
  });

  it('the repeated idsite of a hostile request: the last one wins, as in PHP', async () => {
    const { records } = await whatChanged(t, '4', async () => {
      expect((await send(base, broken!)).status).toBe(200);
    });
    expect(records).toMatchObject([{ site: '4', event: 'page.display' }]);
  });

  it('rate limit: 429 with Retry-After, before the body is read when the query names the site, after parsing otherwise', async () => {
    let n = 300000;
    /** Sends until refused (bounded: the bucket holds 2 s at 1 event/s, however slow the machine). */
    const untilRefused = async (make: () => Promise<Response>) => {
      for (let i = 0; i < 50; i++) {
        const res = await make();
        if (res.status === 429) return res;
        expect(res.status).toBe(204);
      }
      throw new Error('never refused');
    };
    const inQuery = await untilRefused(() =>
      send(base, beacon!, { query: withSite(beacon!.rawQueryString, '7').replace('r=482913', `r=${n++}`) }),
    );
    expect(Number(inQuery.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await inQuery.json()).toMatchObject({ error: 'rate_limited' });
    const inBody = await untilRefused(() =>
      send(base, xhr!, { body: withSite(xhr!.body, '7').replace('r=482913', `r=${n++}`) }),
    );
    expect(Number(inBody.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('a bulk naming several sites is refused whole (400): two sites’ records are never written side by side', async () => {
    let r = 700000;
    const item = (site: string) =>
      `?action_name=A&idsite=${site}&rec=1&r=${r++}&url=https%3A%2F%2Fwww.example.org%2Fa&_id=5d4f2a9c0b7e13f8`;
    const bulkOf = (...sites: string[]) =>
      send(base, bulk!, { body: JSON.stringify({ requests: sites.map(item), send_image: 0 }) });
    const { records: none } = await whatChanged(t, '11', async () => {
      const res = await bulkOf('11', '11', '12');
      expect(res.status).toBe(400);
      const body = await res.json();
      expect(body).toMatchObject({ error: 'invalid_hit', path: 'body.requests.2.idsite' });
      expect(body.message).toMatch(/names one site: this one names 11 and 12/);
    });
    expect(none).toEqual([]);
    // (007 and 7 are one site, as Matomo reads idsite)
    const { records } = await whatChanged(t, '11', async () => {
      expect((await bulkOf('11', '011', '11')).status).toBe(204);
    });
    expect(records).toHaveLength(3);
  });

  it('counts tracker hits by tracker in /metrics, apart from the Piano SDK’s (tracker="piano")', async () => {
    const text = await (await fetch(`${ops}/metrics`)).text();
    expect(sample(text, 'collector_hits_accepted_total', 'tracker="matomo",mode="exempt"')).toBeGreaterThan(5);
    expect(sample(text, 'collector_hits_accepted_total', 'tracker="matomo",mode="optout"')).toBeGreaterThan(0);
    const refused = (reason: string) =>
      sample(text, 'collector_hits_refused_total', `tracker="matomo",reason="${reason}",mode="unknown"`);
    expect(refused('invalid_hit')).toBeGreaterThan(0);
    expect(refused('rate_limited')).toBeGreaterThan(0);
    expect(sample(text, 'collector_hits_accepted_total', 'tracker="piano",mode="exempt"')).toBeUndefined();
  });
});

describe('matomo-tracker (npm, the Matomo organisation’s Node client) against the collector', () => {
  // A server-side tracker forwards its visitor's browser in `ua` (the collector reads it for
  // the robot check instead of the sender's own): without it the hits are a robot's, set apart.
  let t: TestApp;
  let base: string;
  const errors: unknown[] = [];

  beforeAll(async () => {
    t = await startTestApp({ SITES_FILE: writeSitesFile(SITES) });
    [base] = await t.listen();
  });
  afterAll(() => t.close());

  async function until(pred: () => Promise<boolean>): Promise<void> {
    const end = Date.now() + 5000;
    while (!(await pred()) && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  }

  it('track(): a GET per page view, answered with the GIF (no send_image=0), one record each', async () => {
    const tracker = new MatomoTracker(6, `${base}/matomo.php`);
    tracker.on('error', (err) => errors.push(err));
    const { records } = await whatChanged(t, '6', async () => {
      tracker.track({
        ua: VISITOR_UA,
        url: 'https://shop.example.org/a?order=1234#x',
        action_name: 'Home',
        _id: '0123456789ABCDEF',
        rand: '1',
        res: '390x844',
        uid: 'u-42',
        token_auth: 'tok-not-kept',
        cip: '203.0.113.9',
        lat: '48.85',
      });
      tracker.track({
        ua: VISITOR_UA,
        url: 'https://shop.example.org/b',
        action_name: 'News',
        _id: '0123456789abcdef',
        rand: '2',
      });
      await until(async () => (await t.records()).length >= 2);
    });
    expect(errors).toEqual([]);
    expect(records).toHaveLength(2);
    const pseudonym = new Pseudonymiser(t.config.pseudonymKeys).pseudonymise('6', '0123456789abcdef');
    expect(records).toMatchObject([
      {
        site: '6',
        event: 'page.display',
        mode: 'exempt',
        tracker: 'matomo',
        visitor: pseudonym,
        props: { page: 'Home', page_url: 'https://shop.example.org/a', device_screen_width: 390 },
      },
      {
        site: '6',
        event: 'page.display',
        tracker: 'matomo',
        visitor: pseudonym,
        props: { page: 'News', page_url: 'https://shop.example.org/b' },
      },
    ]);
    const raw = await t.rawStream();
    for (const needle of [
      VISITOR_UA,
      'AppleWebKit',
      '0123456789abcdef',
      '0123456789ABCDEF',
      'u-42',
      'tok-not-kept',
      '203.0.113.9',
      '48.85',
      'order=1234',
    ])
      expect(raw, needle).not.toContain(needle);
  });

  it('trackBulk(): a JSON POST, answered with Matomo’s bulk summary, every hit written', async () => {
    const tracker = new MatomoTracker('6', `${base}/matomo.php`);
    tracker.on('error', (err) => errors.push(err));
    let answer: string | undefined;
    const { records } = await whatChanged(t, '6', async () => {
      tracker.trackBulk(
        [
          { ua: VISITOR_UA, url: 'https://shop.example.org/c', action_name: 'C', rand: '3' },
          { ua: VISITOR_UA, url: 'https://shop.example.org/c', link: 'https://partner.example.net/offer?ref=shop' },
          { ua: VISITOR_UA, url: 'https://shop.example.org/d', action_name: 'D', rand: '4' },
        ],
        (body) => {
          answer = body;
        },
      );
      await until(async () => answer !== undefined);
    });
    expect(errors).toEqual([]);
    expect(JSON.parse(answer!)).toEqual({ status: 'success', tracked: 3, invalid: 0 });
    expect(records.map((r) => [r.event, r.props.page ?? r.props.click])).toEqual([
      ['page.display', 'C'],
      ['click.exit', 'https://partner.example.net/offer'],
      ['page.display', 'D'],
    ]);
    expect(records.every((r) => r.tracker === 'matomo' && !('visitor' in r))).toBe(true);
  });

  it('two alike requests without a cache buster (rand, r) are two page views: two record ids', async () => {
    const tracker = new MatomoTracker(6, `${base}/matomo.php`);
    tracker.on('error', (err) => errors.push(err));
    const { records } = await whatChanged(t, '6', async () => {
      tracker.track({ ua: VISITOR_UA, url: 'https://shop.example.org/same', action_name: 'Same' });
      tracker.track({ ua: VISITOR_UA, url: 'https://shop.example.org/same', action_name: 'Same' });
      await until(
        async () => (await t.records()).filter((r) => (r.props as Record<string, unknown>).page === 'Same').length >= 2,
      );
    });
    expect(records).toHaveLength(2);
    expect(records[0]!.id).not.toBe(records[1]!.id);
  });

  it('a site that lists its domains takes the server-side bulk (no Origin, no Referer) of its own pages', async () => {
    const tracker = new MatomoTracker(3, `${base}/matomo.php`);
    tracker.on('error', (err) => errors.push(err));
    let answer: string | undefined;
    // a back end forwarding its visitors' hits: their browser's User-Agent in `ua`, their cookie id in `_id`
    const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const { records } = await whatChanged(t, '3', async () => {
      tracker.trackBulk(
        [
          { url: 'https://www.example.org/server/a', action_name: 'Server A', _id: RAW_ID, ua, rand: '11' },
          { url: 'https://www.example.org:8443/server/b?x=1', action_name: 'Server B', _id: RAW_ID, ua, rand: '12' },
        ],
        (body) => {
          answer = body;
        },
      );
      await until(async () => answer !== undefined);
    });
    expect(errors).toEqual([]);
    expect(JSON.parse(answer!)).toEqual({ status: 'success', tracked: 2, invalid: 0 });
    expect(records.map((r) => [r.site, r.props.page, r.props.page_url])).toEqual([
      ['3', 'Server A', 'https://www.example.org/server/a'],
      ['3', 'Server B', 'https://www.example.org:8443/server/b'],
    ]);
    expect(JSON.stringify(records)).not.toContain('Chrome/131'); // the User-Agent is never stored
  });

  it("refuses a server-side bulk naming another site's page (403, nothing stored), or no page", async () => {
    const refused = async (items: Record<string, string>[]) => {
      const tracker = new MatomoTracker(3, `${base}/matomo.php`);
      const seen: unknown[] = [];
      tracker.on('error', (err) => seen.push(err));
      const { records } = await whatChanged(t, '3', async () => {
        tracker.trackBulk(items);
        const end = Date.now() + 5000;
        while (seen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
      });
      expect(records).toEqual([]);
      return String(seen[0]);
    };
    const foreign = { url: 'https://evil.example.net/www.example.org', action_name: 'Other', rand: '21' };
    expect(await refused([foreign])).toContain('403');
    // one foreign page in the bulk refuses all of it: nothing of the own page is stored either
    expect(
      await refused([
        { url: 'https://www.example.org/own', action_name: 'Own', rand: '22' },
        { url: 'https://example.org/near-miss', action_name: 'Near miss', rand: '23' },
      ]),
    ).toContain('403');
    // no url at all: nothing says where it comes from
    expect(await refused([{ action_name: 'Nowhere', rand: '24' }])).toContain('403');
  });

  it('says which bulk item is on another site, and no Origin, Referer or page: refused as before', async () => {
    const body = JSON.stringify({
      requests: [
        '?idsite=3&rec=1&url=https%3A%2F%2Fwww.example.org%2F',
        '?idsite=3&rec=1&url=https%3A%2F%2Fevil.example.net%2F',
      ],
    });
    const json = { 'content-type': 'application/json' };
    const res = await fetch(`${base}/matomo.php`, { method: 'POST', headers: json, body });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      statusCode: 403,
      error: 'origin_not_allowed',
      message: 'site 3 does not list the domain evil.example.net (page URL)',
      path: 'body.requests.1.url',
    });
    const none = await fetch(`${base}/matomo.php?idsite=3&rec=1&action_name=x`);
    expect(none.status).toBe(403);
    const noPage = expect.stringMatching(/no http\(s\) page URL/);
    expect(await none.json()).toMatchObject({ error: 'origin_not_allowed', message: noPage });
    // an Origin still decides over the page URL: a foreign page's script cannot name the site's pages
    const ownPage = `${base}/matomo.php?idsite=3&rec=1&url=https%3A%2F%2Fwww.example.org%2F`;
    const forged = await fetch(ownPage, { headers: { origin: 'https://evil.example.net' } });
    expect(forged.status).toBe(403);
  });
});

describe('a Matomo bulk while Redis is away', () => {
  it('is refused whole with 503 and Retry-After', async () => {
    const down = await startTestApp({
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      GEOIP_DB: 'off',
      SITES_FILE: writeSitesFile(SITES),
    });
    try {
      const [url] = await down.listen();
      const res = await send(url, bulk!);
      expect(res.status).toBe(503);
      // Headers.get answers null for a missing header: the value itself is checked
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toMatchObject({ error: 'sink_unavailable' });
    } finally {
      await down.close();
    }
  });
});
