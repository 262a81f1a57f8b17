// POST /api/event through the real HTTP server and a real Redis, with the requests
// plausible-tracker sent in Chromium (test/fixtures/plausible/captured.json) and hostile
// bodies (hostile.json). The same tracker live in Chromium: test/browser/plausible.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, writeSitesFile } from '../helpers/app.js';
import { fixture } from '../formats/helpers.js';
import { sample, whatChanged } from '../helpers/trackers.js';

type Captured = { scenarios: { scenario: string; requests: { headers: Record<string, string>; body: string }[] }[] };
const captured = Object.fromEntries(
  fixture<Captured>('plausible', 'captured').scenarios.map((s) => [s.scenario, s.requests[0]!]),
);
type Hostile = {
  requests: { name: string; expect: 'accepted' | 'refused'; body: string; headers?: Record<string, string> }[];
};
const hostile = fixture<Hostile>('plausible', 'hostile').requests;

const SITES = {
  shop: { domains: ['www.example.test'] },
  // a site that wants its Signup goal and one of its props
  props: {
    domains: ['props.example.test'],
    allow: { events: ['plausible.Signup'], properties: ['plausible_prop_plan'] },
  },
  wild: { domains: ['*.wild.test'] },
  nogpc: { domains: ['nogpc.example.test'], gpc: 'ignore' },
  rate: { domains: ['rate.example.test'], rateLimit: 1 },
};
const PAGE_ORIGIN = 'http://www.example.test:41171';

