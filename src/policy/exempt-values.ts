// What an exempt value may hold (CNIL guide 4.8: only strictly necessary data).
// An allowlisted name is not enough: a page script can set any property to anything,
// so every kept value goes through these rules, one small function each. The lists
// they apply are data, in allowlists.ts.
//
//   shape      scalars, or arrays of scalars; the client-hint brand lists are the one
//              structured exception, checked to their shape; anything else is dropped
//   unicode    strings are stored in compatibility form (NFKC) without invisible format
//              characters: look-alikes (`＠`, `２０３`) and zero-width characters
//              cannot hide an address from the rules below
//   url        URL-valued properties lose query, fragment, `;params` and `user:pass@`
//   query      in every other string, embedded URLs lose the same, and `?name=value`,
//              `&name=value`, `#name=value` segments are removed
//   campaign   campaign parameters and click ids (`utm_*`, `gclid`, ...) are removed
//   email      e-mail addresses become "[email]"
//   ip         IPv4/IPv6 addresses become "[ip]", IPv4 also joined by `-` or `_` as in
//              host names (unless no finer than what the collector keeps itself: an
//              IPv4 /24 or IPv6 /48 network address)
//   day        cookie_creation_date is cut to the UTC day; unreadable → dropped
//
// Hiding a delimiter does not help: `%3F`, `%253F` count as `?`, `%40`, `&#64;`,
// `\u0040`, ` [at] ` as `@`, and so on. Percent-encoding is kept as the client sent it: only
// the parts the rules remove are gone.
import {
  BRAND_LIST_PROPERTIES,
  CAMPAIGN_PARAMETER_PREFIXES,
  CAMPAIGN_PARAMETERS,
  DAY_PRECISION_PROPERTIES,
  REDACTION_MARKERS,
  URL_PROPERTIES,
  USER_PROPERTY_PREFIX,
} from './allowlists.js';
import type { PropertyValue } from '../contract/record.js';

/** The rules, by name (metrics labels and the /privacy statement), in the order they apply. */
export const EXEMPT_VALUE_RULES = Object.freeze({
  shape: 'a kept value is a string, number, boolean or null, or an array of those; the client-hint brand lists (ch_ua, ch_ua_full_version_list) are the one structured exception, as arrays of {brand, version} strings; any other value is dropped',
  unicode: 'strings are stored in Unicode compatibility form (NFKC) without invisible format characters, so look-alike or zero-width characters cannot hide what the rules below remove',
  url: 'URL-valued properties, in arrays too, lose their user:password@, query string, fragment and path parameters (;jsessionid=...)',
  email: 'e-mail addresses in any kept string, also percent-encoded, escaped (\\u0040, \\x40, &#64;), quoted ("alice"@…), written with look-alike @ signs or words ([at], {at}, <at>), or spaced and in plain words before a dotted domain (alice @ example.com, alice at example dot com), become "[email]"',
  ip: 'IPv4 and IPv6 addresses in any kept string become "[ip]", IPv4 also as host names write them (203-0-113-9, ip_203_0_113_9) and as a URL host of numbers that browsers read as one (http://3405803785/, http://0xcb.0.0x71.9/), unless they are no finer than what the collector keeps itself (an IPv4 /24 or IPv6 /48 network address) or loopback (127.0.0.0/8, ::1)',
  query: 'in every other string, embedded URLs lose the same parts as URL-valued properties, and ?name=value, &name=value and #name=value segments are removed',
  campaign: 'campaign parameters and click identifiers (utm_*, at_*, xtor, gclid, fbclid, msclkid, ...) are removed wherever they appear, with their value',
  day: 'cookie_creation_date is kept to the UTC day; a date that cannot be read is dropped (and the hit gets no visitor pseudonym)',
});
export type ExemptRule = keyof typeof EXEMPT_VALUE_RULES;

/** How many values each rule changed or dropped in one hit. */
export type RuleCounts = Record<ExemptRule, number>;
export const noRuleCounts = (): RuleCounts => ({ shape: 0, unicode: 0, url: 0, query: 0, campaign: 0, email: 0, ip: 0, day: 0 });

