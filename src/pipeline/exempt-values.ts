// What an exempt value may hold (CNIL guide 4.8: only strictly necessary data).
// An allowlisted name is not enough: a page script can set any property to anything,
// so every kept value goes through these rules, one small function each. The lists
// they apply are data, in allowlists.ts.
//
//   shape      scalars, or arrays of scalars; the client-hint brand lists are the one
//              structured exception, checked to their shape; anything else is dropped
//   url        URL-valued properties lose query, fragment, `;params` and `user:pass@`
//   query      in every other string, embedded URLs lose the same, and `?name=value`,
//              `&name=value`, `#name=value` segments are removed
//   campaign   campaign parameters and click ids (`utm_*`, `gclid`, ...) are removed
//   email      e-mail addresses become "[email]"
//   ip         IPv4/IPv6 addresses become "[ip]" (unless no finer than what the
//              collector keeps itself: an IPv4 /24 or IPv6 /48 network address)
//   day        cookie_creation_date is cut to the UTC day; unreadable → dropped
//
// Hiding a delimiter does not help: `%3F`, `%253F`, `？` count as `?`, `%40`, `＠`,
// `&#64;`, ` [at] ` as `@`, and so on. The stored value keeps the client's encoding;
// only the parts the rules remove are gone.
import ipaddr from 'ipaddr.js';
import {
  BRAND_LIST_PROPERTIES,
  CAMPAIGN_PARAMETER_PREFIXES,
  CAMPAIGN_PARAMETERS,
  DAY_PRECISION_PROPERTIES,
  REDACTION_MARKERS,
  URL_PROPERTIES,
  USER_PROPERTY_PREFIX,
} from './allowlists.js';
import type { PropertyValue } from './validate.js';

/** The rules, by name (metrics labels and the /privacy statement). */
export type ExemptRule = 'shape' | 'url' | 'query' | 'campaign' | 'email' | 'ip' | 'day';

/** How many values each rule changed or dropped in one hit. */
export type RuleCounts = Record<ExemptRule, number>;
export const noRuleCounts = (): RuleCounts => ({ shape: 0, url: 0, query: 0, campaign: 0, email: 0, ip: 0, day: 0 });

// --- delimiters, as sent or hidden -------------------------------------------------
// `%(?:25)*XX` is XX percent-encoded once or more (`%3F`, `%253F`, `%25253F`).
const pct = (hex: string) => `%(?:25)*${hex}`;
const QMARK = `(?:\\?|${pct('3[fF]')}|\uFF1F)`;
const HASH = `(?:#|${pct('23')}|\uFF03)`;
const SEMI = `(?:;|${pct('3[bB]')}|\uFF1B)`;
const AMP = `(?:&|${pct('26')}|\uFF06)`;
const EQ = `(?:=|${pct('3[dD]')}|\uFF1D)`;
const COLON = `(?::|${pct('3[aA]')}|\uFF1A)`;
const SLASH = `(?:/|\\\\|${pct('2[fF]')}|${pct('5[cC]')})`;
const AT = `(?:@|${pct('40')}|\uFF20|\uFE6B|&#0*64;|&#[xX]0*40;|&commat;|[ \\t]{0,3}[\\[(]at[\\])][ \\t]{0,3})`;
const DOT = `(?:\\.|${pct('2[eE]')}|\uFF0E|[ \\t]{0,3}[\\[(]dot[\\])][ \\t]{0,3})`;
/** A `name` in `name=value`: letters, digits, `_.-[]`, or percent-escapes of anything. */
const PARAM_NAME = `(?:[\\p{L}\\p{N}_.\\-\\[\\]]|%[0-9A-Fa-f]{2}){1,64}`;

// --- url ------------------------------------------------------------------------
const URL_CUT = new RegExp(`${QMARK}|${HASH}|${SEMI}`, 'u');
const USERINFO = new RegExp(`^((?:[a-zA-Z][a-zA-Z0-9+.\\-]{0,31}${COLON})?${SLASH}{2})[^/\\\\?#@\\s]{0,256}${AT}`, 'u');

/** A URL without its query, fragment, path parameters and `user:password@`. */
export function stripUrl(url: string): string {
  const cut = URL_CUT.exec(url);
  const base = cut ? url.slice(0, cut.index) : url;
  return base.replace(USERINFO, '$1');
}

// --- query: URLs and query-like segments inside any other string -------------------
const EMBEDDED_URL = new RegExp(`(?:[a-zA-Z][a-zA-Z0-9+.\\-]{0,31}${COLON})?${SLASH}{2}\\S*`, 'gu');
const QUERY_SEGMENT = new RegExp(`(?:${QMARK}|${AMP}|${HASH})${PARAM_NAME}${EQ}\\S*`, 'gu');

