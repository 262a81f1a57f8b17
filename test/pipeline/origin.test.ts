// One site, one tracker (CNIL, Piano guide 4.6): a site that lists its domains takes hits
// only from them, by the Origin's host name (or, without one, the Referer's; without
// either, the page URL of every hit).
import { describe, expect, it } from 'vitest';
import { hostAllowed, originRefusal, pageUrlsOfEvents } from '../../src/pipeline/origin.js';
import { compilePolicy } from '../../src/policy/sites.js';

describe('hostAllowed', () => {
  it('*.example.com takes example.com itself and any host under it', () => {
    for (const host of ['example.com', 'www.example.com', 'a.b.example.com'])
      expect(hostAllowed(host, ['*.example.com']), host).toBe(true);
  });

  it('*.example.com refuses a host that only ends with the same letters, or holds it elsewhere', () => {
    for (const host of [
      'evilexample.com',
      'xexample.com',
      'example.com.evil.net',
      'example.co',
      'com',
      'example.org',
      'www.example.com.evil.net',
      'wwwexample.com',
    ])
      expect(hostAllowed(host, ['*.example.com']), host).toBe(false);
  });

  it('a plain domain takes that host only, not its subdomains', () => {
    expect(hostAllowed('example.org', ['example.org'])).toBe(true);
    expect(hostAllowed('www.example.org', ['example.org'])).toBe(false);
    expect(hostAllowed('evilexample.org', ['example.org'])).toBe(false);
  });

  it('compares IPv6 hosts without their brackets, and takes any of several domains', () => {
    expect(hostAllowed('::1', ['[::1]'])).toBe(true);
    expect(hostAllowed('shop.example.net', ['www.example.org', '*.example.net'])).toBe(true);
    expect(hostAllowed('anything', [])).toBe(false);
  });
});

