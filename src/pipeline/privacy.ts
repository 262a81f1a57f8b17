// Privacy modes enforced on the server (DESIGN §3, Piano's CNIL guide 4.2, 4.7-4.9).
// What the client claims is only ever narrowed, never widened:
//   optin (with consent true)        → every property, user_* kept, pseudonym, city geo
//   exempt, custom, no-storage,
//   missing or unknown               → exempt allowlists only, no user_*, URLs without
//                                      query or fragment, pseudonym (none for no-storage)
//   optout, extended-optout,
//   no-consent, idclient OPT-OUT,
//   Sec-GPC: 1 where the site says so → no record at all: anonymous counters only
// and a site's maxMode "exempt" turns an opt-in claim into exempt.
// The lists themselves are data, in allowlists.ts.
import type { SitePolicy } from '../sites.js';
import {
  ALWAYS_ALLOWED_PREFIXES,
  MODE_OF_WIRE,
  SHARED_VISITOR_IDS,
  TRACKER_LIFETIME_DAYS,
  URL_PROPERTIES,
  USER_PROPERTY_PREFIX,
} from './allowlists.js';
import type { HitEvent, Properties } from './validate.js';

export type Mode = 'optin' | 'exempt' | 'optout';

/** Why a hit's visitor has no pseudonym (for tests and the /privacy statement). */
export type NoVisitorReason = 'optout' | 'no-storage' | 'shared-id' | 'no-id' | 'tracker-expired';

export interface KeptEvent {
  /** Position in the request (part of the record id). */
  index: number;
  name: string;
  props: Properties;
}

export interface PrivacyDecision {
  mode: Mode;
  /** How the mode was reached: as claimed, or narrowed by the server. */
  cause: 'claimed' | 'no-consent-flag' | 'opt-out-id' | 'gpc' | 'site-cap';
  /** The raw id to pseudonymise; undefined when the mode keeps no visitor. */
  visitorId: string | undefined;
  noVisitor?: NoVisitorReason;
  keepGeo: boolean;
  /** Events that become records (empty for optout). */
  events: KeptEvent[];
  /** Opt-out events, to count anonymously (empty otherwise). */
  optoutEvents: { event: string; page?: string }[];
  dropped: { events: number; properties: number };
}

export interface PrivacyInput {
  events: readonly HitEvent[];
  idclient: string | undefined;
  policy: SitePolicy;
  /** The request carried `Sec-GPC: 1`. */
  gpc: boolean;
  now: number;
}

const RESTRICTIVENESS: Record<Mode, number> = { optin: 0, exempt: 1, optout: 2 };
const URLS = new Set(URL_PROPERTIES);
const SHARED_IDS = new Set(SHARED_VISITOR_IDS);
const TRACKER_LIFETIME_MS = TRACKER_LIFETIME_DAYS * 86_400_000;

/** The mode one event claims; opt-in counts only with visitor_privacy_consent true. */
function claimedMode(data: Properties | undefined): { mode: Mode; consentMissing: boolean } {
  const wire = data?.visitor_privacy_mode;
  const mode = (typeof wire === 'string' && Object.hasOwn(MODE_OF_WIRE, wire) ? MODE_OF_WIRE[wire] : undefined) ?? 'exempt';
  if (mode === 'optin' && data?.visitor_privacy_consent !== true) return { mode: 'exempt', consentMissing: true };
  return { mode, consentMissing: false };
}

export function resolveMode(input: PrivacyInput): Pick<PrivacyDecision, 'mode' | 'cause'> {
  if (input.idclient === 'OPT-OUT') return { mode: 'optout', cause: 'opt-out-id' };
  if (input.gpc && input.policy.gpcIsObjection) return { mode: 'optout', cause: 'gpc' };
  // several events in one request: the most restrictive claim wins
  let mode: Mode = 'optin';
  let consentMissing = false;
  for (const e of input.events) {
    const c = claimedMode(e.data);
    if (RESTRICTIVENESS[c.mode] > RESTRICTIVENESS[mode]) mode = c.mode;
    consentMissing ||= c.consentMissing;
  }
  if (mode === 'optin' && input.policy.maxMode === 'exempt') return { mode: 'exempt', cause: 'site-cap' };
  return { mode, cause: mode === 'exempt' && consentMissing ? 'no-consent-flag' : 'claimed' };
}

/** The tracker may not outlive 13 months: an older cookie loses its pseudonym. */
export function trackerExpired(events: readonly HitEvent[], now: number): boolean {
  for (const e of events) {
    const created = e.data?.cookie_creation_date;
    if (typeof created !== 'string') continue;
    const t = Date.parse(created);
    if (Number.isFinite(t) && now - t > TRACKER_LIFETIME_MS) return true;
  }
  return false;
}

function visitorFor(input: PrivacyInput, mode: Mode): { visitorId?: string; noVisitor?: NoVisitorReason } {
  if (mode === 'optout') return { noVisitor: 'optout' };
  if (input.events.some((e) => e.data?.visitor_privacy_mode === 'no-storage')) return { noVisitor: 'no-storage' };
  const id = input.idclient;
  if (!id) return { noVisitor: 'no-id' };
  if (SHARED_IDS.has(id)) return { noVisitor: 'shared-id' };
  if (trackerExpired(input.events, input.now)) return { noVisitor: 'tracker-expired' };
  return { visitorId: id };
}

/** `https://x.test/a?q=1#f` → `https://x.test/a` (non-URL strings: cut at ? and # too). */
export function stripQuery(value: string): string {
  const cut = value.search(/[?#]/);
  return cut === -1 ? value : value.slice(0, cut);
}

function isAllowedExempt(name: string, policy: SitePolicy): boolean {
  if (name.startsWith(USER_PROPERTY_PREFIX)) return false;
  if (policy.exemptProperties.has(name)) return true;
  for (const p of ALWAYS_ALLOWED_PREFIXES) if (name.startsWith(p)) return true;
  return false;
}

function exemptProps(data: Properties | undefined, policy: SitePolicy, dropped: { properties: number }): Properties {
  const out: Properties = {};
  if (!data) return out;
  for (const name in data) {
    if (!isAllowedExempt(name, policy)) {
      dropped.properties++;
      continue;
    }
    const v = data[name]!;
    out[name] = URLS.has(name) && typeof v === 'string' ? stripQuery(v) : v;
  }
  return out;
}

export function applyPrivacy(input: PrivacyInput): PrivacyDecision {
  const { mode, cause } = resolveMode(input);
  const dropped = { events: 0, properties: 0 };
  const visitor = visitorFor(input, mode);

  if (mode === 'optout') {
    const optoutEvents = input.events.map((e) => {
      const page = e.data?.page;
      return typeof page === 'string' && page.length > 0 && page.length <= 128 ? { event: e.name, page } : { event: e.name };
    });
    for (const e of input.events) for (const _ in e.data ?? {}) dropped.properties++;
    return { mode, cause, ...visitor, visitorId: undefined, keepGeo: false, events: [], optoutEvents, dropped };
  }

  const events: KeptEvent[] = [];
  input.events.forEach((e, index) => {
    if (mode === 'optin') {
      events.push({ index, name: e.name, props: e.data ?? {} });
    } else if (input.policy.exemptEvents.has(e.name)) {
      events.push({ index, name: e.name, props: exemptProps(e.data, input.policy, dropped) });
    } else {
      dropped.events++;
    }
  });
  return { mode, cause, visitorId: visitor.visitorId, ...(visitor.noVisitor ? { noVisitor: visitor.noVisitor } : {}), keepGeo: true, events, optoutEvents: [], dropped };
}