/** Embedded URLs are stripped as URL values are; `?a=1`, `&a=1`, `#a=1` segments go. */
export function removeQueries(text: string): string {
  return text.replace(EMBEDDED_URL, stripUrl).replace(QUERY_SEGMENT, '');
}

// --- campaign -------------------------------------------------------------------
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/_/g, `(?:_|${pct('5[fF]')})`);
const CAMPAIGN = new RegExp(
  `(?<![\\p{L}\\p{N}_])(?:${[
    ...CAMPAIGN_PARAMETER_PREFIXES.map((p) => `${escapeRe(p)}${PARAM_NAME}?`),
    ...CAMPAIGN_PARAMETERS.map(escapeRe),
  ].join('|')})[ \\t]{0,3}["']?[ \\t]{0,3}(?:${EQ}|${COLON})[ \\t]{0,3}["']?[^\\s&#;,"']*["']?`,
  'giu',
);
const CAMPAIGN_SEPARATORS = new RegExp(`(?:${QMARK}|${AMP}|${SEMI}|${HASH})(?=$|\\s)`, 'gu');

/** `utm_source=news`, `gclid: abc`, `"fbclid":"x"`: removed wherever they appear. */
export function removeCampaignParameters(text: string): string {
  const out = text.replace(CAMPAIGN, '');
  return out === text ? text : out.replace(CAMPAIGN_SEPARATORS, '');
}

/** `user_*` in any letter case: the User ID is kept only under explicit opt-in. */
export function isUserProperty(name: string): boolean {
  return name.slice(0, USER_PROPERTY_PREFIX.length).toLowerCase() === USER_PROPERTY_PREFIX;
}

/** A name a site may never allowlist: campaign data is outside the exemption. */
export function isCampaignName(name: string): boolean {
  const n = name.toLowerCase();
  return CAMPAIGN_PARAMETERS.includes(n) || CAMPAIGN_PARAMETER_PREFIXES.some((p) => n.startsWith(p));
}

// --- email ----------------------------------------------------------------------
// Letters of any script, combining marks and invisible format characters (a zero-width
// space inside an address must not split it), percent-escapes.
const LOCAL = `(?:[\\p{L}\\p{N}\\p{M}\\p{Cf}._+\\-'!#$&*/=^\`{|}~]|%[0-9A-Fa-f]{2}){1,64}`;
const LABEL = `(?:[\\p{L}\\p{N}\\p{M}\\p{Cf}_\\-]|%[0-9A-Fa-f]{2}){1,63}`;
const EMAIL = new RegExp(`${LOCAL}${AT}${LABEL}(?:${DOT}${LABEL}){0,8}`, 'gu');
const MAYBE_EMAIL = /[@%\uFF20\uFE6B]|&#|&commat;|[[(]at[\])]/i;

/** `alice@example.com` (and its encoded or look-alike forms) → "[email]". */
export function redactEmails(text: string): string {
  return MAYBE_EMAIL.test(text) ? text.replace(EMAIL, REDACTION_MARKERS.email) : text;
}

// --- ip -------------------------------------------------------------------------
const OCTET = '0{0,2}(?:25[0-5]|2[0-4]\\d|1\\d\\d|\\d?\\d)';
const V4_DOT = `(?:\\.|${pct('2[eE]')})`;
const IPV4 = new RegExp(`(?<![\\p{N}.])(${OCTET})${V4_DOT}(${OCTET})${V4_DOT}(${OCTET})${V4_DOT}(${OCTET})(?![\\p{N}]|${V4_DOT}\\d)`, 'gu');
const IPV6 = new RegExp(`(?<![\\p{L}\\p{N}_.\\-])(?:[0-9A-Fa-f]{0,4}${COLON}){2,7}(?:(?:\\d{1,3}\\.){3}\\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\\p{L}\\p{N}_\\-])`, 'gu');
const HEX_COLON = new RegExp(pct('3[aA]'), 'g');

/** An IPv6 address with any bit set past the first 48 (finer than what the collector keeps). */
function isFineIPv6(candidate: string): boolean {
  const text = candidate.replace(HEX_COLON, ':').replace(/\uFF1A/g, ':');
  if (!ipaddr.IPv6.isValid(text)) return false;
  const parts = ipaddr.IPv6.parse(text).parts;
  return parts[3] !== 0 || parts[4] !== 0 || parts[5] !== 0 || parts[6] !== 0 || parts[7] !== 0;
}

/**
 * IP addresses → "[ip]". An IPv4 whose last octet is 0 or an IPv6 /48 network address
 * is left: it says no more than the collector's own truncated address, and version
 * strings look like it (Chrome's reduced `120.0.0.0`).
 */
export function redactIps(text: string): string {
  let out = text;
  if (/\d(?:\.|%)/.test(out)) {
    out = out.replace(IPV4, (m, _a, _b, _c, d: string) => (Number(d) === 0 ? m : REDACTION_MARKERS.ip));
  }
  if (out.indexOf(':') !== out.lastIndexOf(':') || /%(?:25)*3a|\uFF1A/i.test(out)) {
    out = out.replace(IPV6, (m) => (isFineIPv6(m) ? REDACTION_MARKERS.ip : m));
  }
  return out;
}

