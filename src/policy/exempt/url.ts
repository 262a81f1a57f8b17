// url: URLs are rebuilt from their parts, not searched for what to remove. A URL
// (a URL-valued property, a URL inside any text, in arrays too) is split as the WHATWG
// parser splits it and written back as scheme + host + path: its user:password@, query,
// fragment and `;params` are never copied. The host is read by the WHATWG parser (so
// `http://3405803785/` is the address it stands for) and becomes [ip] when it is or
// holds an IPv4 address; each path segment becomes [id] when it is a token (or matches
// one of the site's maskPaths), and goes through the e-mail and IP rules otherwise.
// A path (a value starting with `/`, as Plausible's page) is rebuilt the same way.
import { REDACTION_MARKERS } from '../allowlists.js';
import { emailRule, redactEmails } from './email.js';
import { hostHoldsIp, ipRule, redactIps } from './ip.js';
import { campaignRule, isCampaignName } from './campaign.js';
import { MAX_FINDINGS, type TextRule } from './common.js';
import { BoundedCache } from '../../bounded-cache.js';

/** A site's path pattern (`/users/:id`), compiled: literal segments, and null where any segment is masked. */
export type PathMask = readonly (string | null)[];

/** `/users/:id/orders/:order` → ['users', null, 'orders', null]; `*` matches any segment and keeps it. */
export function compilePathMask(pattern: string): PathMask {
  return pattern
    .split('/')
    .filter((s) => s !== '')
    .map((s) => (s.startsWith(':') ? null : s.toLowerCase()));
}

