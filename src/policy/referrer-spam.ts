// Referrer spam: hosts that send fake hits so that their name shows among a site's
// referrers. The list is Matomo's public one, shipped as data (data/referrer-spam.txt,
// with its source, licence and commit in its header; scripts/refresh-referrer-spam.mjs
// refreshes it) and read once at start into a Set. A referrer is spam when its host or
// one of its parent domains is listed: `x.semalt.com` is, `notsemalt.com.example` is not.
import { readFileSync } from 'node:fs';
import { domainToASCII } from 'node:url';
import { ConfigError } from '../errors.js';

export interface ReferrerSpamList {
  /** Listed hosts. */
  readonly size: number;
  /** Where the list comes from and which version (the `# Commit:` line of its header), for /privacy. */
  readonly version: string | undefined;
  /** True when the URL's host, or a parent domain of it, is listed. */
  isSpamReferrer(url: string): boolean;
  /** True when the host (lower case, ASCII), or a parent domain of it, is listed. */
  isSpamHost(host: string): boolean;
}

export const REFERRER_SPAM_FILE = new URL('./data/referrer-spam.txt', import.meta.url);

/** One host a line; `#` starts a comment line. */
export function parseReferrerSpamList(text: string): ReferrerSpamList {
  const hosts = new Set<string>();
  let version: string | undefined;
  for (const line of text.split('\n')) {
    const host = line.trim().toLowerCase();
    if (host.startsWith('# commit:')) version = `commit ${line.trim().slice('# commit:'.length).split(';')[0]!.trim()}`;
    if (host !== '' && !host.startsWith('#')) hosts.add(host);
  }
  const isSpamHost = (host: string): boolean => {
    // the host, then each parent domain down to two labels (no list entry is a bare TLD)
    for (let h = host; ;) {
      if (hosts.has(h)) return true;
      const dot = h.indexOf('.');
      if (dot === -1 || h.indexOf('.', dot + 1) === -1) return false;
      h = h.slice(dot + 1);
    }
  };
  return {
    size: hosts.size,
    version,
    isSpamHost,
    isSpamReferrer(url) {
      const host = referrerHost(url);
      return host !== undefined && isSpamHost(host);
    },
  };
}

export function loadReferrerSpamList(file: URL | string = REFERRER_SPAM_FILE): ReferrerSpamList {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('referrer-spam list', `cannot read ${String(file)}: ${(err as Error).message}`);
  }
  return parseReferrerSpamList(text);
}

/**
 * The host of a referrer as a browser sends it (`https://user@Sub.Example.com:8080/p?q`
 * → `sub.example.com`), also without a scheme (`semalt.com/x`); lower case, ASCII
 * (an internationalised name in its xn-- form, as the list writes it); undefined when
 * there is none. A hand walk rather than `new URL`: most hits carry a referrer.
 */
export function referrerHost(url: string): string | undefined {
  let start = 0;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]{0,15}:/.exec(url);
  if (scheme) start = scheme[0].length;
  while (start < url.length && (url.charCodeAt(start) === 0x2f || url.charCodeAt(start) === 0x5c)) start++; // / or \
  let end = start;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23 || c === 0x5c) break; // / ? # \
    end++;
  }
  let host = url.slice(start, end);
  const at = host.lastIndexOf('@');
  if (at !== -1) host = host.slice(at + 1);
  if (host.startsWith('[')) return undefined; // an IPv6 literal: never on the list
  const colon = host.indexOf(':');
  if (colon !== -1) host = host.slice(0, colon);
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  // an internationalised or percent-encoded name: the list writes it in its xn-- form
  if (/[^\x21-\x7e]|%/.test(host)) {
    let decoded = host;
    try {
      decoded = decodeURIComponent(host);
    } catch {
      // a broken escape: the text as it is
    }
    host = domainToASCII(decoded) || host;
  }
  return host === '' ? undefined : host;
}
