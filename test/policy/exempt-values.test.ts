import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALWAYS_ALLOWED_PROPERTIES, EXEMPT_PROPERTIES, URL_PROPERTIES } from '../../src/policy/allowlists.js';
import {
  DROP,
  exemptValue,
  isBrandList,
  isCampaignName,
  isUserProperty,
  MAX_FINDINGS,
  noRuleCounts,
  numericHostIPv4,
  readClientDate,
  sanitiseString,
  rebuildUrl,
  toDay,
} from '../../src/policy/exempt-values.js';
import type { PropertyValue } from '../../src/contract/record.js';
import { depthOf, hostileStringArb, hostileValueArb, keysOf, readable } from '../helpers/hostile.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const clean = (s: string, url = false) => sanitiseString(s, url, noRuleCounts());

describe('URL-valued properties', () => {
  it.each([
    ['https://shop.example.org/cart?email=alice@example.com', 'https://shop.example.org/cart'],
    ['https://shop.example.org/a#top', 'https://shop.example.org/a'],
    ['https://shop.example.org/cart;jsessionid=ABC123', 'https://shop.example.org/cart'],
    ['https://shop.example.org/cart%3Femail%3Dalice%40example.com', 'https://shop.example.org/cart'],
    ['https://shop.example.org/cart%253Ftoken%253DSECRET', 'https://shop.example.org/cart'],
    ['https://bob:secret@shop.example.org/a', 'https://shop.example.org/a'],
    ['https://bob@shop.example.org/a', 'https://shop.example.org/a'],
    ['//bob:secret@shop.example.org/a', '//shop.example.org/a'],
    // (stored as read: the reading decodes, the URL is rebuilt)
    ['https%3A%2F%2Fbob%3Asecret%40shop.example.org%2Fa', 'https://shop.example.org/a'],
    ['https://shop.example.org/caf%C3%A9/p', 'https://shop.example.org/caf%C3%A9/p'],
    ['https://shop.example.org/u/alice@example.com/', 'https://shop.example.org/u/[email]/'],
    ['', ''],
  ])('%s → %s', (sent, kept) => {
    expect(clean(sent, true)).toBe(kept);
  });

  it('also strips URLs inside arrays', () => {
    expect(exemptValue('page_url', ['https://a.test/x?q=1', 'https://b.test/y#f'], noRuleCounts(), NOW)).toEqual([
      'https://a.test/x',
      'https://b.test/y',
    ]);
  });

  it('rebuildUrl keeps a URL without query as it is', () => {
    expect(rebuildUrl('https://a.test/b/c', [])).toBe('https://a.test/b/c');
  });
});

