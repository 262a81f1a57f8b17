// Privacy modes enforced on the server (docs/privacy.md; Piano's CNIL guide 4.2, 4.7-4.9).
// What the client claims is only ever narrowed, never widened:
//   optin (with consent true)        → every property, user_* kept, pseudonym, city geo
//   exempt, custom, no-storage,
//   missing or unknown               → exempt allowlists only, no user_*, every kept
//                                      value through the exempt value rules
//                                      (policy/exempt/), pseudonym (none for no-storage)
//   optout, extended-optout,
//   no-consent, idclient OPT-OUT,
//   Sec-GPC: 1 where the site says so → no record at all: anonymous counters only
// and a site's maxMode "exempt" turns an opt-in claim into exempt. In every mode, the
// collector's own fields (geo_*, site, visitor, time: policy/names.ts) are dropped.
// The lists themselves are data, in allowlists.ts; the value rules are in exempt/.
import type { SitePolicy } from '../policy/sites.js';
import { MODE_OF_WIRE, SHARED_VISITOR_IDS } from '../policy/allowlists.js';
import { trackerAge, type TrackerCreation } from '../policy/tracker-lifetime.js';
import type { RuleCounts } from '../policy/exempt-values.js';
import type { Mode } from '../contract/modes.js';
import type { Properties } from '../contract/record.js';
import type { HitEvent } from '../contract/wire.js';

/** Why a hit's visitor has no pseudonym (for tests and the /privacy statement). */
type NoVisitorReason = 'optout' | 'no-storage' | 'shared-id' | 'no-id' | 'tracker-expired' | 'tracker-age-unknown';

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
  /**
   * Opt-out events, to count anonymously (empty otherwise): the event's name when it is
   * on the site's event list, else `other`, so a client can never choose a field.
   */
  optoutEvents: string[];
  dropped: { events: number; properties: number };
  /** Values the exempt value rules changed or dropped, by rule. */
  rules: RuleCounts;
}

export interface PrivacyInput {
  events: readonly HitEvent[];
  idclient: string | undefined;
  policy: SitePolicy;
  /** The request carried `Sec-GPC: 1`. */
  gpc: boolean;
  now: number;
  /** The tracker's own creation time, as sent (Matomo `_idts`). */
  trackerCreated?: TrackerCreation;
}

const RESTRICTIVENESS: Record<Mode, number> = { optin: 0, exempt: 1, optout: 2 };
const SHARED_IDS = new Set(SHARED_VISITOR_IDS);
/** The opt-out counter field of every event not on the site's event list. */
export const OTHER_EVENT = 'other';

/**
 * The browser's Global Privacy Control: `Sec-GPC: 1`. A header sent twice reaches
 * Node joined (`1, 1`), or as an array: any `1` among the values counts.
 */
export function gpcRequested(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const values = Array.isArray(header) ? header.join(',') : header;
  return values.split(',').some((v) => v.trim() === '1');
}

/** The mode one event claims; opt-in counts only with visitor_privacy_consent true. */
function claimedMode(data: Properties | undefined): { mode: Mode; consentMissing: boolean } {
  const wire = data?.visitor_privacy_mode;
  const mode =
    (typeof wire === 'string' && Object.hasOwn(MODE_OF_WIRE, wire) ? MODE_OF_WIRE[wire] : undefined) ?? 'exempt';
  if (mode === 'optin' && data?.visitor_privacy_consent !== true) return { mode: 'exempt', consentMissing: true };
  return { mode, consentMissing: false };
}

function resolveMode(input: PrivacyInput): Pick<PrivacyDecision, 'mode' | 'cause'> {
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

function visitorFor(input: PrivacyInput, mode: Mode): { visitorId?: string; noVisitor?: NoVisitorReason } {
  if (mode === 'optout') return { noVisitor: 'optout' };
  if (input.events.some((e) => e.data?.visitor_privacy_mode === 'no-storage')) return { noVisitor: 'no-storage' };
  const id = input.idclient;
  if (!id) return { noVisitor: 'no-id' };
  if (SHARED_IDS.has(id)) return { noVisitor: 'shared-id' };
  const age = trackerAge(input.events, id, input.now, input.trackerCreated);
  if (age === 'expired') return { noVisitor: 'tracker-expired' };
  if (age === 'unknown') return { noVisitor: 'tracker-age-unknown' };
  return { visitorId: id };
}

/** What the privacy step decides for a request before looking at any property's value. */
export interface PrivacyVerdict extends Omit<PrivacyDecision, 'events' | 'dropped' | 'rules'> {
  /** For each event of the request: whether it becomes a record. */
  kept: boolean[];
  /** Events dropped for not being on the mode's event list. */
  droppedEvents: number;
}

/**
 * The mode, the visitor, the events kept, the opt-out counter fields: everything but
 * the properties (the hot path filters those in its one walk, src/pipeline/encode.ts;
 * test/helpers/reference-path.ts spells the same rules out on objects).
 */
export function decidePrivacy(input: PrivacyInput): PrivacyVerdict {
  const { mode, cause } = resolveMode(input);
  const visitor = visitorFor(input, mode);
  if (mode === 'optout') {
    const optoutEvents = input.events.map((e) => (input.policy.exemptEvents.has(e.name) ? e.name : OTHER_EVENT));
    return {
      mode,
      cause,
      ...visitor,
      visitorId: undefined,
      keepGeo: false,
      kept: input.events.map(() => false),
      droppedEvents: 0,
      optoutEvents,
    };
  }
  const kept = input.events.map((e) => mode === 'optin' || input.policy.exemptEvents.has(e.name));
  return {
    mode,
    cause,
    visitorId: visitor.visitorId,
    ...(visitor.noVisitor ? { noVisitor: visitor.noVisitor } : {}),
    keepGeo: true,
    kept,
    droppedEvents: kept.filter((k) => !k).length,
    optoutEvents: [],
  };
}
