// The page-URL rule of the one-site check, tried as an attacker would write a page URL:
// userinfo naming the site, look-alike and suffixed hosts, encoded dots, backslashes,
// odd schemes, ports, misleading queries and fragments, oversized paths. Whatever the
// collector accepts must be a page a browser would load from one of the site's hosts
// (the WHATWG parser decides, independently of the collector's own reading), and every
// plain page of the site is accepted.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { originRefusal } from '../../src/pipeline/origin.js';
import { compilePolicy } from '../../src/policy/sites.js';

const policy = { ...compilePolicy('42'), domains: ['www.example.org', '*.shop.example.net'] };

/** The browser's reading: the host it would load the page from, when it is on the site. */
function onTheSite(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  const host = u.hostname;
  return host === 'www.example.org' || host === 'shop.example.net' || host.endsWith('.shop.example.net');
}

const scheme = fc.constantFrom(
  'https://',
  'http://',
  'HTTPS://',
  'https:\\\\',
  'https:/',
  '//',
  'javascript://',
  'ftp://',
  ' https://',
  'data:text/html,https://',
);
const userinfo = fc.constantFrom(
  '',
  '',
  '',
  'www.example.org@',
  'user:pass@',
  'www.example.org%40',
  'a@www.example.org@',
  'shop.example.net:443@',
);
const host = fc.constantFrom(
  'www.example.org',
  'WWW.EXAMPLE.ORG',
  'www.example.org.',
  'shop.example.net',
  'a.b.shop.example.net',
  'evil.com',
  'www.example.org.evil.com',
  'wwwexample.org',
  'example.org',
  'www.example.org%2eevil.com',
  'www%2eexample.org',
  'www.exаmple.org', // a Cyrillic а
  'ｗｗｗ.example.org', // full-width letters, which the parser folds
  'evilshop.example.net',
  'shop.example.net.evil',
  '127.0.0.1',
  '[::1]',
  'www.example.org\\@evil.com',
  'evil.com\\@www.example.org',
);
const port = fc.constantFrom('', '', ':443', ':8080', ':0', ':99999');
const rest = fc.oneof(
  fc.constantFrom(
    '/',
    '/article',
    '/?next=https://www.example.org/',
    '#@www.example.org',
    '/\\@www.example.org/',
    '?@www.example.org',
    '',
  ),
  fc.string({ maxLength: 40 }).map((s) => `/${encodeURIComponent(s)}`),
  fc.integer({ min: 1000, max: 9000 }).map((n) => `/${'a'.repeat(n)}`),
);
const pageUrl = fc.tuple(scheme, userinfo, host, port, rest).map((parts) => parts.join(''));

describe('the one-site check without Origin or Referer, on generated page URLs', () => {
  it('accepts a request only when every page URL is, to a browser, a page of one of the site hosts', () => {
    fc.assert(
      fc.property(fc.array(pageUrl, { minLength: 1, maxLength: 3 }), (urls) => {
        const accepted = originRefusal(policy, undefined, undefined, () => urls) === undefined;
        if (accepted) for (const u of urls) expect(onTheSite(u), u).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('accepts the plain pages of the site, whatever their path and port', () => {
    const own = fc
      .tuple(
        fc.constantFrom('https://', 'http://'),
        fc.constantFrom('www.example.org', 'shop.example.net', 'eu.shop.example.net'),
        fc.constantFrom('', ':8443'),
        fc.webPath(),
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.array(own, { minLength: 1, maxLength: 3 }), (urls) => {
        expect(originRefusal(policy, undefined, undefined, () => urls)).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });
});
