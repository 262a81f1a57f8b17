// Audience means people, through HTTP and real Redis on the three hit routes (/event,
// /matomo.php, /api/event): robots (by User-Agent, client hints, or none at all) and
// referrer spam get the answer a person's hit gets, write nothing to the stream, and move
// only the set-apart counters. Requests go out through node:http, which sends exactly the
// headers given (no User-Agent unless one is set), not through the tests' browser default.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SET_APART_REASONS } from '../../src/contract/keys.js';
import { startTestApp, type TestApp, writeSitesFile } from '../helpers/app.js';
import { BROWSER_USER_AGENTS, DESKTOP_CHROME_UA, ROBOT_USER_AGENTS } from '../helpers/user-agents.js';

type Route = 'piano' | 'matomo' | 'plausible';
const ROUTES: readonly Route[] = ['piano', 'matomo', 'plausible'];

// site ids of this run only: the counter keys (setapart:{<site>}:<hour>) carry no prefix
const run = 100_000_000 + randomBytes(3).readUIntBE(0, 3);
const SITE = String(run);
const KEEP = String(run + 1);
const DOMAIN = `www.s${run}.example`;
const KEEP_DOMAIN = `www.k${run}.example`;

interface Hit {
  route: Route;
  /** undefined: no User-Agent header at all. */
  ua: string | undefined;
  /** Marks the hit: its page_url is https://<domain>/<page>. */
  page: string;
  referrer?: string;
  site?: string;
  headers?: Record<string, string>;
  /** Extra event properties (Piano) or Matomo parameters. */
  extra?: Record<string, string>;
  /** Piano only: the events' data besides page and page_url. */
  data?: Record<string, unknown>;
}

