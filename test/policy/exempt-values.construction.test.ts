// Exempt by construction (issue 18): the value is rebuilt from the canonical reading, so
// - the pre-checks (each rule's `needs`) never change a result: every rule run on every
//   string gives the same value and the same counts;
// - rebuilding is a fixed point: what was stored, sent again, is stored unchanged;
// - ordinary page names, titles and article paths survive as they are.
// fast-check prints the seed and the path of a failure, to replay it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalReading, DROP, exemptValue, noRuleCounts, sanitiseString } from '../../src/policy/exempt-values.js';
import { compilePolicy } from '../../src/policy/sites.js';
import { hostileStringArb } from '../helpers/hostile.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const RUNS = 400;

/** Any text: hostile, unicode, or printable noise with the delimiters the rules look for. */
const anyTextArb = fc.oneof(
  hostileStringArb.map((h) => h.value),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.stringMatching(/^[a-z0-9 /:?#=&;%@.\\\-_[\]"{}]{0,40}$/),
);

const word = fc.stringMatching(/^[a-zàâçéèêëîïôûù]{1,12}$/);
const slug = fc.array(word, { minLength: 1, maxLength: 5 }).map((w) => w.join('-'));
const date = fc
  .date({ min: new Date('2000-01-01'), max: new Date('2099-12-31'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const shortNumber = fc.nat(999_999).map(String);
const segment = fc.oneof(
  word,
  slug,
  shortNumber,
  date,
  date.map((d) => d.replace(/-/g, '/')),
);
const articlePath = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`);
// (as browsers send them: non-ASCII letters percent-encoded)
const urlArb = articlePath.map((p) => `https://www.example.org${encodeURI(p)}`);
/** What sites really send: page names, titles, article paths and their URLs. */
const ordinaryArb = fc.oneof(
  articlePath,
  urlArb,
  fc
    .array(
      word.map((w) => w[0]!.toUpperCase() + w.slice(1)),
      { minLength: 1, maxLength: 6 },
    )
    .map((w) => w.join(' ')),
  fc.constantFrom(
    'Accueil',
    '/produits/42',
    '/2026/12/07/mon-article-sur-l-ete',
    'Économie & société',
    'C# tutorial #1',
    'What? Really!',
    'Chrome 120.0.0.0',
  ),
);

describe('exempt by construction', () => {
  it('the pre-checks change nothing: every rule run on every string gives the same value and counts', () => {
    fc.assert(
      fc.property(anyTextArb, fc.boolean(), (text, url) => {
        const fast = noRuleCounts();
        const slow = noRuleCounts();
        expect(sanitiseString(text, url, fast)).toEqual(sanitiseString(text, url, slow, { skipPreChecks: true }));
        expect(fast).toEqual(slow);
      }),
      { numRuns: RUNS },
    );
  });

  it('what is stored is stored again unchanged (the rebuilt value is a fixed point)', () => {
    fc.assert(
      fc.property(anyTextArb, fc.boolean(), (text, url) => {
        const once = sanitiseString(text, url, noRuleCounts());
        if (once === DROP) return;
        expect(sanitiseString(once, url, noRuleCounts())).toBe(once);
      }),
      { numRuns: RUNS },
    );
  });

  it('ordinary page names, titles and article paths survive unchanged, in every kind of property', () => {
    fc.assert(
      fc.property(ordinaryArb, fc.constantFrom('page', 'page_title_html', 'click', 'page_chapter1'), (text, name) => {
        expect(exemptValue(name, text, noRuleCounts(), NOW)).toBe(text);
      }),
      { numRuns: RUNS },
    );
    // a URL-valued property holds a URL or a path: what follows a `?` or `#` there is a query or a fragment
    fc.assert(
      fc.property(
        fc.oneof(urlArb, articlePath),
        fc.constantFrom('page_url', 'previous_url', 'src_referrer_url'),
        (text, name) => {
          expect(exemptValue(name, text, noRuleCounts(), NOW)).toBe(text);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('the same text under a plain property, then a URL-valued one, is cleaned as a URL the second time', () => {
    const first = sanitiseString('https://www.example.org/a b?q=SECRET', false, noRuleCounts());
    const second = sanitiseString('https://www.example.org/a b?q=SECRET', true, noRuleCounts());
    expect(first).toBe('https://www.example.org/a b');
    expect(second).toBe('https://www.example.org/a%20b');
  });

  it('a URL whose path holds a colon gets every rule', () => {
    for (const url of [
      'https://x.test/ip/2001:db8:85a3:8d3:1:2:3:4/x',
      'https://x.test/c/gclid:EAIaIQobChMI0abc/',
      'https://x.test/a:b/alice@example.com',
    ]) {
      const out = sanitiseString(url, true, noRuleCounts());
      expect(out).not.toMatch(/8d3|EAIa|alice/);
    }
  });

  it('an IPv6 /64 in a kept string is an address; a /48 stays', () => {
    expect(sanitiseString('net 2001:db8:85a3:8d3::', false, noRuleCounts())).toBe('net [ip]');
    expect(sanitiseString('net 2001:db8:85a3::', false, noRuleCounts())).toBe('net 2001:db8:85a3::');
  });

  it('both strings of a client-hint brand entry go through the value rules', () => {
    const out = exemptValue(
      'ch_ua_full_version_list',
      [{ brand: 'alice@example.com', version: '1.0 203.0.113.9' }],
      noRuleCounts(),
      NOW,
    );
    expect(out).toEqual([{ brand: '[email]', version: '1.0 [ip]' }]);
  });

  it("a site's maskPaths mask the named segments of its URLs and paths", () => {
    const policy = compilePolicy('s', { maskPaths: ['/users/:id', '/shop/*/orders/:order'] });
    const value = (v: string) => exemptValue('page_url', v, noRuleCounts(), NOW, { masks: policy.masks });
    expect(value('https://x.test/users/jdupont/settings')).toBe('https://x.test/users/[id]/settings');
    expect(value('https://x.test/shop/fr/orders/A-1/x')).toBe('https://x.test/shop/fr/orders/[id]/x');
    expect(value('https://x.test/usersx/jdupont')).toBe('https://x.test/usersx/jdupont');
    expect(exemptValue('page', '/users/jdupont', noRuleCounts(), NOW, { masks: policy.masks })).toBe('/users/[id]');
  });

  it('the reading decodes each listed encoding, and refuses what is nested deeper than it reads', () => {
    for (const [sent, read] of [
      ['a%2540b', 'a@b'],
      ['a%u0040b', 'a@b'],
      ['a&#64b', 'a@b'],
      ['a&#x40;b', 'a@b'],
      ['a&commat;b', 'a@b'],
      ['a\\u0040b', 'a@b'],
      ['a\\u{40}b', 'a@b'],
      ['a\\x40b', 'a@b'],
      ['a\\100b', 'a@b'],
      ['a\\40 b', 'a@b'],
      ['a&quot;b', 'a"b'],
      ['ａ＠ｂ', 'a@b'],
      ['a\u200b\u00ad\u200e@b', 'a@b'],
      ['a \n\t b', 'a b'],
      ['C:\\apps', 'C:\\apps'],
    ]) {
      expect(canonicalReading(sent!), sent).toBe(read);
    }
    let nested = 'a@b';
    for (let i = 0; i < 12; i++) nested = encodeURIComponent(nested);
    expect(canonicalReading(nested)).toBeUndefined();
  });
});
