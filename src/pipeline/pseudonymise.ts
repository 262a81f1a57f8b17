// CNIL (Piano guide 4.2, 4.7, 4.6): the raw visitor id never leaves the request.
// It becomes `<keyId>.<pseudonym>`, pseudonym = HMAC-SHA256(secret, site ‖ id),
// truncated to 128 bits and written in base64url (22 characters).
// - keyed: a 16-character _pcid is brute-forceable under a plain hash or static salt;
//   without the secret it is not;
// - scoped per site: the same browser on two sites gets two unrelated pseudonyms;
// - unambiguous: the site is length-prefixed, so ("ab","c") and ("a","bc") differ.
import { REDACTION_MARKERS, SDK_ID_PROPERTIES, SHARED_VISITOR_IDS } from '../policy/allowlists.js';
import { createHmacSha256, type HmacSha256 } from './hmac.js';
import { sdkIdOf } from '../policy/tracker-lifetime.js';
import { canonicalReading } from '../policy/exempt-values.js';
import type { PropertyValue, PseudonymKey } from '../contract/record.js';

export const PSEUDONYM_BYTES = 16;

/** One key of PSEUDONYM_KEYS: `<keyId>.` starts every pseudonym made with it. */

const macs = new WeakMap<PseudonymKey, HmacSha256>();

export function pseudonym(key: PseudonymKey, site: string, visitorId: string): string {
  let hmac = macs.get(key);
  if (!hmac) macs.set(key, (hmac = createHmacSha256(key.secret)));
  const mac = hmac(`${Buffer.byteLength(site, 'utf8')}:${site}:${visitorId}`);
  return `${key.id}.${mac.subarray(0, PSEUDONYM_BYTES).toString('base64url')}`;
}

export class Pseudonymiser {
  constructor(private readonly keys: readonly PseudonymKey[]) {
    if (keys.length === 0) throw new Error('at least one pseudonym key is required');
  }

  /** The active key id (first of PSEUDONYM_KEYS). */
  get activeKeyId(): string {
    return this.keys[0]!.id;
  }

  /** The pseudonym under the active key: what new records carry. */
  pseudonymise(site: string, visitorId: string): string {
    return pseudonym(this.keys[0]!, site, visitorId);
  }

  /**
   * A client-chosen id (`pageview_id`, Matomo's `pv_id`) keyed under the active key, per
   * site, property name and scope (clientIdScope), so it can never equal a visitor's
   * pseudonym and never link what its scope does not already link.
   */
  keyedId(site: string, property: string, value: string, scope: string): string {
    return pseudonym(this.keys[0]!, site, `\u0000${property}\u0000${scope}\u0000${value}`);
  }

  /** The pseudonyms under every configured key, for access and erasure lookups. */
  allPseudonyms(site: string, visitorId: string): string[] {
    return this.keys.map((k) => pseudonym(k, site, visitorId));
  }
}

/**
 * What a client-chosen id is keyed with. With a visitor: its pseudonym and the UTC day, so
 * the events of one page view group together, and the id links nothing the pseudonym does
 * not already link, for a day at most. Without one (no-storage, an expired tracker,
 * Plausible): the request's own record id, which the request's records already share, so
 * a page sending the same value on every hit links no two requests, and a resend gives
 * the same record again.
 */
export function clientIdScope(visitor: string | undefined, requestRecordId: string, now: number): string {
  // (the UTC day as its number since 1970: the same day as its date, without formatting one)
  return visitor === undefined ? `request:${requestRecordId}` : `visitor:${visitor}:${Math.floor(now / 86_400_000)}`;
}

const SDK_IDS = new Set(SDK_ID_PROPERTIES);
/**
 * Ids shorter than this are searched for as whole words only (`4711` in `order 4711`, not
 * in `47112`): inside longer words they match too much innocent text. Ids under
 * MIN_WORD_ID_LENGTH are not searched at all: a 3-character id is in every other title.
 */
const MIN_SCANNED_ID_LENGTH = 8;
const MIN_WORD_ID_LENGTH = 4;
/** What a string needs to hold for an id to hide in it: an encoding, a control character, a character beyond ASCII. */
const MAY_HIDE_AN_ID = /[%&\\\x00-\x1f]|[^\x00-\x7e]/;

