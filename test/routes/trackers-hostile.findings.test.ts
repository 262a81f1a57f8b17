// Issue 18's value findings on the tracker routes, through HTTP into a real Redis: each
// row is what a careless or hostile site sends to /api/event (Plausible) or /matomo.php,
// and what the stored record holds now (each was stored as sent on main before).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, writeSitesFile } from '../helpers/app.js';
import type { Rec } from '../helpers/trackers.js';

const MATOMO_ID = '5d4f2a9c0b7e13f8';

describe('issue 18 value findings on the tracker routes', () => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    t = await startTestApp({
      SITES_FILE: writeSitesFile({
        '7': { allow: { properties: ['cvar_visit_1', 'cvar_page_2'] }, maskPaths: ['/users/:id'] },
        plain: { domains: ['plain.test'], maskPaths: ['/users/:id'] },
      }),
    });
    [base] = await t.listen();
  });
  afterAll(() => t.close());

  async function stored(send: () => Promise<Response>): Promise<{ rec: Rec; raw: string }> {
    const before = new Set((await t.records()).map((r) => r.id));
    const res = await send();
    expect(res.status, await res.text()).toBeLessThan(300);
    const recs = (await t.records()).filter((r) => !before.has(r.id as string)) as Rec[];
    expect(recs).toHaveLength(1);
    return { rec: recs[0]!, raw: await t.rawStream() };
  }

  const plausible = (u: string) => () =>
    fetch(`${base}/api/event`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://plain.test' },
      body: JSON.stringify({ n: 'pageview', u, d: 'plain.test' }),
    });

  const matomo = (params: Record<string, string>) => () =>
    fetch(
      `${base}/matomo.php?${new URLSearchParams({ idsite: '7', rec: '1', _id: MATOMO_ID, send_image: '0', ...params })}`,
    );

  it.each([
    [
      'a servlet ;jsessionid= in the path',
      'https://plain.test/cart;jsessionid=0A1B2C3D4E5F',
      'https://plain.test/cart',
      '/cart',
      '0A1B2C3D4E5F',
    ],
    [
      'a query hidden as %3F',
      'https://plain.test/reset%3FSECRETTOKEN123',
      'https://plain.test/reset',
      '/reset',
      'SECRETTOKEN123',
    ],
    [
      'a fragment hidden as %23',
      'https://plain.test/app%23access_token%3ASECRETHASH99',
      'https://plain.test/app',
      '/app',
      'SECRETHASH99',
    ],
    [
      'an e-mail with a percent-encoded letter',
      'https://plain.test/unsubscribe/jos%C3%A9@example.com',
      'https://plain.test/unsubscribe/[email]',
      '/unsubscribe/[email]',
      'example.com',
    ],
    [
      'an e-mail with %40',
      'https://plain.test/unsubscribe/jos%C3%A9%40example.com',
      'https://plain.test/unsubscribe/[email]',
      '/unsubscribe/[email]',
      'example.com',
    ],
    [
      'a UUID in the path',
      'https://plain.test/orders/5d4f2a9c-0b7e-43f8-9aaa-123456789abc/pay',
      'https://plain.test/orders/[id]/pay',
      '/orders/[id]/pay',
      '5d4f2a9c',
    ],
    [
      'a path the site masks (maskPaths /users/:id)',
      'https://plain.test/users/jdupont/settings',
      'https://plain.test/users/[id]/settings',
      '/users/[id]/settings',
      'jdupont',
    ],
    [
      'an article path',
      'https://plain.test/2026/12/07/mon-article-sur-l-ete',
      'https://plain.test/2026/12/07/mon-article-sur-l-ete',
      '/2026/12/07/mon-article-sur-l-ete',
      '\u0000',
    ],
  ])('Plausible: %s — page_url and the page derived from it', async (_, u, pageUrl, page, secret) => {
    const { rec, raw } = await stored(plausible(u));
    expect(rec.props).toMatchObject({ page_url: pageUrl, page });
    expect(raw.toLowerCase()).not.toContain(secret.toLowerCase());
  });

  it.each([
    [
      'an e-mail with a percent-encoded letter in url',
      { url: 'https://shop.test/unsubscribe/jos%C3%A9@example.com' },
      { page_url: 'https://shop.test/unsubscribe/[email]' },
      'example.com',
    ],
    [
      'a host name holding the address backwards in urlref',
      { urlref: 'https://static.9.113.0.203.clients.your-server.de/x' },
      { previous_url: 'https://[ip]/x' },
      '9.113.0.203',
    ],
    [
      'a token path segment and ;jsessionid in url',
      { url: 'https://shop.test/u/8f14e45fceea167a5a36dedd4bea2543;jsessionid=ABCDEF0123' },
      { page_url: 'https://shop.test/u/[id]' },
      '8f14e45f',
    ],
    [
      'a query in the title whatever its names',
      { action_name: 'Reset /reset?$token=SECRETDOLLAR' },
      { page: 'Reset /reset' },
      'SECRETDOLLAR',
    ],
    [
      ';jsessionid= in the title',
      { action_name: 'cart;jsessionid=SECRETJSESSION' },
      { page: 'cart' },
      'SECRETJSESSION',
    ],
    ['an IPv6 /64 in the title', { action_name: 'net 2001:db8:85a3:8d3::' }, { page: 'net [ip]' }, '8d3::'],
    [
      'the raw _id partly percent-encoded in the title',
      { action_name: `order %35${MATOMO_ID.slice(1)}` },
      { page: 'order [visitor-id]' },
      MATOMO_ID.slice(1, 9),
    ],
  ])('Matomo: %s', async (_, params, props, secret) => {
    const { rec, raw } = await stored(matomo(params));
    expect(rec.props).toMatchObject(props);
    expect(raw.toLowerCase()).not.toContain(secret.toLowerCase());
  });

  it('Matomo: a custom variable naming a click id is dropped on a site that allows the variable', async () => {
    const { rec, raw } = await stored(
      matomo({
        _cvar: JSON.stringify({ 1: ['gclid', 'EAIaCVARPAIR1'] }),
        cvar: JSON.stringify({ 2: ['Section', 'news'] }),
      }),
    );
    expect(rec.props).not.toHaveProperty('cvar_visit_1');
    expect(rec.props.cvar_page_2).toEqual(['Section', 'news']);
    expect(raw).not.toContain('EAIaCVARPAIR1');
  });
});
