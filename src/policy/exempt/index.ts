// What an exempt value may hold (CNIL guide 4.8: only strictly necessary data), built
// from what is allowed rather than searched for what is not. Every kept string is read
// once (reading.ts), and what is stored is rebuilt from that reading by the rules, one
// module each, in this order:
//
//   url        URLs and paths rebuilt from scheme, host and path (url.ts)
//   campaign   campaign parameters and click ids removed (campaign.ts)
//   query      queries and parameters in other text removed (query.ts)
//   email      addresses → [email] (email.ts)
//   ip         addresses → [ip] (ip.ts)
//
// Each declares the characters it needs to see (`needs`, compiled once): a reading
// without them skips the rule, and cannot be changed by it. shape.ts and day.ts check
// the value's kind; the lists the rules apply are data, in allowlists.ts. Nothing is
// cached across values: the same text under a URL-valued and a plain property is read
// for what each is.
import {
  BRAND_LIST_PROPERTIES,
  DAY_PRECISION_PROPERTIES,
  URL_PROPERTIES,
  USER_PROPERTY_PREFIX,
} from '../allowlists.js';
import type { PropertyValue } from '../../contract/record.js';
import { campaignRule, isCampaignName } from './campaign.js';
import { DROP, type ExemptRule, type RuleCounts, type TextRule } from './common.js';
import { toDay } from './day.js';
import { emailRule } from './email.js';
import { ipRule } from './ip.js';
import { queryRule } from './query.js';
import { canonicalReading } from './reading.js';
import { isBrandList, isGreaseBrand, isScalar, type Scalar } from './shape.js';
import { type PathMask, rebuildPath, rebuildUrl, rebuildUrls, urlRule } from './url.js';

export { EXEMPT_VALUE_RULES } from './rules.js';
export { DROP, MAX_FINDINGS, noRuleCounts, type RuleCounts } from './common.js';
export { canonicalReading } from './reading.js';
export { isCampaignName } from './campaign.js';
export { numericHostIPv4 } from './ip.js';
export { compilePathMask, type PathMask, rebuildUrl } from './url.js';
export { readClientDate, toDay } from './day.js';
export { isBrandList } from './shape.js';

/** `user_*` in any letter case: the User ID is kept only under explicit opt-in. */
export function isUserProperty(name: string): boolean {
  return name.slice(0, USER_PROPERTY_PREFIX.length).toLowerCase() === USER_PROPERTY_PREFIX;
}

/** The rules after url, compiled once. */
const TEXT_RULES: readonly TextRule[] = [campaignRule, queryRule, emailRule, ipRule];
const NO_MASKS: readonly PathMask[] = [];
const DOUBLE_SPACES = / {2,}/g;
/** Every rule, url first, compiled once per site's maskPaths. */
const rulesWithUrl = new WeakMap<readonly PathMask[], readonly TextRule[]>();

export interface ValueContext {
  /** The site's maskPaths, compiled (sites.ts). */
  readonly masks?: readonly PathMask[];
  /** Tests only: run every rule, whatever its pre-check says. */
  readonly skipPreChecks?: boolean;
}

function dropBy(counts: RuleCounts, rule: ExemptRule): typeof DROP {
  counts[rule]++;
  return DROP;
}

/** Every rule, in order, on one kept string; DROP when it cannot be kept. */
export function sanitiseString(
  text: string,
  urlValued: boolean,
  counts: RuleCounts,
  ctx: ValueContext = {},
): string | typeof DROP {
  const reading = canonicalReading(text);
  if (reading === undefined) return dropBy(counts, 'reading');
  if (reading !== text) counts.reading++;
  if (isGreaseBrand(reading)) return reading;
  const masks = ctx.masks ?? NO_MASKS;
  let s = reading;
  // a URL-valued property is a URL, whatever it starts with (a scheme-less `//host`,
  // spaces), or a relative reference (`cart;jsessionid=…?q#f`): rebuilt as a path
  let whole = urlValued ? rebuildUrl(s.trim(), masks) : undefined;
  if (urlValued && whole === undefined) {
    // (URLs inside it first: `see: http://…` is no path to split at its first `/`)
    const inner = rebuildUrls(s, masks);
    if (inner === undefined) return dropBy(counts, 'url');
    whole = rebuildPath(inner, masks, false);
  }
  if (whole !== undefined) {
    if (whole !== s) counts.url++;
    s = whole;
  }
  let all = rulesWithUrl.get(masks);
  if (all === undefined) rulesWithUrl.set(masks, (all = [urlRule(masks), ...TEXT_RULES]));
  for (const rule of whole === undefined ? all : TEXT_RULES) {
    if (!ctx.skipPreChecks && !rule.needs.test(s)) continue;
    const out = rule.apply(s);
    if (out === undefined) return dropBy(counts, rule.name);
    if (out !== s) counts[rule.name]++;
    s = out;
  }
  // what a removal left as a double space is one (so the stored value reads back as itself)
  return s === reading ? s : s.replace(DOUBLE_SPACES, ' ');
}

const URLS = new Set(URL_PROPERTIES);
const DAY_PROPERTIES = new Set(DAY_PRECISION_PROPERTIES);
const BRAND_LISTS = new Set(BRAND_LIST_PROPERTIES);

/**
 * The value an exempt record keeps for an allowlisted property, or DROP.
 * `now` reads day-precision dates (a future date is unreadable).
 */
export function exemptValue(
  name: string,
  value: PropertyValue,
  counts: RuleCounts,
  now: number,
  ctx: ValueContext = {},
): PropertyValue | typeof DROP {
  if (DAY_PROPERTIES.has(name)) {
    const day = toDay(value, now);
    if (day === undefined) return dropBy(counts, 'day');
    if (day !== value) counts.day++;
    return day;
  }
  const urlValued = URLS.has(name);
  if (isScalar(value)) return typeof value === 'string' ? sanitiseString(value, urlValued, counts, ctx) : value;
  if (BRAND_LISTS.has(name) && isBrandList(value)) {
    const brands: { brand: string; version: string }[] = [];
    for (const b of value) {
      const brand = isGreaseBrand(b.brand) ? b.brand : sanitiseString(b.brand, false, counts, ctx);
      const version = sanitiseString(b.version, false, counts, ctx);
      if (brand === DROP || version === DROP) return DROP;
      brands.push({ brand, version });
    }
    return brands;
  }
  if (Array.isArray(value) && value.every(isScalar)) {
    const items: Scalar[] = [];
    for (const v of value) {
      const w = typeof v === 'string' ? sanitiseString(v, urlValued, counts, ctx) : v;
      if (w === DROP) return DROP;
      // a name/value pair (Matomo's custom variables: ["gclid", "…"]) naming campaign data
      if (typeof w === 'string' && isCampaignName(w.replace(/^["']|["']$/g, '')) && w.trim() !== '')
        return dropBy(counts, 'campaign');
      items.push(w);
    }
    return items;
  }
  return dropBy(counts, 'shape');
}