describe('originRefusal', () => {
  const site = compilePolicy('123456', { domains: ['www.example.org', '*.example.com'] });
  const open = compilePolicy('777');

  it('takes anything for a site without domains', () => {
    expect(originRefusal(open, undefined, undefined)).toBeUndefined();
    expect(originRefusal(open, 'https://evil.example', undefined)).toBeUndefined();
  });

  it('takes a listed host whatever the scheme, port or letter case', () => {
    for (const origin of [
      'https://www.example.org',
      'http://www.example.org:8443',
      'HTTPS://WWW.EXAMPLE.ORG',
      'https://example.com',
      'https://a.b.example.com:444',
    ])
      expect(originRefusal(site, origin, undefined), origin).toBeUndefined();
  });

  it('refuses other hosts, naming the host and the site', () => {
    for (const [origin, host] of [
      ['https://evilexample.com', 'evilexample.com'],
      ['https://xexample.com', 'xexample.com'],
      ['https://example.com.evil.net', 'example.com.evil.net'],
      ['https://example.org', 'example.org'],
    ]) {
      expect(originRefusal(site, origin, undefined), origin).toBe(`site 123456 does not list the domain ${host}`);
    }
  });

  it('reads the Referer only without an Origin, and the Origin wins over it', () => {
    expect(originRefusal(site, undefined, 'https://www.example.org/page?x=1')).toBeUndefined();
    expect(originRefusal(site, undefined, 'https://evilexample.com/www.example.org')).toMatch(/evilexample\.com/);
    expect(originRefusal(site, 'https://evilexample.com', 'https://www.example.org/')).toMatch(/evilexample\.com/);
    // an opaque origin (sandboxed frame, file:) is no origin: the Referer decides
    expect(originRefusal(site, 'null', 'https://www.example.org/')).toBeUndefined();
  });

  it('refuses a request with neither, or with nothing readable', () => {
    const none = 'site 123456 only takes hits from its own domains, and the request has no Origin, Referer or page URL';
    expect(originRefusal(site, undefined, undefined)).toBe(none);
    expect(originRefusal(site, 'null', undefined)).toBe(none);
    expect(originRefusal(site, 'not a url', 'neither')).toBe(none);
  });

  it('without Origin or Referer, takes a request whose page URLs are all on the site (server, no-referrer)', () => {
    const pages =
      (...urls: (string | undefined)[]) =>
      () =>
        urls;
    expect(originRefusal(site, undefined, undefined, pages('https://www.example.org/a?b=1'))).toBeUndefined();
    const two = pages('http://WWW.EXAMPLE.ORG:8080/a', 'https://shop.example.com/b');
    expect(originRefusal(site, 'null', undefined, two)).toBeUndefined();
    // never read when a header decides
    const unread = () => {
      throw new Error('page URLs read although the Origin decides');
    };
    expect(originRefusal(site, 'https://www.example.org', undefined, unread)).toBeUndefined();
    expect(originRefusal(site, undefined, 'https://evilexample.com/', unread)).toMatch(/evilexample\.com/);
  });

  it('without Origin or Referer, refuses when one page URL is elsewhere, missing or not a web page', () => {
    const pages =
      (...urls: (string | undefined)[]) =>
      () =>
        urls;
    expect(originRefusal(site, undefined, undefined, pages('https://evilexample.com/www.example.org'))).toBe(
      'site 123456 does not list the domain evilexample.com (page URL)',
    );
    // one foreign page among the site's own: the whole request
    const oneForeign = pages('https://www.example.org/', 'https://example.org/');
    expect(originRefusal(site, undefined, undefined, oneForeign)).toMatch(/example\.org \(page URL\)/);
    // an event without a page URL beside one that has it: refused, named by its place
    const oneMissing = pages('https://www.example.org/', undefined);
    expect(originRefusal(site, undefined, undefined, oneMissing)).toMatch(/event 2 of 2 has no http\(s\) page URL/);
    const notPages = ['/relative/page', 'www.example.org/page', 'file://www.example.org/x'];
    notPages.push('data:text/html,www.example.org', 'javascript:1', '');
    for (const url of notPages)
      expect(originRefusal(site, undefined, undefined, pages(url)), url).toMatch(/the hit has no http\(s\) page URL/);
    // user:pass@ and look-alikes: the host is what the URL parser says it is
    const userinfo = pages('https://www.example.org@evil.example.net/');
    expect(originRefusal(site, undefined, undefined, userinfo)).toMatch(/evil\.example\.net/);
    expect(originRefusal(site, undefined, undefined, pages())).toMatch(/no Origin, Referer or page URL/);
    // a site without domains takes anything, page URLs unread
    expect(originRefusal(open, undefined, undefined, pages('https://anywhere.example/'))).toBeUndefined();
  });

  it("reads Piano events' page URLs from an unvalidated body: page_url, else event_url_full, strings only", () => {
    expect(
      pageUrlsOfEvents([
        { name: 'page.display', data: { page_url: 'https://a.example/', event_url_full: 'https://b.example/' } },
        { name: 'click.action', data: { event_url_full: 'https://b.example/' } },
        { name: 'x', data: { page_url: 42 } },
        { name: 'y' },
        null,
        { name: 'z', data: { page_url: '' } },
      ]),
    ).toEqual(['https://a.example/', 'https://b.example/', undefined, undefined, undefined, undefined]);
    expect(pageUrlsOfEvents(undefined)).toEqual([]);
    expect(pageUrlsOfEvents({ 0: { data: { page_url: 'https://a.example/' } } })).toEqual([]);
  });

  it('answers the same for an Origin seen before (its host is cached)', () => {
    for (let i = 0; i < 3; i++) {
      expect(originRefusal(site, 'https://www.example.org', undefined)).toBeUndefined();
      expect(originRefusal(site, 'https://evilexample.com', undefined)).toMatch(/evilexample/);
    }
    // the cache is per Origin text, not per site: another site's list still decides
    expect(
      originRefusal(compilePolicy('9', { domains: ['evilexample.com'] }), 'https://evilexample.com', undefined),
    ).toBeUndefined();
  });
});