describe('Plausible event API through HTTP and Redis', () => {
  let t: TestApp;
  let base: string;
  let ops: string;

  beforeAll(async () => {
    t = await startTestApp({ SITES_FILE: writeSitesFile(SITES) });
    [base, ops] = await t.listen();
  });
  afterAll(() => t.close());

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/api/event`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: PAGE_ORIGIN, ...headers },
      body,
    });

  it('a pageview of plausible-tracker: 202 "ok", one page.display record without visitor or query string', async () => {
    const { records } = await whatChanged(t, 'shop', async () => {
      const res = await post(captured.pageview!.body);
      expect(res.status).toBe(202);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await res.text()).toBe('ok');
      expect(res.headers.get('access-control-allow-origin')).toBe(PAGE_ORIGIN);
    });
    expect(records).toHaveLength(1);
    const rec = records[0]!;
    expect(Object.keys(rec)).toEqual(['id', 'site', 'event', 'mode', 'tracker', 'ts', 'props']);
    expect(rec).toMatchObject({ site: 'shop', event: 'page.display', mode: 'exempt', tracker: 'plausible' });
    expect(rec.props).toEqual({
      page_url: 'http://www.example.test:41171/shop/article.html',
      page: '/shop/article.html',
      previous_url: 'https://search.example.test/results',
      device_display_width: 1280,
      visitor_privacy_mode: 'exempt',
      visitor_privacy_consent: false,
    });
    expect(JSON.stringify(rec)).not.toMatch(/\?|#|someone|utm_|newsletter|shoes/);
  });

  it('two alike page views (same page, same referrer) are two records with two ids', async () => {
    const { records } = await whatChanged(t, 'shop', async () => {
      expect((await post(captured.pageview!.body)).status).toBe(202);
      expect((await post(captured.pageview!.body)).status).toBe(202);
    });
    expect(records).toHaveLength(2);
    expect(records[0]!.id).not.toBe(records[1]!.id);
  });

  it('a custom event is outside the exempt list: dropped unless the site allows it, and then only the props it adds', async () => {
    const dropped = await whatChanged(t, 'shop', async () => {
      expect((await post(captured['event-with-props']!.body)).status).toBe(202);
    });
    expect(dropped.records).toEqual([]);
    const body = captured['event-with-props']!.body.replace('"d":"example.test"', '"d":"props.example.test"').replace(
      'http://www.example.test:41171',
      'https://props.example.test',
    );
    const kept = await whatChanged(t, 'props', async () => {
      expect((await post(body, { origin: 'https://props.example.test' })).status).toBe(202);
    });
    expect(kept.records).toHaveLength(1);
    expect(kept.records[0]).toMatchObject({
      site: 'props',
      event: 'plausible.Signup',
      tracker: 'plausible',
      props: { plausible_prop_plan: 'pro' },
    });
    expect(kept.records[0]!.props).not.toHaveProperty('plausible_prop_seats');
    expect(kept.records[0]!.props).not.toHaveProperty('plausible_prop_trial');
    // props on a page view: dropped on a site that does not add them
    const pv = JSON.stringify({
      ...JSON.parse(captured.pageview!.body),
      p: JSON.stringify({ plan: 'pro', email: 'jane@example.com' }),
    });
    const plain = await whatChanged(t, 'shop', async () => {
      expect((await post(pv)).status).toBe(202);
    });
    expect(Object.keys(plain.records[0]!.props).filter((k) => k.startsWith('plausible_'))).toEqual([]);
  });

  it('hash mode and several domains (d "example.test,rollup.example.test"): the first listed site, the route in the page', async () => {
    const { records } = await whatChanged(t, 'shop', async () => {
      expect((await post(captured['hash-mode']!.body)).status).toBe(202);
    });
    expect(records).toMatchObject([
      {
        site: 'shop',
        event: 'page.display',
        props: { page: '/shop/app.html#/account/orders', page_url: 'http://www.example.test:41171/shop/app.html' },
      },
    ]);
  });

  it('an outbound link click: click.exit, its URL without query', async () => {
    const { records } = await whatChanged(t, 'shop', async () => {
      expect((await post(captured['outbound-link']!.body)).status).toBe(202);
    });
    expect(records).toMatchObject([
      { event: 'click.exit', tracker: 'plausible', props: { click: 'https://partner.example.test/offer' } },
    ]);
    expect(JSON.stringify(records)).not.toContain('someone');
  });

  it('finds the site by domain as the origin check compares host names: www. either way, *. entries', async () => {
    const body = (d: string, u: string) => JSON.stringify({ n: 'pageview', u, d });
    const wild = await whatChanged(t, 'wild', async () => {
      expect(
        (await post(body('a.b.wild.test', 'https://a.b.wild.test/'), { origin: 'https://a.b.wild.test' })).status,
      ).toBe(202);
    });
    expect(wild.records).toMatchObject([{ site: 'wild' }]);
    const www = await whatChanged(t, 'shop', async () => {
      expect((await post(body('www.example.test', 'https://www.example.test/'))).status).toBe(202);
    });
    expect(www.records).toMatchObject([{ site: 'shop' }]);
  });

  it('refuses a domain no site lists (403), a page elsewhere than the site (403), and bad bodies (400, 413)', async () => {
    const unknown = await post(JSON.stringify({ n: 'pageview', u: 'https://elsewhere.test/', d: 'elsewhere.test' }), {
      origin: 'https://elsewhere.test',
    });
    expect(unknown.status).toBe(403);
    expect(await unknown.json()).toMatchObject({
      error: 'unknown_site',
      message: 'no site of this collector lists the domain elsewhere.test',
    });
    const otherPage = await post(captured.pageview!.body, { origin: 'https://evil.test' });
    expect(otherPage.status).toBe(403);
    expect(await otherPage.json()).toMatchObject({ error: 'origin_not_allowed' });
    for (const r of hostile.filter((h) => h.expect === 'refused')) {
      const res = await post(r.body);
      expect(res.status, r.name).toBe(400);
      expect((await res.json()).error, r.name).toBe('invalid_hit');
    }
    const big = await post(
      JSON.stringify({
        n: 'pageview',
        u: 'https://www.example.test/',
        d: 'example.test',
        p: { x: 'a'.repeat(70_000) },
      }),
    );
    expect(big.status).toBe(413);
  });

  it('without Origin or Referer (a server, a no-referrer page), the page URL u decides by the same rules', async () => {
    const bare = (u: string, d = 'www.example.test') =>
      fetch(`${base}/api/event`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: JSON.stringify({ n: 'pageview', u, d }),
      });
    const own = await whatChanged(t, 'shop', async () => {
      expect((await bare('https://www.example.test:8443/from-the-server')).status).toBe(202);
    });
    expect(own.records).toMatchObject([{ site: 'shop', props: { page: '/from-the-server' } }]);
    const foreign = await whatChanged(t, 'shop', async () => {
      const res = await bare('https://evil.test/www.example.test');
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({
        error: 'origin_not_allowed',
        message: 'site shop does not list the domain evil.test (page URL)',
      });
    });
    expect(foreign.records).toEqual([]);
  });

  it('reads the body as JSON whatever the content type says', async () => {
    const { records } = await whatChanged(t, 'shop', async () => {
      for (const type of ['application/json', 'application/x-www-form-urlencoded', 'text/plain;charset=UTF-8']) {
        expect((await post(captured['custom-url']!.body, { 'content-type': type })).status, type).toBe(202);
      }
      const none = await fetch(`${base}/api/event`, {
        method: 'POST',
        headers: { origin: PAGE_ORIGIN },
        body: new Blob([captured['custom-url']!.body]),
      });
      expect(none.status).toBe(202);
    });
    expect(records).toHaveLength(4);
    expect(records.every((r) => r.props.page_url === 'https://www.example.test/virtual/page')).toBe(true);
  });

  it('Sec-GPC: 1: counters only, unless the site ignores GPC; DNT is not read (as Plausible)', async () => {
    const gpc = await whatChanged(t, 'shop', async () => {
      expect((await post(captured.pageview!.body, { 'sec-gpc': '1' })).status).toBe(202);
    });
    expect(gpc).toEqual({ records: [], optouts: { 'page.display': 1 } });
    const dnt = await whatChanged(t, 'shop', async () => {
      expect((await post(captured.pageview!.body, { dnt: '1' })).status).toBe(202);
    });
    expect(dnt.records).toHaveLength(1);
    const ignored = await whatChanged(t, 'nogpc', async () => {
      expect(
        (
          await post(JSON.stringify({ n: 'pageview', u: 'https://nogpc.example.test/', d: 'nogpc.example.test' }), {
            origin: 'https://nogpc.example.test',
            'sec-gpc': '1',
          })
        ).status,
      ).toBe(202);
    });
    expect(ignored.records).toHaveLength(1);
  });

  it('rate limit: 429 with Retry-After', async () => {
    let refused: Response | undefined;
    for (let i = 0; i < 50 && !refused; i++) {
      const res = await post(
        JSON.stringify({ n: 'pageview', u: `https://rate.example.test/${i}`, d: 'rate.example.test' }),
        { origin: 'https://rate.example.test' },
      );
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(202);
    }
    expect(refused).toBeDefined();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('answers CORS preflights, and an engagement event writes nothing', async () => {
    const pre = await fetch(`${base}/api/event`, {
      method: 'OPTIONS',
      headers: { origin: PAGE_ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(PAGE_ORIGIN);
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    const engagement = hostile.find((h) => h.name === 'engagement')!;
    const { records } = await whatChanged(t, 'shop', async () => {
      expect((await post(engagement.body)).status).toBe(202);
    });
    expect(records).toEqual([]);
  });

  it('counts hits by tracker in /metrics', async () => {
    const text = await (await fetch(`${ops}/metrics`)).text();
    expect(sample(text, 'collector_hits_accepted_total', 'tracker="plausible",mode="exempt"')).toBeGreaterThan(5);
    const refused = (reason: string) =>
      sample(text, 'collector_hits_refused_total', `tracker="plausible",reason="${reason}",mode="unknown"`);
    expect(refused('unknown_site')).toBe(1);
    expect(refused('invalid_hit')).toBeGreaterThan(0);
  });
});

describe('Plausible without a sites file', () => {
  it('refuses every hit: 403, saying a sites file listing the domain is needed', async () => {
    const t = await startTestApp();
    try {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/event',
        headers: { 'content-type': 'text/plain' },
        payload: captured.pageview!.body,
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: 'unknown_site' });
      expect(res.json().message).toMatch(/sites file \(SITES_FILE\).*domains/);
    } finally {
      await t.close();
    }
  });
});