describe('content of every kept string', () => {
  it.each([
    // queries, wherever they are
    ['checkout?step=2&email=x', 'checkout'],
    ['shop.test/cart?x=1', 'shop.test/cart'],
    ['cart%3Femail%3Dalice', 'cart'],
    ['see https://x.test/a?token=SECRET for more', 'see https://x.test/a for more'],
    ['go to https://bob:pw@x.test/a', 'go to https://x.test/a'],
    ['oauth #access_token=abc', 'oauth '],
    // campaign data and click ids
    ['utm_source=newsletter', ''],
    ['UTM_Medium=email', ''],
    ['home gclid: abc123', 'home '],
    ['{"fbclid":"IwAR0x"}', '{}'],
    ['%7B%22gclid%22%3A%22abc%22%7D', '{}'],
    ['xtor=AD-3030-[fr]', ''],
    ['at_medium=email', ''],
    ['utm%5Fsource%3Dx', ''],
    // e-mail addresses, however written
    ['alice@example.com', '[email]'],
    ['contact alice%40example.com now', 'contact [email] now'],
    ['alice%2540example.com', '[email]'],
    ['alice＠example．com', '[email]'],
    ['alice&#64;example.com', '[email]'],
    ['alice&#x40;example.com', '[email]'],
    ['alice (at) example (dot) com', '[email]'],
    ['ALICE [AT] EXAMPLE [DOT] COM', '[email]'],
    ['alice{at}example{dot}com', '[email]'],
    ['alice <at> example.com', '[email]'],
    ['alice\\u0040example.com', '[email]'],
    ['alice\\x40example\\x2ecom', '[email]'],
    ['ALICE@EXAMPLE.COM', '[email]'],
    ['ali\u200bce@exa\u200bmple.com', '[email]'],
    ['élodie@exämple.fr', '[email]'],
    ['a@b', '[email]'],
    // spaced, in plain words, quoted: only before a domain with a dot and a last label of letters
    ['write to alice @ example . com', 'write to [email]'],
    ['alice @example.com', '[email]'],
    ['alice@ example.com', '[email]'],
    ['alice at example dot com', '[email]'],
    ['Alice AT mail DOT example DOT org, thanks', '[email], thanks'],
    ['alice at example.com', '[email]'],
    ['"alice"@example.com', '[email]'],
    ['contact/alice%20at%20example%20dot%20com/x', 'contact/[email]/x'],
    ['alice%20%40%20example.com', '[email]'],
    ['Dinner%20@%20Joe', 'Dinner @ Joe'],
    ['meet%20at%205%20pm', 'meet at 5 pm'],
    ['say "alice smith" @ example.com', 'say [email]'],
    // IP addresses, unless no finer than a /24 or /48
    ['client 203.0.113.9 here', 'client [ip] here'],
    ['203%2E0%2E113%2E9', '[ip]'],
    ['２０３．０．１１３．９', '[ip]'],
    ['2001:db8:85a3::8a2e:370:7334', '[ip]'],
    ['2001%3Adb8%3A85a3%3A%3A1', '[ip]'],
    ['::ffff:203.0.113.9', '::ffff:[ip]'],
    // … and as host names write them
    ['203-0-113-9.dsl.example.net', '[ip].dsl.example.net'],
    ['ip-203-0-113-9.ec2.internal', 'ip-[ip].ec2.internal'],
    // (a URL's host holding an address becomes [ip] whole)
    ['https://ip-203-0-113-9.example.net/p', 'https://[ip]/p'],
    ['host_203_0_113_9', 'host_[ip]'],
    ['203-0-113-0.dsl.example.net', '203-0-113-0.dsl.example.net'],
    ['[2001:db8::1]:8080', '[[ip]]:8080'],
    ['2001:db8:85a3::', '2001:db8:85a3::'],
    ['203.0.113.0', '203.0.113.0'],
    ['http://127.0.0.1:8080/site/page.html', 'http://127.0.0.1:8080/site/page.html'],
    ['[::1]:3000', '[::1]:3000'],
    // … and as a URL's host written as numbers (what browsers read as that address)
    ['http://3405803785/path', 'http://[ip]/path'],
    ['see http://0xcb.0.0x71.9:8080/x', 'see http://[ip]:8080/x'],
    ['https://user@0313.0.0161.011/', 'https://[ip]/'],
    ['//203.28937/x', '//[ip]/x'],
    ['http://2130706433/', 'http://127.0.0.1/'],
    ['http://203.0.113.0/', 'http://[ip]/'],
    ['https://1password.com/', 'https://1password.com/'],
    ['version 3405803785', 'version 3405803785'],
    // innocent values stay as they are
    ['8.0.0.0', '8.0.0.0'],
    ['156.0.8078.108', '156.0.8078.108'],
    ['1.2.3.4.5', '1.2.3.4.5'],
    ['06-12-34-56-78', '06-12-34-56-78'],
    ['2026-11-29', '2026-11-29'],
    ['203-0-113-9-1', '203-0-113-9-1'],
    ['<b>at</b> home', '<b>at</b> home'],
    ['Dinner @ Joe', 'Dinner @ Joe'],
    ['Meet at 5 pm', 'Meet at 5 pm'],
    ['Look at this. Then go', 'Look at this. Then go'],
    ['Price @ 5.99', 'Price @ 5.99'],
    ['Sale at 10.50 EUR', 'Sale at 10.50 EUR'],
    ['He said "no"@ first', 'He said "no"@ first'],
    ['Not:A-Brand', 'Not:A-Brand'],
    ['Not;A=Brand', 'Not;A=Brand'],
    ['Not?A_Brand', 'Not?A_Brand'],
    ['What? Really!', 'What? Really!'],
    ['12:30:45', '12:30:45'],
    ['C# tutorial #1', 'C# tutorial #1'],
    ['@handle', '@handle'],
    // (name=value is a query, whatever the name)
    ['format_x=1', ''],
    ['Économie & société', 'Économie & société'],
    ['home', 'home'],
  ])('%s → %s', (sent, kept) => {
    expect(clean(sent)).toBe(kept);
  });

  it('drops a string holding more addresses than any real value does (and bounds the work)', () => {
    expect(clean(Array.from({ length: MAX_FINDINGS + 1 }, (_, i) => `a${i}@example.com`).join(' '))).toBe(DROP);
    expect(clean(Array.from({ length: MAX_FINDINGS }, (_, i) => `a${i}@example.com`).join(' '))).not.toBe(DROP);
    expect(clean('@'.repeat(8192))).toBe(DROP);
    expect(clean('1.2.3.4 '.repeat(1000))).toBe(DROP);
    // the same in the forms this rule also reads: joined like a host name, escaped, in words
    expect(clean('ip-1-2-3-4 '.repeat(1000))).toBe(DROP);
    expect(clean(Array.from({ length: MAX_FINDINGS + 1 }, (_, i) => `a${i}\\u0040example{dot}com`).join(' '))).toBe(
      DROP,
    );
    expect(clean('{at}'.repeat(2048))).toBe(DROP);
    expect(clean('a at b dot co '.repeat(MAX_FINDINGS + 1))).toBe(DROP);
    expect(clean(' at '.repeat(2048))).toBe(DROP);
    expect(clean('http://3405803785/ '.repeat(MAX_FINDINGS + 1))).toBe(DROP);
    expect(clean('http://3405803785/ '.repeat(MAX_FINDINGS))).not.toBe(DROP);
  });

  it('counts what each rule changed', () => {
    const counts = noRuleCounts();
    sanitiseString('see https://a.test/?q=1 alice@example.com 203.0.113.9 utm_source=x ＠', false, counts);
    expect(counts).toMatchObject({ reading: 1, url: 1, query: 0, campaign: 1, email: 1, ip: 1 });
    sanitiseString('https://a.test/?q=1', true, counts);
    expect(counts.url).toBe(2);
  });
});