// --- day ------------------------------------------------------------------------
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** Clock skew tolerated on a date from the client before it counts as unreadable. */
const FUTURE_TOLERANCE_MS = 86_400_000;

/**
 * An ISO 8601 date (as the SDK writes `cookie_creation_date`) as epoch ms, or
 * undefined when it cannot be read: not a string, another format, an impossible
 * date, or a date in the future (which would make a tracker look young forever).
 */
export function readClientDate(value: unknown, now: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO_DATE.exec(value);
  if (!m) return undefined;
  const t = m[4] === undefined ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`) : Date.parse(m[7] === undefined ? `${value}Z` : value);
  if (!Number.isFinite(t) || t > now + FUTURE_TOLERANCE_MS) return undefined;
  // Date.parse rolls 2026-02-31 over into March: refuse what it had to repair
  if (new Date(Date.parse(`${m[1]}-${m[2]}-${m[3]}T12:00:00Z`)).toISOString().slice(0, 10) !== `${m[1]}-${m[2]}-${m[3]}`) return undefined;
  return t;
}

/** The UTC day of a readable client date (`2026-11-29`), else undefined. */
export function toDay(value: unknown, now: number): string | undefined {
  const t = readClientDate(value, now);
  return t === undefined ? undefined : new Date(t).toISOString().slice(0, 10);
}

// --- shape ----------------------------------------------------------------------
const BRAND_LISTS = new Set(BRAND_LIST_PROPERTIES);
const BRAND_LIST_MAX = 20;
const BRAND_TEXT_MAX = 128;

type Scalar = string | number | boolean | null;
const isScalar = (v: PropertyValue): v is Scalar => v === null || typeof v !== 'object';

/** A brand list `[{brand, version}, ...]` with exactly those two keys, both short strings. */
export function isBrandList(value: PropertyValue): value is { brand: string; version: string }[] {
  if (!Array.isArray(value) || value.length > BRAND_LIST_MAX) return false;
  for (const item of value) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return false;
    let keys = 0;
    for (const k in item) {
      if ((k !== 'brand' && k !== 'version') || typeof item[k] !== 'string' || (item[k] as string).length > BRAND_TEXT_MAX) return false;
      keys++;
    }
    if (keys !== 2) return false;
  }
  return true;
}

// --- one value ------------------------------------------------------------------
const URLS = new Set(URL_PROPERTIES);
const DAY_PROPERTIES = new Set(DAY_PRECISION_PROPERTIES);
/** Characters without which no rule but `ip` (digits and dots) can match: most strings skip the regexes. */
const NOTHING_TO_CHECK = /^[\p{L}\p{N} _.,'’!\-]*$/u;

function count(counts: RuleCounts, rule: ExemptRule, before: string, after: string): string {
  if (after !== before) counts[rule]++;
  return after;
}

/** Every content rule, in order, on one kept string. */
export function sanitiseString(text: string, urlValued: boolean, counts: RuleCounts): string {
  if (!urlValued && NOTHING_TO_CHECK.test(text)) return /\d\.\d/.test(text) ? count(counts, 'ip', text, redactIps(text)) : text;
  let s = text;
  if (urlValued) s = count(counts, 'url', s, stripUrl(s));
  s = count(counts, 'query', s, removeQueries(s));
  s = count(counts, 'campaign', s, removeCampaignParameters(s));
  s = count(counts, 'email', s, redactEmails(s));
  s = count(counts, 'ip', s, redactIps(s));
  return s;
}

/** What is dropped instead of kept. */
export const DROP = Symbol('drop');

/**
 * The value an exempt record keeps for an allowlisted property, or DROP.
 * `now` reads day-precision dates (a future date is unreadable).
 */
export function exemptValue(name: string, value: PropertyValue, counts: RuleCounts, now: number): PropertyValue | typeof DROP {
  if (DAY_PROPERTIES.has(name)) {
    const day = toDay(value, now);
    if (day === undefined) {
      counts.day++;
      return DROP;
    }
    if (day !== value) counts.day++;
    return day;
  }
  const urlValued = URLS.has(name);
  if (isScalar(value)) return typeof value === 'string' ? sanitiseString(value, urlValued, counts) : value;
  if (BRAND_LISTS.has(name) && isBrandList(value)) {
    return value.map((b) => ({ brand: sanitiseString(b.brand, false, counts), version: sanitiseString(b.version, false, counts) }));
  }
  if (Array.isArray(value) && value.every(isScalar)) {
    return value.map((v) => (typeof v === 'string' ? sanitiseString(v, urlValued, counts) : v));
  }
  counts.shape++;
  return DROP;
}