function request(base: string, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(base);
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('robots and referrer spam are set apart on every hit route', () => {
  let t: TestApp;
  let base: string;
  let operator: string;
  const expected = new Map<string, { robot: number; spam: number }>([
    [SITE, { robot: 0, spam: 0 }],
    [KEEP, { robot: 0, spam: 0 }],
  ]);
  /** Pages that must land, by route. */
  const landed: Record<Route, Set<string>> = { piano: new Set(), matomo: new Set(), plausible: new Set() };
  const setApartByRoute: Record<Route, { robot: number; spam: number }> = {
    piano: { robot: 0, spam: 0 },
    matomo: { robot: 0, spam: 0 },
    plausible: { robot: 0, spam: 0 },
  };

  beforeAll(async () => {
    t = await startTestApp({
      SITES_FILE: writeSitesFile({ [SITE]: { domains: [DOMAIN] }, [KEEP]: { domains: [KEEP_DOMAIN], bots: 'keep' } }),
    });
    [base, operator] = await t.listen();
  });
  afterAll(() => t.close());

  /** Sends one hit; returns its HTTP status. */
  async function send(hit: Hit): Promise<number> {
    const site = hit.site ?? SITE;
    const domain = site === KEEP ? KEEP_DOMAIN : DOMAIN;
    const pageUrl = `https://${domain}/${hit.page}`;
    const headers: Record<string, string> = { origin: `https://${domain}`, ...hit.headers };
    if (hit.ua !== undefined) headers['user-agent'] = hit.ua;
    if (hit.route === 'piano') {
      const data = {
        page: hit.page,
        page_url: pageUrl,
        ...(hit.referrer ? { previous_url: hit.referrer } : {}),
        ...hit.data,
      };
      const body = JSON.stringify({ events: [{ name: 'page.display', data }] });
      const idclient = randomBytes(8).toString('hex');
      const res = await request(
        base,
        'POST',
        `/event?s=${site}&idclient=${idclient}`,
        { ...headers, 'content-type': 'text/plain;charset=UTF-8' },
        body,
      );
      return res.status;
    }
    if (hit.route === 'matomo') {
      const q = new URLSearchParams({
        idsite: site,
        rec: '1',
        url: pageUrl,
        action_name: hit.page,
        rand: randomBytes(6).toString('hex'),
      });
      if (hit.referrer) q.set('urlref', hit.referrer);
      for (const [k, v] of Object.entries(hit.extra ?? {})) q.set(k, v);
      return (await request(base, 'GET', `/matomo.php?${q}`, headers)).status;
    }
    const body = JSON.stringify({ n: 'pageview', u: pageUrl, d: domain, ...(hit.referrer ? { r: hit.referrer } : {}) });
    return (await request(base, 'POST', '/api/event', { ...headers, 'content-type': 'text/plain' }, body)).status;
  }

  const PERSON_STATUS: Record<Route, number> = { piano: 204, matomo: 200, plausible: 202 };

  /** Sends the hit, checks it is answered as a person's, and records what it must do. */
  async function expectVerdict(hit: Hit, verdict: 'person' | 'robot' | 'spam'): Promise<void> {
    expect(await send(hit), `${hit.route} ${hit.page}`).toBe(PERSON_STATUS[hit.route]);
    if (verdict === 'person') landed[hit.route].add(hit.page);
    else {
      expected.get(hit.site ?? SITE)![verdict]++;
      setApartByRoute[hit.route][verdict]++;
    }
  }

  const pages = async (route: Route): Promise<Set<string>> => {
    const tracker = route === 'piano' ? undefined : route;
    const records = (await t.records()) as { tracker?: string; props: { page_url?: string } }[];
    return new Set(
      records.filter((r) => r.tracker === tracker).map((r) => new URL(r.props.page_url!).pathname.slice(1)),
    );
  };

  it('a table of real User-Agents: robots of every kind set apart, current browsers land, on all three routes', async () => {
    for (const route of ROUTES) {
      for (const [i, r] of ROBOT_USER_AGENTS.entries())
        await expectVerdict({ route, ua: r.ua, page: `robot-${i}` }, 'robot');
      for (const [i, b] of BROWSER_USER_AGENTS.entries())
        await expectVerdict({ route, ua: b.ua, page: `browser-${i}` }, 'person');
    }
    for (const route of ROUTES) {
      const got = await pages(route);
      for (const [i, r] of ROBOT_USER_AGENTS.entries())
        expect(got.has(`robot-${i}`), `${route}: ${r.name} stored`).toBe(false);
      for (const [i, b] of BROWSER_USER_AGENTS.entries())
        expect(got.has(`browser-${i}`), `${route}: ${b.name} lost`).toBe(true);
    }
  });

  it('no User-Agent at all, or an empty one, is a robot: browsers always send one', async () => {
    for (const route of ROUTES) {
      await expectVerdict({ route, ua: undefined, page: 'no-ua' }, 'robot');
      await expectVerdict({ route, ua: '', page: 'empty-ua' }, 'robot');
      await expectVerdict({ route, ua: '   ', page: 'blank-ua' }, 'robot');
    }
    for (const route of ROUTES) expect([...(await pages(route))].filter((p) => p.endsWith('-ua'))).toEqual([]);
  });

  it('a desktop User-Agent whose client hints name a headless browser is a robot (Sec-CH-UA, or ch_ua in the hit)', async () => {
    const headless = '"HeadlessChrome";v="156", "Chromium";v="156", "Not:A-Brand";v="24"';
    const real = '"Google Chrome";v="156", "Chromium";v="156", "Not:A-Brand";v="24"';
    for (const route of ROUTES) {
      await expectVerdict(
        { route, ua: DESKTOP_CHROME_UA, page: 'hints-headless', headers: { 'sec-ch-ua': headless } },
        'robot',
      );
      await expectVerdict(
        { route, ua: DESKTOP_CHROME_UA, page: 'hints-chrome', headers: { 'sec-ch-ua': real } },
        'person',
      );
    }
    const brands = [
      { brand: 'HeadlessChrome', version: '156' },
      { brand: 'Chromium', version: '156' },
    ];
    await expectVerdict(
      { route: 'piano', ua: DESKTOP_CHROME_UA, page: 'ch-ua-headless', data: { ch_ua: brands } },
      'robot',
    );
    const uadata = JSON.stringify({ brands, mobile: false, platform: 'Linux' });
    await expectVerdict(
      { route: 'matomo', ua: DESKTOP_CHROME_UA, page: 'uadata-headless', extra: { uadata } },
      'robot',
    );
    for (const route of ROUTES) {
      const got = await pages(route);
      expect(got.has('hints-chrome'), route).toBe(true);
      expect(
        [...got].filter((p) => p.includes('headless')),
        route,
      ).toEqual([]);
    }
  });

  it("Matomo's forwarded ua decides over the sender's own User-Agent, in single requests and per bulk item", async () => {
    const googlebot = ROBOT_USER_AGENTS.find((r) => r.name === 'Googlebot')!.ua;
    const iphone = BROWSER_USER_AGENTS.find((b) => b.name === 'Safari, iPhone')!.ua;
    // server-side tracking: the sender is a library (or sends nothing), the visitor a browser
    await expectVerdict({ route: 'matomo', ua: 'node', page: 'fwd-browser-node', extra: { ua: iphone } }, 'person');
    await expectVerdict({ route: 'matomo', ua: undefined, page: 'fwd-browser-none', extra: { ua: iphone } }, 'person');
    await expectVerdict(
      { route: 'matomo', ua: DESKTOP_CHROME_UA, page: 'fwd-robot', extra: { ua: googlebot } },
      'robot',
    );
    await expectVerdict({ route: 'matomo', ua: 'Go-http-client/1.1', page: 'fwd-none' }, 'robot');

    const item = (page: string, ua: string) =>
      `?${new URLSearchParams({ idsite: SITE, rec: '1', url: `https://${DOMAIN}/${page}`, action_name: page, rand: page, ua })}`;
    const bulk = JSON.stringify({ requests: [item('bulk-person', iphone), item('bulk-robot', googlebot)] });
    const headers = {
      origin: `https://${DOMAIN}`,
      'content-type': 'application/json',
      'user-agent': 'python-requests/2.32.3',
    };
    const res = await request(base, 'POST', '/matomo.php', headers, bulk);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'success', tracked: 2, invalid: 0 });
    landed.matomo.add('bulk-person');
    expected.get(SITE)!.robot++;
    setApartByRoute.matomo.robot++;
    const got = await pages('matomo');
    for (const p of ['fwd-browser-node', 'fwd-browser-none', 'bulk-person']) expect(got.has(p), p).toBe(true);
    for (const p of ['fwd-robot', 'fwd-none', 'bulk-robot']) expect(got.has(p), p).toBe(false);
  });

  it('referrer spam on all three routes, a subdomain of a listed host included; look-alikes land', async () => {
    const spam = [
      'https://semalt.com/',
      'http://buttons-for-website.com/promo?x=1',
      'https://www.semalt.com/crawler.php?u=1',
      'https://deep.sub.buttons-for-website.com:8443/',
      'HTTPS://SEMALT.COM./',
    ];
    const notSpam = [
      'https://notsemalt.com.example/',
      'https://semalt.com.example/',
      'https://example.org/?ref=semalt.com',
      'https://www.example.org/semalt.com',
      'https://semaltcom.example/',
    ];
    for (const route of ROUTES) {
      for (const [i, referrer] of spam.entries())
        await expectVerdict({ route, ua: DESKTOP_CHROME_UA, page: `spam-${i}`, referrer }, 'spam');
      for (const [i, referrer] of notSpam.entries())
        await expectVerdict({ route, ua: DESKTOP_CHROME_UA, page: `ref-${i}`, referrer }, 'person');
    }
    for (const route of ROUTES) {
      const got = await pages(route);
      expect(
        [...got].filter((p) => p.startsWith('spam-')),
        route,
      ).toEqual([]);
      for (const i of notSpam.keys()) expect(got.has(`ref-${i}`), `${route}: ${notSpam[i]}`).toBe(true);
    }
  });

  it('a robot with a spam referrer counts once, as a robot', async () => {
    const curl = ROBOT_USER_AGENTS.find((r) => r.name === 'curl')!.ua;
    const before = await t.redis.hgetall(`setapart:{${SITE}}:${new Date().toISOString().slice(0, 13)}`);
    for (const route of ROUTES)
      await expectVerdict({ route, ua: curl, page: 'robot-spam', referrer: 'https://semalt.com/' }, 'robot');
    const after = await t.redis.hgetall(`setapart:{${SITE}}:${new Date().toISOString().slice(0, 13)}`);
    // (unless the hour turned in between: the final count checks the sums)
    if (Object.keys(before).length > 0) expect(Number(after.robot) - Number(before.robot ?? 0)).toBe(3);
    expect(after.spam).toBe(before.spam);
  });

  it('a robot objecting (Sec-GPC) is counted as a robot, not as an opt-out', async () => {
    const hour = new Date().toISOString().slice(0, 13);
    const before = await t.redis.hgetall(`optout:{${SITE}}:${hour}`);
    await expectVerdict(
      { route: 'piano', ua: 'python-requests/2.32.3', page: 'robot-gpc', headers: { 'sec-gpc': '1' } },
      'robot',
    );
    await expectVerdict({ route: 'matomo', ua: 'curl/8.11.1', page: 'robot-dnt', headers: { dnt: '1' } }, 'robot');
    expect(await t.redis.hgetall(`optout:{${SITE}}:${hour}`)).toEqual(before);
  });

  it("a robot's malformed hit gets the person's 400: the answer tells nothing", async () => {
    const bad = JSON.stringify({ events: [{ name: 'page.display', data: { page: 'x'.repeat(9000) } }] });
    const answers = await Promise.all(
      [DESKTOP_CHROME_UA, 'Googlebot/2.1'].map((ua) =>
        request(
          base,
          'POST',
          `/event?s=${SITE}&idclient=abc`,
          { origin: `https://${DOMAIN}`, 'content-type': 'text/plain', 'user-agent': ua },
          bad,
        ),
      ),
    );
    expect(answers[0]!.status).toBe(400);
    expect(answers[1]).toEqual(answers[0]);
  });

  it('a site with bots: "keep" stores robots as audience, and still sets referrer spam apart', async () => {
    const gptbot = ROBOT_USER_AGENTS.find((r) => r.name === 'GPTBot')!.ua;
    for (const route of ROUTES) {
      await expectVerdict({ route, site: KEEP, ua: gptbot, page: 'kept-robot' }, 'person');
      await expectVerdict({ route, site: KEEP, ua: undefined, page: 'kept-no-ua' }, 'person');
      await expectVerdict(
        { route, site: KEEP, ua: gptbot, page: 'kept-spam', referrer: 'https://semalt.com/' },
        'spam',
      );
    }
    const records = (await t.records()) as { site: string; props: { page_url?: string } }[];
    const kept = records.filter((r) => r.site === KEEP).map((r) => new URL(r.props.page_url!).pathname.slice(1));
    expect(kept.sort()).toEqual(['kept-no-ua', 'kept-no-ua', 'kept-no-ua', 'kept-robot', 'kept-robot', 'kept-robot']);
  });

  it('the counters: exact counts per site and reason, no other field, a TTL; the stream and logs hold no User-Agent', async () => {
    const redis = t.redis as Redis;
    for (const [site, counts] of expected) {
      const keys = await redis.keys(`setapart:{${site}}:*`);
      expect(keys.length, site).toBeGreaterThan(0);
      const sum: Record<string, number> = {};
      for (const key of keys) {
        expect(key).toMatch(/^setapart:\{[0-9]+\}:\d{4}-\d{2}-\d{2}T\d{2}$/);
        expect(await redis.ttl(key)).toBeGreaterThan(0);
        for (const [field, n] of Object.entries(await redis.hgetall(key))) sum[field] = (sum[field] ?? 0) + Number(n);
      }
      for (const field of Object.keys(sum)) expect(SET_APART_REASONS as readonly string[]).toContain(field);
      expect({ robot: sum.robot ?? 0, spam: sum.spam ?? 0 }, site).toEqual(counts);
    }
    expect(expected.get(SITE)!.robot).toBeGreaterThan(3 * ROBOT_USER_AGENTS.length);

    // every page that should have landed did, once
    for (const route of ROUTES) {
      const got = await pages(route);
      for (const p of landed[route]) expect(got.has(p), `${route} ${p}`).toBe(true);
    }

    const raw = await t.rawStream();
    const logs = t.logs.join('\n');
    const needles = [...ROBOT_USER_AGENTS, ...BROWSER_USER_AGENTS].map((u) => u.ua).filter((ua) => ua.length > 8);
    // (not 'semalt': the look-alike referrers are stored, as they should be)
    needles.push('Mozilla/5.0', 'AppleWebKit', 'Googlebot', 'HeadlessChrome', 'python-requests');
    for (const needle of needles) {
      expect(raw.includes(needle), `stream holds ${needle}`).toBe(false);
      expect(logs.includes(needle), `logs hold ${needle}`).toBe(false);
    }
  });

  it('/metrics counts the set-apart hits by tracker and reason', async () => {
    const text = await (await fetch(`${operator}/metrics`)).text();
    for (const route of ROUTES) {
      for (const reason of SET_APART_REASONS) {
        const line = new RegExp(
          `^collector_hits_set_apart_total\\{tracker="${route}",reason="${reason}"\\} (\\d+)$`,
          'm',
        ).exec(text);
        // (the bots: "keep" site's spam included)
        expect(Number(line?.[1] ?? 0), `${route} ${reason}`).toBe(setApartByRoute[route][reason]);
      }
    }
  });
});