describe('shapes', () => {
  const counts = () => noRuleCounts();
  it('keeps scalars and arrays of scalars', () => {
    for (const v of ['x', 1, 0.5, true, false, null, ['a', 1, true, null], []] as PropertyValue[])
      expect(exemptValue('page', v, counts(), NOW)).toEqual(v);
  });

  it('drops objects, arrays of objects and arrays of arrays', () => {
    for (const v of [
      { href: 'x' },
      [{ a: 1 }],
      [['a']],
      { user_id: 'u-77', ip: '203.0.113.9' },
      ['ok', { a: 1 }],
    ] as PropertyValue[]) {
      const c = counts();
      expect(exemptValue('page_chapter2', v, c, NOW)).toBe(DROP);
      expect(c.shape).toBe(1);
    }
  });

  it('keeps the client-hint brand lists only in their exact shape, with their strings checked', () => {
    const list = [
      { brand: 'Not:A-Brand', version: '8.0.0.0' },
      { brand: 'Chromium', version: '156.0.8078.108' },
    ];
    expect(isBrandList(list)).toBe(true);
    expect(exemptValue('ch_ua_full_version_list', list, counts(), NOW)).toEqual(list);
    expect(exemptValue('ch_ua', list, counts(), NOW)).toEqual(list);
    expect(
      exemptValue('ch_ua_full_version_list', [{ brand: 'alice@example.com', version: '1' }], counts(), NOW),
    ).toEqual([{ brand: '[email]', version: '1' }]);
    for (const bad of [
      [{ brand: 'x', version: '1', user_id: 'u' }],
      [{ brand: 'x' }],
      [{ brand: 'x', version: 1 }],
      [{ brand: { href: 'x' }, version: '1' }],
      Array.from({ length: 21 }, () => ({ brand: 'x', version: '1' })),
      [{ brand: 'x'.repeat(129), version: '1' }],
    ]) {
      expect(
        exemptValue('ch_ua_full_version_list', bad as PropertyValue, counts(), NOW),
        JSON.stringify(bad).slice(0, 60),
      ).toBe(DROP);
    }
    // the exception is for those two names only
    expect(exemptValue('page', list, counts(), NOW)).toBe(DROP);
  });
});

describe('cookie_creation_date', () => {
  it('is kept to the UTC day', () => {
    expect(exemptValue('cookie_creation_date', '2026-11-29T03:38:00.000Z', noRuleCounts(), NOW)).toBe('2026-11-29');
    expect(exemptValue('cookie_creation_date', '2026-11-29T23:38:00-02:00', noRuleCounts(), NOW)).toBe('2026-11-30');
    expect(exemptValue('cookie_creation_date', '2026-11-29', noRuleCounts(), NOW)).toBe('2026-11-29');
  });

  it('is dropped when it cannot be read', () => {
    for (const bad of [
      'garbage',
      '2026-11-29T03:38:00.000Z ',
      1795923480000,
      ['2026-11-29'],
      '2026-02-31',
      '29/11/2026',
      'Sun Nov 29 2026',
      '2099-01-01',
      null,
      true,
    ]) {
      expect(exemptValue('cookie_creation_date', bad as PropertyValue, noRuleCounts(), NOW), JSON.stringify(bad)).toBe(
        DROP,
      );
    }
  });

  it('reads ISO dates only, and none in the future', () => {
    expect(readClientDate('2026-11-29T03:38:00.000Z', NOW)).toBe(Date.parse('2026-11-29T03:38:00.000Z'));
    expect(readClientDate('2026-11-30T11:00:00Z', NOW)).toBeDefined(); // clock skew within a day
    expect(readClientDate('2026-12-01T12:00:00Z', NOW)).toBeUndefined();
    expect(toDay('2026-11-29T03:38', NOW)).toBe('2026-11-29');
  });
});

