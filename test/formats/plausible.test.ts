import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PLAUSIBLE_MAX_PROPS, parsePlausibleRequest } from '../../src/formats/plausible.js';
import { FormatError } from '../../src/formats/types.js';
import { EXEMPT_EVENTS } from '../../src/policy/allowlists.js';
import { applyPrivacy } from '../helpers/reference-path.js';
import { compilePolicy } from '../../src/policy/sites.js';
import { expectNotExempt, expectValidEvents, fixture, formatError, type FixtureRequest } from './helpers.js';

const parse = (body: unknown, contentType = 'text/plain') =>
  parsePlausibleRequest({ contentType, body: typeof body === 'string' ? body : JSON.stringify(body) });
const ok = { n: 'pageview', u: 'https://www.example.test/a/b?x=1#frag', d: 'example.test' };

interface Captured {
  capturedWith: Record<string, string>;
  scenarios: { scenario: string; requests: FixtureRequest[]; complete: boolean }[];
}

describe('Plausible fixtures', () => {
  const captured = fixture<Captured>('plausible', 'captured');
  const req = (name: string) => {
    const s = captured.scenarios.find((x) => x.scenario === name);
    if (!s) throw new Error(`no scenario ${name}`);
    expect(s.complete).toBe(true);
    const posts = s.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(1);
    return posts[0]!;
  };

  it('plausible-tracker POSTs JSON as text/plain to /api/event, p as a JSON string, no preflight', () => {
    expect(captured.capturedWith.trackerPackage).toBe('plausible-tracker@0.3.9');
    for (const s of captured.scenarios) {
      expect(
        s.requests.some((r) => r.method === 'OPTIONS'),
        s.scenario,
      ).toBe(false);
      for (const r of s.requests) {
        expect(r.path).toBe('/api/event');
        expect(r.headers['content-type']).toBe('text/plain');
        expect(Object.keys(JSON.parse(r.body) as object).sort()).toEqual(
          expect.arrayContaining(['d', 'h', 'n', 'r', 'u', 'w']),
        );
      }
    }
    expect(typeof (JSON.parse(req('event-with-props').body) as { p: unknown }).p).toBe('string');
  });

  it('pageview → page.display with page_url, the path as page, previous_url, device_display_width', () => {
    const r = req('pageview');
    const out = parsePlausibleRequest({ contentType: r.headers['content-type'], body: r.body });
    expect(out.domains).toEqual(['example.test']);
    expect(out.event).toMatchObject({ tracker: 'plausible', consent: false, optout: false, rawBody: r.body });
    expect(out.event).not.toHaveProperty('visitorId');
    const data = out.event.events[0]!.data!;
    expect(out.event.events[0]!.name).toBe('page.display');
    expect(data.page).toBe('/shop/article.html');
    expect(data.page_url).toMatch(/\/shop\/article\.html\?utm_source=newsletter&email=someone%40example\.com#reviews$/);
    expect(data.previous_url).toBe('https://search.example.test/results?q=shoes');
    expect(data.device_display_width).toBe(1280);
  });

  it('custom event with props; hash mode; roll-up domains; outbound link; custom url', () => {
    const ev = parsePlausibleRequest({ body: req('event-with-props').body }).event.events[0]!;
    expect(ev.name).toBe('plausible.Signup');
    expect(ev.data).toMatchObject({
      plausible_event_name: 'Signup',
      plausible_prop_plan: 'pro',
      plausible_prop_seats: '3',
      plausible_prop_trial: 'true',
    });

    const hash = parsePlausibleRequest({ body: req('hash-mode').body });
    expect(hash.domains).toEqual(['example.test', 'rollup.example.test']);
    expect(hash.event.events[0]!.data!.page).toBe('/shop/app.html#/account/orders');

    const out = parsePlausibleRequest({ body: req('outbound-link').body }).event.events[0]!;
    expect(out.name).toBe('click.exit');
    expect(out.data!.click).toBe('https://partner.example.test/offer?ref=shop&email=someone%40example.com'); // the privacy step cuts it
    expect(out.data!.plausible_prop_url).toBe(
      'https://partner.example.test/offer?ref=shop&email=someone%40example.com',
    );

    expect(parsePlausibleRequest({ body: req('custom-url').body }).event.events[0]!.data).toMatchObject({
      page: '/virtual/page',
      page_url: 'https://www.example.test/virtual/page?id=42',
    });
  });

  it('hostile fixtures: each is accepted or refused as its `expect` says; accepted ones give valid events', () => {
    const reqs = fixture<{ requests: FixtureRequest[] }>('plausible', 'hostile').requests;
    expect(reqs.length).toBeGreaterThanOrEqual(10);
    for (const r of reqs) {
      if (r.expect === 'refused') {
        const e = formatError(() => parsePlausibleRequest({ contentType: r.headers['content-type'], body: r.body }));
        expect(e.statusCode, r.name).toBe(400);
      } else {
        const out = parsePlausibleRequest({ contentType: r.headers['content-type'], body: r.body });
        expectValidEvents(out.event.events);
      }
    }
  });
});

describe('Plausible mapping', () => {
  it('short and long field names', () => {
    const short = parse({ ...ok, r: 'https://r.test/', w: 800, i: false, p: { a: 'b' } }).event.events[0]!;
    const long = parse({
      name: 'pageview',
      url: ok.u,
      domain: ok.d,
      referrer: 'https://r.test/',
      w: 800,
      interactive: false,
      props: { a: 'b' },
    }).event.events[0]!;
    expect(long).toEqual(short);
    expect(short.data).toEqual({
      page_url: ok.u,
      page: '/a/b',
      previous_url: 'https://r.test/',
      device_display_width: 800,
      plausible_interactive: false,
      plausible_prop_a: 'b',
    });
  });

  it('d: split on commas, trimmed, lower-cased, www. dropped, repeats dropped', () => {
    expect(parse({ ...ok, d: ' WWW.Example.test ,blog.example.test,example.test' }).domains).toEqual([
      'example.test',
      'blog.example.test',
    ]);
  });

  it('props: object or JSON string (also m/meta), lists, objects and blanks dropped, the first 30 kept', () => {
    const obj = {
      s: 'x',
      n: 1.5,
      b: false,
      nested: { a: 1 },
      list: [1],
      blank: ' ',
      nul: null,
      'with space': 'v',
      'über/ß': 'v2',
    };
    const expected = {
      plausible_prop_s: 'x',
      plausible_prop_n: '1.5',
      plausible_prop_b: 'false',
      plausible_prop_with_space: 'v',
      plausible_prop__ber__: 'v2',
    };
    expect(parse({ ...ok, p: obj }).event.events[0]!.data).toMatchObject(expected);
    expect(parse({ ...ok, p: JSON.stringify(obj) }).event.events[0]!.data).toMatchObject(expected);
    expect(parse({ ...ok, m: JSON.stringify(obj) }).event.events[0]!.data).toMatchObject(expected);
    for (const bad of ['not json', '[1,2]', 42, true, '{"__proto__":{"x":1}}']) {
      expect(
        Object.keys(parse({ ...ok, p: bad }).event.events[0]!.data!).filter((k) => k.startsWith('plausible_prop_')),
        String(bad),
      ).toEqual([]);
    }
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v']));
    expect(
      Object.keys(parse({ ...ok, p: many }).event.events[0]!.data!).filter((k) => k.startsWith('plausible_prop_')),
    ).toHaveLength(PLAUSIBLE_MAX_PROPS);
    // two keys that sanitise alike: the first wins
    expect(parse({ ...ok, p: { 'a b': 1, a_b: 2 } }).event.events[0]!.data!.plausible_prop_a_b).toBe('1');
  });

  it('event names: pageview, engagement, outbound link, file download, anything else', () => {
    expect(parse({ ...ok, n: 'engagement', sd: 50, e: 1000 }).event.events).toEqual([]);
    expect(parse({ ...ok, n: 'File Download', p: { url: 'https://x.test/f.pdf?t=1' } }).event.events[0]).toMatchObject({
      name: 'click.download',
      data: { click: 'https://x.test/f.pdf?t=1' },
    });
    expect(parse({ ...ok, n: 'Outbound Link: Click' }).event.events[0]!.data).not.toHaveProperty('click');
    expect(parse({ ...ok, n: 404 }).event.events[0]!.name).toBe('plausible.404');
    const e = parse({ ...ok, n: 'Signup: step 2 (email $)' }).event.events[0]!;
    expect(e.name).toBe('plausible.Signup:_step_2__email___');
    expect(e.data!.plausible_event_name).toBe('Signup: step 2 (email $)');
    expect(parse({ ...ok, n: 'x'.repeat(120) }).event.events[0]!.name).toHaveLength(128);
  });

  it('h: the fragment is part of the page only in hash mode, and only when it is a route', () => {
    const page = (u: string, h: unknown) => parse({ ...ok, u, h }).event.events[0]!.data!.page;
    expect(page('https://x.test/app#/a/b?q=1', 1)).toBe('/app#/a/b');
    expect(page('https://x.test/app#/a/b', true)).toBe('/app#/a/b');
    expect(page('https://x.test/app#/a/b', 0)).toBe('/app');
    expect(page('https://x.test/app#access_token=abc&state=x', 1)).toBe('/app');
    expect(page('https://x.test/%C3%A9t%C3%A9', 0)).toBe('/été');
    expect(page('https://x.test/%E0%A4%A', 0)).toBe('/%E0%A4%A');
  });

  it('w is kept only as a plausible width', () => {
    for (const w of [0, -1, 1.5, '1280', 1e9, null])
      expect(parse({ ...ok, w }).event.events[0]!.data, String(w)).not.toHaveProperty('device_display_width');
  });

  it('adapter-specific names stay off the exempt allowlist', () => {
    expectNotExempt(['plausible_prop_email', 'plausible_event_name', 'plausible_interactive']);
    expect(EXEMPT_EVENTS).not.toContain('plausible.Signup');
  });

  it('through the privacy step on an exempt site: props and custom events dropped, URLs without query', () => {
    const h = parse({ ...ok, r: 'https://r.test/?q=secret', w: 1024, p: { email: 'jane@example.com' } }).event;
    const d = applyPrivacy({
      events: h.events,
      idclient: undefined,
      policy: compilePolicy('s'),
      gpc: false,
      now: Date.now(),
    });
    expect(d.events[0]!.props).toEqual({
      page_url: 'https://www.example.test/a/b',
      page: '/a/b',
      previous_url: 'https://r.test/',
      device_display_width: 1024,
    });
    expect(
      applyPrivacy({
        events: parse({ ...ok, n: 'Signup' }).event.events,
        idclient: undefined,
        policy: compilePolicy('s'),
        gpc: false,
        now: Date.now(),
      }).events,
    ).toEqual([]);
  });
});

describe('Plausible refusals', () => {
  const cases: [string, string | object, number, RegExp, string][] = [
    ['empty body', '', 400, /empty body/, 'body'],
    ['not JSON', 'n=pageview', 400, /not valid JSON/, 'body'],
    ['a JSON array', '[1]', 400, /JSON object/, 'body'],
    ['__proto__', '{"__proto__":{"x":1},"n":"pageview"}', 400, /forbidden/, 'body'],
    ['constructor.prototype', '{"constructor":{"prototype":{"x":1}}}', 400, /forbidden/, 'body'],
    ['no name', { u: ok.u, d: ok.d }, 400, /event name \(n\) is required/, 'body.n'],
    ['blank name', { ...ok, n: '  ' }, 400, /event name \(n\) is required/, 'body.n'],
    ['name of another type', { ...ok, n: { a: 1 } }, 400, /event name/, 'body.n'],
    ['name too long', { ...ok, n: 'x'.repeat(121) }, 400, /longer than 120/, 'body.n'],
    ['no url', { n: 'pageview', d: ok.d }, 400, /page URL \(u\) is required/, 'body.u'],
    ['url not a URL', { ...ok, u: 'not a url' }, 400, /not a URL/, 'body.u'],
    ['data: url', { ...ok, u: 'data:text/html,x' }, 400, /scheme is not allowed/, 'body.u'],
    ['url too long', { ...ok, u: `https://x.test/${'a'.repeat(8200)}` }, 400, /longer than 8192/, 'body.u'],
    ['no domain', { n: 'pageview', u: ok.u }, 400, /domain \(d\) is required/, 'body.d'],
    ['domain with a path', { ...ok, d: 'example.test/blog' }, 400, /not a host name/, 'body.d'],
    ['empty domain in a list', { ...ok, d: 'example.test,,b.test' }, 400, /not a host name/, 'body.d'],
    [
      'too many domains',
      { ...ok, d: Array.from({ length: 11 }, (_, i) => `s${i}.test`).join(',') },
      400,
      /more than 10/,
      'body.d',
    ],
    ['prop value too long', { ...ok, p: { a: 'x'.repeat(2001) } }, 400, /at most 300 bytes and values 2000/, 'body.p'],
    ['prop key too long', { ...ok, p: { ['k'.repeat(301)]: 'v' } }, 400, /at most 300 bytes/, 'body.p'],
    ['body over 64 KiB', { ...ok, pad: 'x'.repeat(70_000) }, 413, /larger than 64 KiB/, 'body'],
  ];
  for (const [name, body, status, message, path] of cases) {
    it(name, () => {
      const e = formatError(() => parse(body));
      expect(e.statusCode).toBe(status);
      expect(e.message).toMatch(message);
      expect(e.path).toBe(path);
    });
  }
});

describe('Plausible hostile input (property-based)', () => {
  const check = (body: string) => {
    let out;
    try {
      out = parsePlausibleRequest({ contentType: 'text/plain', body });
    } catch (err) {
      expect(err).toBeInstanceOf(FormatError);
      return;
    }
    expectValidEvents(out.event.events);
    expect(out.event).not.toHaveProperty('visitorId');
    expect(out.domains.length).toBeGreaterThan(0);
    for (const d of out.domains) expect(d).toMatch(/^[a-z0-9.-]+$/);
  };

  it('arbitrary bodies throw nothing but FormatError, and every event passes eventSchema', () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        'pageview',
        'engagement',
        'File Download',
        'Outbound Link: Click',
        'https://x.test/a?b#c',
        'data:x',
        '%E0%A4%A',
        '\uD800',
        'WWW.A.test, b.test',
      ),
    );
    const key = fc.constantFrom(
      'n',
      'name',
      'u',
      'url',
      'd',
      'domain',
      'r',
      'referrer',
      'p',
      'props',
      'm',
      'meta',
      'h',
      'hashMode',
      'i',
      'interactive',
      'w',
      '__proto__',
      'constructor',
      'x',
    );
    const body = fc.dictionary(key, value, { maxKeys: 10 });
    fc.assert(
      fc.property(body, (b) => check(JSON.stringify({ n: 'pageview', u: 'https://x.test/', d: 'x.test', ...b }))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(body, (b) => check(JSON.stringify(b))),
      { numRuns: 1000 },
    );
    fc.assert(fc.property(fc.string({ maxLength: 300 }), check), { numRuns: 1000 });
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ maxLength: 20 }),
          fc.oneof(fc.string({ maxLength: 50 }), fc.double(), fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
          { maxKeys: 40 },
        ),
        fc.boolean(),
        (props, asString) => check(JSON.stringify({ ...ok, p: asString ? JSON.stringify(props) : props })),
      ),
      { numRuns: 1000 },
    );
  });
});
