// The privacy claim of an adapted hit, in the Piano SDK's own words
// (`visitor_privacy_mode`, `visitor_privacy_consent`), so that the privacy step
// (src/pipeline/privacy.ts) decides for a Matomo or Plausible hit exactly as it
// decides for the SDK's: it narrows the claim, never widens it.
import type { Mode, RecordMode } from '../contract/modes.js';
import type { HitEvent } from '../contract/wire.js';

/**
 * Opt-out when the request carries an objection the route honours; opt-in only when
 * the site has a consent banner (`maxMode: "optin"`) and the request shows consent
 * (Matomo `consent=1`); exempt otherwise. Plausible shows no consent: always exempt.
 */
export function privacyClaim(
  hit: { consent: boolean; optout: boolean },
  maxMode: RecordMode,
  objection: boolean,
): Mode {
  if (hit.optout || objection) return 'optout';
  return hit.consent && maxMode === 'optin' ? 'optin' : 'exempt';
}

/** The events with the claim set as the SDK sets it (consent true only with opt-in). */
export function withClaim(events: readonly HitEvent[], claim: Mode): HitEvent[] {
  return events.map((e) => ({
    name: e.name,
    data: { ...e.data, visitor_privacy_mode: claim, visitor_privacy_consent: claim === 'optin' },
  }));
}