describe('names', () => {
  it('recognises user_* in any letter case', () => {
    for (const n of ['user_id', 'User_Id', 'USER_CATEGORY', 'uSeR_']) expect(isUserProperty(n)).toBe(true);
    for (const n of ['users', 'page_user_id', 'user']) expect(isUserProperty(n)).toBe(false);
  });

  it('recognises campaign parameters and click ids', () => {
    for (const n of ['utm_source', 'UTM_CAMPAIGN', 'at_medium', 'gclid', 'FBCLID', 'mtm_kwd', 'pk_campaign', 'xtor'])
      expect(isCampaignName(n)).toBe(true);
    for (const n of ['page', 'src_detail', 'utm', 'data']) expect(isCampaignName(n)).toBe(false);
  });
});

// Property-based: whatever a page script puts under an allowlisted name, the value
// kept holds no e-mail, IP, query, credential, campaign value or user_* key.
const ALLOWED = [...EXEMPT_PROPERTIES, ...ALWAYS_ALLOWED_PROPERTIES].filter((n) => n !== 'cookie_creation_date');

describe('numericHostIPv4', () => {
  it('reads a numeric host as the URL parser does (WHATWG IPv4: decimal, octal, hex, 1 to 4 parts)', () => {
    const viaUrl = (host: string) => {
      try {
        const h = new URL(`http://${host}/`).hostname;
        return /^\d+\.\d+\.\d+\.\d+$/.test(h) ? h : undefined;
      } catch {
        return undefined;
      }
    };
    const dotted = (n: number | undefined) =>
      n === undefined ? undefined : [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
    const part = fc.oneof(
      fc.nat(300).map(String),
      fc.nat(0xffffffff).map(String),
      fc.nat(0x1ffff).map((n) => `0x${n.toString(16)}`),
      fc.nat(0o777).map((n) => `0${n.toString(8)}`),
      fc.constantFrom('0x', '08', '0', '00', '09', '0X1F'),
    );
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), fc.boolean(), (parts, trailingDot) => {
        const host = parts.join('.') + (trailingDot ? '.' : '');
        expect(dotted(numericHostIPv4(host)), host).toBe(viaUrl(host));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('exempt values (property-based)', () => {
  it('no disguised secret survives in a string, for every allowlisted property', () => {
    for (const name of ALLOWED) {
      fc.assert(
        fc.property(hostileStringArb, ({ value, secret, disguise }) => {
          const kept = exemptValue(name, value, noRuleCounts(), NOW);
          if (kept === DROP) return;
          expect(readable(JSON.stringify(kept)), `${name} ${secret.kind} ${disguise}: ${value}`).not.toContain(
            secret.token,
          );
        }),
        { numRuns: URL_PROPERTIES.includes(name) ? 300 : 60 },
      );
    }
  });

  it('no secret or user_* key survives at any depth', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALLOWED), hostileValueArb, (name, { value, secrets }) => {
        fc.pre(depthOf(value) <= 3);
        const kept = exemptValue(name, value as PropertyValue, noRuleCounts(), NOW);
        if (kept === DROP) return;
        const text = readable(JSON.stringify(kept));
        for (const s of secrets) expect(text, `${name} ${s.kind}: ${JSON.stringify(value)}`).not.toContain(s.token);
        expect(keysOf(kept).filter((k) => k.toLowerCase().startsWith('user_'))).toEqual([]);
        // whatever survives is a scalar, an array of scalars, or a brand list
        if (Array.isArray(kept) && !isBrandList(kept))
          expect(kept.every((x) => x === null || typeof x !== 'object')).toBe(true);
        if (!Array.isArray(kept) && kept !== null && typeof kept === 'object') expect.fail('an object was kept');
      }),
      { numRuns: 3000 },
    );
  });
});