// The raw visitor id never leaves the request, whatever property a page script puts it
// in, and in every mode: SDK-made ids that share its creation-time prefix (`pageview_id`)
// are replaced by keyed ones (`<keyId>.<22 chars>`, per site, not the visitor's
// pseudonym; the scope: clientIdScope), and the raw id, or either 8-character half of an SDK id, inside any kept
// string becomes "[visitor-id]" (the hot path applies withoutRawId in its walk, encode.ts).

/**
 * What to look for in a kept string (lower case; searched in any letter case, since
 * upper-casing an id hides nothing): the raw id, and an SDK-made id's two halves, its
 * creation-time prefix and its 8 random characters (either alone narrows the visitor
 * down to one browser).
 */
export function rawIdNeedles(rawId: string | undefined, now: number): string[] {
  const needles: string[] = [];
  if (rawId && !SHARED_VISITOR_IDS.includes(rawId)) {
    if (rawId.length >= MIN_WORD_ID_LENGTH) needles.push(rawId.toLowerCase());
    // (the halves of the SDK id it holds, read in any case or encoding)
    const sdkId = sdkIdOf(rawId, now)?.id;
    if (sdkId !== undefined) needles.push(sdkId.slice(0, 8), sdkId.slice(8, 16));
  }
  return needles;
}

/** One property's value without the raw id: keyed for an SDK id, markers in strings; undefined: dropped. */
export function withoutRawId(
  name: string,
  v: PropertyValue,
  site: string,
  needles: readonly string[],
  pseudonymiser: Pseudonymiser,
  idScope: string,
): PropertyValue | undefined {
  if (SDK_IDS.has(name)) return typeof v === 'string' ? pseudonymiser.keyedId(site, name, v, idScope) : undefined;
  return needles.length > 0 ? withoutNeedles(v, needles) : v;
}

/** `text` with every occurrence of `needle` (lower case), in any letter case, replaced by the marker. */
function replaceAnyCase(text: string, needle: string): string {
  if (text.length < needle.length) return text;
  const lower = text.toLowerCase();
  let at = lower.indexOf(needle);
  if (at === -1) return text;
  if (needle.length < MIN_SCANNED_ID_LENGTH) return replaceWord(text, needle);
  // (a few characters change length when lower-cased: then a case-insensitive expression)
  if (lower.length !== text.length)
    return text.replace(new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), REDACTION_MARKERS.visitorId);
  let out = '';
  let from = 0;
  while (at !== -1) {
    out += text.slice(from, at) + REDACTION_MARKERS.visitorId;
    from = at + needle.length;
    at = lower.indexOf(needle, from);
  }
  return out + text.slice(from);
}

/** A short id only as a whole word (no letter or digit either side). */
function replaceWord(text: string, needle: string): string {
  const escaped = needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return text.replace(
    new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'giu'),
    REDACTION_MARKERS.visitorId,
  );
}

function withoutNeedlesIn(text: string, needles: readonly string[]): string {
  let s = text;
  for (const n of needles) s = replaceAnyCase(s, n);
  return s;
}

function withoutNeedles(v: PropertyValue, needles: readonly string[]): PropertyValue {
  if (typeof v === 'string') {
    const s = withoutNeedlesIn(v, needles);
    if (s !== v) return s;
    // an id partly encoded (`%6Dxd7iwc1…`, `&#109;xd7…`, `ｍxd7…`): found in the reading, which is then kept
    if (!MAY_HIDE_AN_ID.test(v)) return v;
    const reading = canonicalReading(v);
    if (reading === undefined) return REDACTION_MARKERS.visitorId;
    if (reading === v) return v;
    const r = withoutNeedlesIn(reading, needles);
    return r === reading ? v : r;
  }
  // an id sent as a number
  if (typeof v === 'number')
    return withoutNeedlesIn(String(v), needles) === String(v) ? v : REDACTION_MARKERS.visitorId;
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    const a = v.map((x) => withoutNeedles(x, needles));
    return a.some((x, i) => x !== v[i]) ? a : v;
  }
  let out: Record<string, PropertyValue> | undefined;
  for (const k in v) {
    const w = withoutNeedles(v[k]!, needles);
    if (w !== v[k]) (out ??= { ...v })[k] = w;
  }
  return out ?? v;
}