/** What is dropped instead of kept. */
export const DROP = Symbol('drop');

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
/** A space as sent or percent-encoded (a URL's path writes `alice at example dot com` with `%20`). */
const SP = `(?:[ \\t]|${pct('20')})`;
// `@` as sent, percent-encoded, look-alike, as an HTML entity or a `\u0040`/`\x40`
// escape left in the text, or as a bracketed word (`[at]`, `(AT)`, `{at}`, `<at>`); and
// the weak forms, spaced (`alice @ example.com`) or a plain word (`alice at example dot
// com`), which count only before a domain with a dot (see isWeakAt)
const AT = `(?:(?:@|${pct('40')})${SP}{1,3}|@|${pct('40')}|\uFF20|\uFE6B|&#0*64;|&#[xX]0*40;|&commat;|\\\\[uU]0*40|\\\\[xX]40|[ \\t]{0,3}[\\[({<][aA][tT][\\])}>][ \\t]{0,3}|${SP}{1,3}(?:@|${pct('40')})${SP}{0,3}|${SP}{1,3}[aA][tT]${SP}{1,3})`;
const DOT = `(?:\\.|${pct('2[eE]')}|\uFF0E|\\\\[uU]0*2[eE]|\\\\[xX]2[eE]|[ \\t]{0,3}[\\[({<][dD][oO][tT][\\])}>][ \\t]{0,3}|${SP}{1,3}(?:\\.|${pct('2[eE]')})${SP}{1,3}|${SP}{1,3}[dD][oO][tT]${SP}{1,3})`;
/** A `name` in `name=value`: letters, digits, `_.-[]`, or percent-escapes of anything. */
const PARAM_NAME = `(?:[\\p{L}\\p{N}_.\\-\\[\\]]|%[0-9A-Fa-f]{2}){1,64}`;

// --- url ------------------------------------------------------------------------
const URL_CUT = new RegExp(`${QMARK}|${HASH}|${SEMI}`, 'u');
const USERINFO = new RegExp(`^((?:[a-zA-Z][a-zA-Z0-9+.\\-]{0,31}${COLON})?${SLASH}{2})[^/\\\\?@\\s]{0,256}${AT}`, 'u');