const SCHEME_URL = /^([a-zA-Z][a-zA-Z0-9+.-]{0,31}:)?[/\\]{2}([^/\\?#]*)([\s\S]*)$/;
/** URLs inside text: from a scheme, or from `//` where a host can begin (not `/a//b` inside a path). */
const EMBEDDED_URL = /(?:(?<![\p{L}\p{N}+.-])[a-zA-Z][a-zA-Z0-9+.-]{0,31}:|(?<=^|[\s"'(<=,;[{]))[/\\]{2}[^\s"'<>`]*/gu;
const HOST_TEXT = /^[\p{L}\p{N}.\-_:[\]]*/u;

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const PART_SEPARATORS = /[-_.~+,:!' ]/;

/**
 * A path segment that is a token rather than a word: a UUID, or a part (between `-`,
 * `_`, `.`, ...) that is a long number (9+ digits), hexadecimal of 12+ characters with
 * digits, letters mixed with digits over 10+ characters, or a 20+ character run mixing
 * cases (base64). Words, slugs (`mon-article-sur-l-ete`), dates (`2026-12-07`), short
 * numbers (`42`) and product codes under 10 characters stay.
 */
function isToken(segment: string): boolean {
  if (UUID.test(segment)) return true;
  for (const part of segment.split(PART_SEPARATORS)) {
    if (part.length < 9) continue;
    const digits = /\d/.test(part);
    if (/^\d+$/.test(part)) return true;
    if (digits && part.length >= 12 && /^[0-9a-f]+$/i.test(part)) return true;
    if (digits && part.length >= 10 && /\p{L}/u.test(part)) return true;
    if (part.length >= 20 && /\p{Lu}/u.test(part.slice(1)) && /\p{Ll}/u.test(part)) return true;
  }
  return false;
}

/** What a URL's path keeps of a segment: percent-encoded as WHATWG's path set, and `;`, `%`, `/`, `=`. */
const NOTHING_TO_ENCODE = /^[A-Za-z0-9._~!$&'()*+,:@[\]-]*$/;

function encodeSegment(segment: string): string {
  if (NOTHING_TO_ENCODE.test(segment)) return segment;

  return segment.replace(/[\x00-\x20"#%/;<=>?\\^`{|}\x7f]|[^\x00-\x7f]+/gu, (c) => encodeURIComponent(c));
}

function rebuildSegment(segment: string, masked: boolean): string {
  const s = segment.split(';', 1)[0]!;
  if (s === '') return s;
  // a segment that reads as name=value is a parameter, not a page; a click id after a colon is one too
  if (masked || s.includes('=') || isToken(s) || (s.includes(':') && isCampaignName(s.split(':', 1)[0]!)))
    return REDACTION_MARKERS.id;
  let out: string | undefined = s;
  for (const rule of SEGMENT_RULES) {
    if (!rule.needs.test(out)) continue;
    out = rule.apply(out);
    if (out === undefined) return REDACTION_MARKERS[rule.name === 'email' ? 'email' : 'ip'];
  }
  return out;
}

/** A hash route (Plausible's hash mode: `/app#settings/profile`): words and slashes only. */
const HASH_ROUTE = /^#[\p{L}\p{N}/_.~-]+$/u;

/**
 * A path (no query, fragment or ;params), its token segments and the site's masked ones
 * as [id]. A bare path (`encode` false: a page name) keeps a hash route made of words,
 * itself rebuilt as a path.
 */
export function rebuildPath(path: string, masks: readonly PathMask[], encode: boolean): string {
  // a URL inside the path (`/go/http://3405803785/x`, as redirectors write them) is a URL from there on
  const inner = URL_IN_PATH.exec(path);
  if (inner !== null && inner.index > 0) {
    const url = rebuildUrl(path.slice(inner.index), masks);
    if (url !== undefined) return rebuildPath(path.slice(0, inner.index), masks, encode) + url;
  }
  const cut = path.search(/[?#]/);
  const route = !encode && cut !== -1 && HASH_ROUTE.test(path.slice(cut)) ? path.slice(cut + 1) : undefined;
  const rebuilt = rebuildSegments((cut === -1 ? path : path.slice(0, cut)).split(/[/\\]/), masks, encode);
  // (a bare path never starts with `//`, which would read back as a host)
  const bare = encode ? rebuilt : rebuilt.replace(/^\/{2,}/, '/');
  return route === undefined ? bare : `${bare}#${rebuildSegments(route.split('/'), NO_MASKS, false)}`;
}

const NO_MASKS: readonly PathMask[] = [];
/** What a path segment goes through besides the token test. */
const SEGMENT_RULES: readonly TextRule[] = [campaignRule, emailRule, ipRule];
const URL_IN_PATH =
  /(?<=[/\\\s])(?:[a-zA-Z][a-zA-Z0-9+.-]{0,31}:)?[/\\]{2}(?=[^/\\])|(?<=[/\\\s])[a-zA-Z][a-zA-Z0-9+.-]{0,31}:[/\\]{2}/;

function rebuildSegments(segments: string[], masks: readonly PathMask[], encode: boolean): string {
  const maskedAt = new Set<number>();
  for (const mask of masks) {
    // segments[0] is '' (the path starts with `/`)
    if (segments.length - 1 < mask.length) continue;
    if (mask.every((m, i) => m === null || m === '*' || m === segments[i + 1]!.toLowerCase())) {
      mask.forEach((m, i) => m === null && maskedAt.add(i + 1));
    }
  }
  return segments
    .map((s, i) => {
      const out = rebuildSegment(s, maskedAt.has(i));
      return encode ? encodeSegment(out) : out;
    })
    .join('/');
}

// A site's hits name the same few hosts again and again: what a host (with its port)
// rebuilds to is remembered, a few thousand at most. Hosts only, after their user@ is gone.
const hosts = new BoundedCache<string, string>(4096);

/** The host as the WHATWG parser reads it (lower case, IDNA, numbers as IPv4), or [ip]. */
function rebuildHost(authority: string): string {
  return authority.includes('@') ? readHost(authority) : hosts.getOrCompute(authority, readHost);
}

function readHost(authority: string): string {
  // a user@ written as words (`bob [at] host`, `bob <AT> host{dot}org`) hides where the host starts
  if (!authority.includes('@') && redactEmails(authority) !== authority) return REDACTION_MARKERS.email;
  const hostAndPort = HOST_TEXT.exec(authority.slice(authority.lastIndexOf('@') + 1).trim())![0];
  let host = hostAndPort.toLowerCase();
  let port = '';
  try {
    const u = new URL(`http://${hostAndPort}/`);
    host = u.hostname;
    port = u.port;
  } catch {
    // (WHATWG refuses `client.203.0.113.9`: the text is read as it is, an empty port left out)
    host = host.replace(/:+$/, '');
    const colon = host.lastIndexOf(':');
    if (colon > host.lastIndexOf(']')) [host, port] = [host.slice(0, colon), host.slice(colon + 1).replace(/\D/g, '')];
  }
  if (hostHoldsIp(host)) host = REDACTION_MARKERS.ip;
  else host = redactIps(redactEmails(host) ?? REDACTION_MARKERS.email) ?? REDACTION_MARKERS.ip;
  return port === '' ? host : `${host}:${port}`;
}

/** A URL (`scheme://…` or `//…`) rebuilt from its parts; undefined: not one. */
export function rebuildUrl(url: string, masks: readonly PathMask[]): string | undefined {
  const m = SCHEME_URL.exec(url);
  if (!m) return undefined;
  const scheme = (m[1] ?? '').toLowerCase();
  return `${scheme}//${rebuildHost(m[2]!)}${rebuildPath(m[3]!, masks, true)}`;
}

/**
 * A value as the url rule keeps it: a URL-valued property's whole value, any value
 * that is a path, and every URL inside text, rebuilt.
 */
export function rebuildUrls(text: string, masks: readonly PathMask[]): string | undefined {
  let found = 0;
  const rebuilt = text.replace(EMBEDDED_URL, (url) => (++found > MAX_FINDINGS ? url : (rebuildUrl(url, masks) ?? url)));
  if (found > MAX_FINDINGS) return undefined;
  // a path (`/x/http://…` has had its URL rebuilt above), or paths as words of a text (`see /orders/<id>`)
  if (rebuilt.startsWith('/') && !/^[/\\]{2}/.test(rebuilt)) return rebuildPath(rebuilt, masks, false);
  return rebuilt.replace(PATH_WORD, (path) => rebuildPath(path, masks, false));
}

const PATH_WORD = /(?<=^|[\s"'(<=,;[{])\/(?![/\\])\S+/g;

export const urlRule = (masks: readonly PathMask[]): TextRule => ({
  name: 'url',
  needs: /(?:^|[\s"'(<=,;[{])\/|[/\\]{2}/,
  apply: (s) => rebuildUrls(s, masks),
});