// Each function first looks for a character without which its expression cannot match
// (an `@` in one of its forms, a `?`, `#`, `;` or `%`, …): most values have none, and
// skip the expression. The answer is the same either way.
const MAYBE_USERINFO = /[@%\uFF20\uFE6B&[({<\\]/;
const MAYBE_CUT = /[?#;%\uFF1F\uFF03\uFF1B]/;

/** A URL without its `user:password@`. (First: the e-mail rule would otherwise take `pw@host` and leave `user:`.) */
export function stripUserinfo(url: string): string {
  return MAYBE_USERINFO.test(url) ? url.replace(USERINFO, '$1') : url;
}

/** A URL without its query, fragment and path parameters (`;jsessionid=`). */
export function cutUrl(url: string): string {
  if (!MAYBE_CUT.test(url)) return url;
  const cut = URL_CUT.exec(url);
  return cut ? url.slice(0, cut.index) : url;
}

/** Both: what a URL-valued property keeps. */
export const stripUrl = (url: string): string => cutUrl(stripUserinfo(url));

// --- query: URLs and query-like segments inside any other string -------------------
// from the `//` on (a scheme before it changes nothing that is removed)
const EMBEDDED_URL = new RegExp(`${SLASH}{2}\\S*`, 'gu');
const QUERY_SEGMENT = new RegExp(`(?:${QMARK}|${AMP}|${HASH})${PARAM_NAME}${EQ}\\S*`, 'gu');

const MAYBE_EMBEDDED_URL = /[/\\%]/;
const MAYBE_QUERY_SEGMENT = /[?&#%\uFF1F\uFF06\uFF03]/;

/** Embedded URLs lose their `user:password@`. */
export function stripEmbeddedUserinfo(text: string): string {
  return MAYBE_EMBEDDED_URL.test(text) && MAYBE_USERINFO.test(text) ? text.replace(EMBEDDED_URL, stripUserinfo) : text;
}

/** Embedded URLs lose query, fragment and path parameters; `?a=1`, `&a=1`, `#a=1` segments go. */
export function removeQueries(text: string): string {
  if (!MAYBE_QUERY_SEGMENT.test(text) && !text.includes(';')) return text;
  const cut = MAYBE_EMBEDDED_URL.test(text) ? text.replace(EMBEDDED_URL, cutUrl) : text;
  return MAYBE_QUERY_SEGMENT.test(cut) ? cut.replace(QUERY_SEGMENT, '') : cut;
}

// --- campaign -------------------------------------------------------------------
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/_/g, `(?:_|${pct('5[fF]')})`);
const QUOTE = `(?:["']|${pct('2[27]')})`;
/** A value runs to the next space, `&#;,` or quote, written plainly or percent-encoded. */
const PARAM_VALUE = `(?:[^\\s&#;,"'%]|%(?!(?:25)*(?:2[2367cC]|3[bB]))[0-9A-Fa-f]{2})*`;
const CAMPAIGN = new RegExp(
  // a name starts where no letter or digit precedes it, or right after a percent-escape
  `(?:(?<![\\p{L}\\p{N}_%])|(?<=%(?:25)*[0-9A-Fa-f]{2}))${QUOTE}?(?:${[
    ...CAMPAIGN_PARAMETER_PREFIXES.map((p) => `${escapeRe(p)}${PARAM_NAME}?`),
    ...CAMPAIGN_PARAMETERS.map(escapeRe),
  ].join('|')})[ \\t]{0,3}${QUOTE}?[ \\t]{0,3}(?:${EQ}|${COLON})[ \\t]{0,3}${QUOTE}?${PARAM_VALUE}${QUOTE}?`,
  'giu',
);
const CAMPAIGN_SEPARATORS = new RegExp(`(?:${QMARK}|${AMP}|${SEMI}|${HASH})(?=$|\\s)`, 'gu');

const MAYBE_CAMPAIGN = /[=:%\uFF1D\uFF1A]/;

/** `utm_source=news`, `gclid: abc`, `"fbclid":"x"`: removed wherever they appear. */
export function removeCampaignParameters(text: string): string {
  if (!MAYBE_CAMPAIGN.test(text)) return text;
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

/**
 * A string holding more addresses than this (or more look-alikes to examine: `@` signs,
 * colon groups) is no measurement value: it is dropped whole, counted under the rule
 * that found them. This also bounds the work a hostile string can cause.
 */
export const MAX_FINDINGS = 32;
const MAX_CANDIDATES = 256;

// --- email ----------------------------------------------------------------------
// Found from each `@` (in any of its forms), walking left over the local part and
// matching the domain to the right: linear in the length of the string, whatever it
// holds (a regex looking for a local part from every position takes milliseconds on
// 8 KB of `a`). Letters of any script, combining marks and invisible format
// characters count (a zero-width space must not split an address), and so do
// percent-escapes.
const LOCAL_ASCII = new Uint8Array(128);
// (RFC 5322 allows `/=&#*^{|}~` too; addresses never use them, and URLs and queries
// around an address do: counting them would swallow the path before an `@`)
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-'!") LOCAL_ASCII[c.charCodeAt(0)] = 1;
const LOCAL_OTHER = /^[\p{L}\p{N}\p{M}\p{Cf}]$/u;
const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
/** An address's local part is at most 64 octets: a longer run is cut here and its tail redacted. */
const LOCAL_WALK_MAX = 256;
const LABEL = `(?:[\\p{L}\\p{N}\\p{M}\\p{Cf}_\\-]|%[0-9A-Fa-f]{2}){1,63}`;
const AT_SIGN = new RegExp(AT, 'gu');
const DOMAIN = new RegExp(`${LABEL}(?:${DOT}${LABEL}){0,8}`, 'uy');
const MAYBE_EMAIL = /[@%\uFF20\uFE6B]|&#|&commat;|[[({<]at[\])}>]|\\[ux]0*40|[ \t]at[ \t]/i;
/** A spaced `@` or the plain word `at`: it makes an address only before a domain with a dot. */
const SPACES = /[ \t]|%(?:25)*20/gi;
const WEAK_AT_CORE = /^(?:@|at|%(?:25)*40)$/i;
const isWeakAt = (sign: string) => {
  const core = sign.replace(SPACES, '');
  return core.length !== sign.length && WEAK_AT_CORE.test(core);
};
const HAS_DOT = new RegExp(DOT, 'u');
/** The domain of a weak form: a dot, and a last label of letters (`example dot com`, not `5 pm`). */
const DOTTED_DOMAIN_END = /\p{L}{2,}$/u;

/** The start of the local part ending at `end`, not going below `floor`. */
function localPartStart(text: string, end: number, floor: number): number {
  // a quoted local part (`"alice"@example.com`, RFC 5322): the whole quoted string
  if (text.charCodeAt(end - 1) === 34 /* " */) {
    // (at most 64 characters back: a whole-string search from every `@` would not be linear)
    const low = Math.max(floor, end - 66);
    let open = end - 2;
    while (open >= low && text.charCodeAt(open) !== 34) open--;
    return open >= low && open < end - 2 ? open : end;
  }
  const stop = Math.max(floor, end - LOCAL_WALK_MAX);
  let i = end;
  while (i > stop) {
    const c = text.charCodeAt(i - 1);
    // a percent-escape counts when it stands for a character of the local part
    // (`%2E`), not for a delimiter (`cart%3Femail%3Dalice@…` keeps `cart%3Femail%3D`)
    if (i - 3 >= stop && text.charCodeAt(i - 3) === 37 && isHex(c) && isHex(text.charCodeAt(i - 2))) {
      if (LOCAL_ASCII[parseInt(text.slice(i - 2, i), 16)] !== 1) break;
      i -= 3;
      continue;
    }
    if (c < 128) {
      if (LOCAL_ASCII[c] !== 1) break;
      i--;
      continue;
    }
    const pair = c >= 0xdc00 && c <= 0xdfff && i - 2 >= stop ? 2 : 1;
    if (!LOCAL_OTHER.test(text.slice(i - pair, i))) break;
    i -= pair;
  }
  return i;
}

/** `alice@example.com` (and its encoded or look-alike forms) → "[email]"; undefined: too many. */
export function redactEmails(text: string): string | undefined {
  if (!MAYBE_EMAIL.test(text)) return text;
  let out = '';
  let copied = 0; // text before this is in `out` already
  let floor = 0; // no local part reaches below the end of the previous `@`
  let found = 0;
  let seen = 0;
  AT_SIGN.lastIndex = 0;
  for (let at = AT_SIGN.exec(text); at; at = AT_SIGN.exec(text)) {
    if (++seen > MAX_CANDIDATES) return undefined;
    const afterAt = at.index + at[0].length;
    const start = localPartStart(text, at.index, Math.max(floor, copied));
    floor = afterAt;
    if (start === at.index) continue;
    DOMAIN.lastIndex = afterAt;
    if (!DOMAIN.test(text)) continue;
    if (isWeakAt(at[0])) {
      const domain = text.slice(afterAt, DOMAIN.lastIndex);
      if (!HAS_DOT.test(domain) || !DOTTED_DOMAIN_END.test(domain)) continue;
    }
    if (++found > MAX_FINDINGS) return undefined;
    out += text.slice(copied, start) + REDACTION_MARKERS.email;
    copied = DOMAIN.lastIndex;
    AT_SIGN.lastIndex = copied;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

// --- ip -------------------------------------------------------------------------
const OCTET = '0{0,2}(?:25[0-5]|2[0-4]\\d|1\\d\\d|\\d?\\d)';
const V4_DOT = `(?:\\.|${pct('2[eE]')})`;
const IPV4 = new RegExp(`(?<![\\p{N}.])(${OCTET})${V4_DOT}${OCTET}${V4_DOT}${OCTET}${V4_DOT}(${OCTET})(?![\\p{N}]|${V4_DOT}\\d)`, 'gu');
// `203-0-113-9`, `203_0_113_9`: the address as reverse-DNS and cloud host names write it
// (`203-0-113-9.dsl.example.net`, `ip-203-0-113-9.ec2.internal`); no part of a longer run
// of numbers (`06-12-34-56-78`, a phone number)
const IPV4_JOINED = new RegExp(`(?<!\\p{N}|\\p{N}[._\\-])(${OCTET})(?<sep>[-_])${OCTET}\\k<sep>${OCTET}\\k<sep>(${OCTET})(?!\\p{N}|[._\\-]\\p{N})`, 'gu');
const IPV6 = new RegExp(`(?<![\\p{L}\\p{N}_.\\-])(?:[0-9A-Fa-f]{0,4}${COLON}){2,7}(?:(?:\\d{1,3}\\.){3}\\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\\p{L}\\p{N}_\\-])`, 'gu');
const HEX_COLON = new RegExp(pct('3[aA]'), 'g');
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/**
 * An IPv6 address with any bit set past the first 48 (finer than what the collector
 * keeps), read without a library: this runs on every candidate in every kept string.
 */
function isFineIPv6(candidate: string): boolean {
  if (candidate.indexOf('::') !== candidate.lastIndexOf('::') && !/[%\uFF1A]/.test(candidate)) return false;
  let text = candidate.replace(HEX_COLON, ':').replace(/\uFF1A/g, ':');
  let v4: number[] | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    // trailing dotted quad (`::ffff:203.0.113.9`): two groups
    v4 = text.slice(lastColon + 1).split('.').map(Number);
    if (v4.length !== 4 || v4.some((o) => !(o >= 0 && o <= 255))) return false;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
  const n = head.length + tail.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return false;
  if (!head.every((g) => HEX_GROUP.test(g)) || !tail.every((g) => HEX_GROUP.test(g))) return false;
  const groups = [...head, ...Array<string>(8 - n).fill('0'), ...tail].map((g) => parseInt(g, 16));
  if (v4 === undefined && groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return false; // ::1, loopback
  // any bit past the first 48
  return groups.slice(3).some((g) => g !== 0) || (v4 !== undefined && v4.some((o) => o !== 0));
}

/** Replaces every match `keep` refuses; undefined past MAX_FINDINGS replacements. */
function replaceFindings(text: string, re: RegExp, marker: string, keep: (m: RegExpExecArray) => boolean): string | undefined {
  let out = '';
  let copied = 0;
  let found = 0;
  let seen = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (++seen > MAX_CANDIDATES) return undefined;
    if (keep(m)) continue;
    if (++found > MAX_FINDINGS) return undefined;
    out += text.slice(copied, m.index) + marker;
    copied = m.index + m[0].length;
  }
  return found === 0 ? text : out + text.slice(copied);
}

/**
 * IP addresses → "[ip]"; undefined: too many. An IPv4 whose last octet is 0 or an IPv6
 * /48 network address is left: it says no more than the collector's own truncated
 * address, and version strings look like one (Chrome's reduced `120.0.0.0`). So is
 * loopback (127.0.0.0/8, ::1): every machine's own address, a page served from it
 * identifies no one.
 */
export function redactIps(text: string): string | undefined {
  let out: string | undefined = text;
  const keepV4 = (m: RegExpExecArray) => Number(m[m.length - 1]) === 0 || Number(m[1]) === 127;
  if (/\d(?:\.|%)/.test(out)) {
    out = replaceFindings(out, IPV4, REDACTION_MARKERS.ip, keepV4);
    if (out === undefined) return undefined;
  }
  if (/\d[-_]\d/.test(out)) {
    out = replaceFindings(out, IPV4_JOINED, REDACTION_MARKERS.ip, keepV4);
    if (out === undefined) return undefined;
  }
  // an address finer than /48 has a hex digit beside a colon
  if (/[0-9A-Fa-f](?::|%(?:25)*3a|\uFF1A)|(?::|%(?:25)*3a|\uFF1A)[0-9A-Fa-f]/i.test(out)) {
    out = replaceFindings(out, IPV6, REDACTION_MARKERS.ip, (m) => !isFineIPv6(m[0]));
    if (out === undefined) return undefined;
  }
  if (MAYBE_NUMERIC_HOST.test(out)) {
    out = replaceFindings(out, NUMERIC_HOST, REDACTION_MARKERS.ip, (m) => {
      const n = numericHostIPv4(m[0]);
      return n === undefined || (n & 0xff) === 0 || n >>> 24 === 127;
    });
  }
  return out;
}

// A URL's host written as numbers is an IPv4 address, in whatever form browsers read one:
// `http://3405803785/`, `http://0xcb.0.0x71.9/`, `http://0313.0.0161.011/`, `http://203.28937/`
// all reach 203.0.113.9 (the WHATWG URL standard's IPv4 parser). Looked for after `//`
// (and a `user@`), where a host begins: at the start, after a scheme's `:` or a space,
// not inside a path (`/a//2024/`); the slashes written plainly or percent-encoded.
const MAYBE_NUMERIC_HOST = /(?:\/|\\|%(?:25)*(?:2f|5c)){2}(?:[^/?#@\s]{0,256}(?:@|%(?:25)*40))?(?:0x|\d)/i;
const NUMERIC_HOST = new RegExp(
  `(?<=(?:^|[\\s"'(<=,;]|${COLON})${SLASH}{2}(?:[^/?#@\\s]{0,256}${AT})?)(?:0[xX][0-9a-fA-F]{0,8}|\\d{1,10})(?:\\.(?:0[xX][0-9a-fA-F]{0,8}|\\d{1,10})){0,3}\\.?(?=[:/?#\\s"'<>\\]\\\\%]|$)`,
  'gu',
);

/** The IPv4 address a numeric URL host stands for, as a 32-bit number; undefined: none. */
export function numericHostIPv4(host: string): number | undefined {
  const parts = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    const v = /^0[xX]/.test(p) ? (p.length === 2 ? 0 : /^0[xX][0-9a-fA-F]+$/.test(p) ? parseInt(p.slice(2), 16) : NaN)
      : p.length > 1 && p.startsWith('0') ? (/^[0-7]+$/.test(p) ? parseInt(p, 8) : NaN)
      : /^\d+$/.test(p) ? Number(p) : NaN;
    if (!Number.isFinite(v)) return undefined;
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 256 ** (4 - values.length)) return undefined;
  return values.reduce((n, v, i) => n + v * 256 ** (3 - i), 0) + last;
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
  const t = parsedDate(value)?.t;
  return t === undefined || t > now + FUTURE_TOLERANCE_MS ? undefined : t;
}

/** The UTC day of a readable client date (`2026-11-29`), else undefined. */
export function toDay(value: unknown, now: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const p = parsedDate(value);
  return p === undefined || p.t > now + FUTURE_TOLERANCE_MS ? undefined : p.day;
}

// A visitor sends the same cookie_creation_date with every hit (and the SDK writes it
// to the minute): parsed dates are remembered, a few thousand at most.
const DATES_CACHED = 4096;
const dates = new Map<string, { t: number; day: string } | undefined>();

function parsedDate(value: string): { t: number; day: string } | undefined {
  let p = dates.get(value);
  if (p !== undefined || dates.has(value)) return p;
  const m = ISO_DATE.exec(value);
  if (m) {
    const t = m[4] === undefined ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`) : Date.parse(m[7] === undefined ? `${value}Z` : value);
    // Date.parse rolls 2026-02-31 over into March: refuse what it had to repair
    const real = new Date(Date.parse(`${m[1]}-${m[2]}-${m[3]}T12:00:00Z`)).toISOString().slice(0, 10) === `${m[1]}-${m[2]}-${m[3]}`;
    if (Number.isFinite(t) && real) p = { t, day: new Date(t).toISOString().slice(0, 10) };
  }
  if (dates.size >= DATES_CACHED) dates.clear();
  dates.set(value, p);
  return p;
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
const NOTHING_TO_CHECK = /^[a-zA-Z0-9 _.,'!\-]*$/;
/** …except an address written with the word at (`alice at example dot com`). */
const MAYBE_WORDED_EMAIL = /[ \t]at[ \t]/i;
const NON_ASCII = /[^\x00-\x7f]/;
const INVISIBLE = /\p{Cf}/gu;

function count(counts: RuleCounts, rule: ExemptRule, before: string, after: string): string {
  if (after !== before) counts[rule]++;
  return after;
}

/**
 * A plain http(s) URL: host and path of letters, digits and `_.-~/`, nothing else. No
 * rule but `ip` can change one (no `@`, `?`, `#`, `;`, `%`, `=`, no other `:`), and most
 * URL-valued properties are like this.
 */
const PLAIN_URL = /^https?:\/\/[A-Za-z0-9.-]+(?:\/[A-Za-z0-9_.~/-]*)?$/;

/** Every content rule, in order, on one kept string; DROP when the string cannot be kept. */
export function sanitiseString(text: string, urlValued: boolean, counts: RuleCounts): string | typeof DROP {
  if ((NOTHING_TO_CHECK.test(text) && !MAYBE_WORDED_EMAIL.test(text)) || PLAIN_URL.test(text)) {
    if (!/\d[._-]\d/.test(text) && !MAYBE_NUMERIC_HOST.test(text)) return text;
    const ips = redactIps(text);
    return ips === undefined ? dropBy(counts, 'ip') : count(counts, 'ip', text, ips);
  }
  if (text.length > CACHED_LENGTH) return applyRules(text, urlValued, counts);
  // The same titles, URLs and client hints come back hit after hit: what the rules made
  // of a short string is remembered (with what they counted), a few thousand at most.
  const key = urlValued ? `u${text}` : `s${text}`;
  let cached = sanitised.get(key);
  if (cached === undefined) {
    const delta = noRuleCounts();
    cached = { out: applyRules(text, urlValued, delta), delta: (Object.keys(delta) as ExemptRule[]).filter((r) => delta[r] > 0).map((r) => [r, delta[r]] as const) };
    if (sanitised.size >= SANITISED_CACHED) sanitised.clear();
    sanitised.set(key, cached);
  }
  for (const [rule, n] of cached.delta) counts[rule] += n;
  return cached.out;
}

const CACHED_LENGTH = 256;
const SANITISED_CACHED = 8192;
const sanitised = new Map<string, { out: string | typeof DROP; delta: (readonly [ExemptRule, number])[] }>();

function applyRules(text: string, urlValued: boolean, counts: RuleCounts): string | typeof DROP {
  let s = text;
  if (NON_ASCII.test(s)) s = count(counts, 'unicode', s, s.normalize('NFKC').replace(INVISIBLE, ''));
  // credentials first, then addresses (an encoded `@` holds a `#`), then what follows
  // a `?`, `#` or `;`, then campaign data left in the text
  if (urlValued) s = count(counts, 'url', s, stripUserinfo(s));
  s = count(counts, 'query', s, stripEmbeddedUserinfo(s));
  const emails = redactEmails(s);
  if (emails === undefined) return dropBy(counts, 'email');
  s = count(counts, 'email', s, emails);
  const ips = redactIps(s);
  if (ips === undefined) return dropBy(counts, 'ip');
  s = count(counts, 'ip', s, ips);
  if (urlValued) s = count(counts, 'url', s, cutUrl(s));
  s = count(counts, 'query', s, removeQueries(s));
  return count(counts, 'campaign', s, removeCampaignParameters(s));
}

function dropBy(counts: RuleCounts, rule: ExemptRule): typeof DROP {
  counts[rule]++;
  return DROP;
}


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
    const brands: { brand: string; version: string }[] = [];
    for (const b of value) {
      const brand = sanitiseString(b.brand, false, counts);
      const version = sanitiseString(b.version, false, counts);
      if (brand === DROP || version === DROP) return DROP;
      brands.push({ brand, version });
    }
    return brands;
  }
  if (Array.isArray(value) && value.every(isScalar)) {
    const items: Scalar[] = [];
    for (const v of value as Scalar[]) {
      const w = typeof v === 'string' ? sanitiseString(v, urlValued, counts) : v;
      if (w === DROP) return DROP;
      items.push(w);
    }
    return items;
  }
  counts.shape++;
  return DROP;
}
