// What a wire-format adapter hands to the pipeline (issue 13). Each adapter at the edge
// turns one HTTP request of a third-party tracker (Matomo, Plausible) into events named in
// the Piano vocabulary, so the privacy step, the record and every consumer stay unchanged.
// Adapters are pure: no Fastify, no Redis, no clock, no logging. Research and the mapping
// tables: docs/trackers/research.md.
import type { Tracker } from '../contract/modes.js';
import type { HitEvent } from '../contract/wire.js';
import type { TrackerCreation } from '../policy/tracker-lifetime.js';

export interface AdaptedHit {
  tracker: Tracker;
  /** The site id as the sites file names it (Matomo: the canonical `idsite`). */
  site: string;
  /** Raw visitor id (Matomo `_id`, else `cid`), lower-case hex; never logged, pseudonymised by the pipeline. */
  visitorId?: string;
  /**
   * The visitor's browser as a server-side tracker forwards it (Matomo `ua`): the robot
   * check reads it instead of the sender's own User-Agent. Never stored nor logged.
   */
  userAgent?: string;
  /**
   * Piano vocabulary: `{name, data}`, each valid against `eventSchema`. May be empty: the
   * request is answered as a success and nothing is written (a Matomo heartbeat `ping=1`,
   * an ecommerce request, a Plausible `engagement`).
   */
  events: HitEvent[];
  /**
   * The tracker's own statement of its creation time, as sent (Matomo `_idts`), when the
   * request carries one: the 13-month rule reads it (src/policy/tracker-lifetime.ts).
   */
  trackerCreated?: TrackerCreation;
  /** The request shows consent (Matomo `consent=1`); only honoured on sites with maxMode "optin". */
  consent: boolean;
  /** The request carries an opt-out signal. Neither tracker puts one on the wire today (see the research). */
  optout: boolean;
  /**
   * The page the hit says it was made on (Matomo `url`, Plausible `u`), also when it
   * yields no event: what decides the one-site check when the request carries neither
   * Origin nor Referer (a server-side tracker, a no-referrer page).
   */
  pageUrl?: string;
  /** Canonical text of this one hit: the source of the deterministic record id. */
  rawBody: string;
  /**
   * Whether `rawBody` tells a resend of this hit apart from another real hit alike: true
   * when the request carries the tracker's own random cache buster (Matomo `r`, `rand`),
   * so a resend (matomo.js's image fallback after a failed POST) gets the same record
   * ids. False otherwise (every Plausible request: two visitors viewing the same page
   * send the same body): the route then adds a random part, so that two real hits never
   * share a record id and a consumer never drops one of them as a duplicate.
   */
  replayable: boolean;
}

/** A refused request; the route turns it into the usual JSON error (`invalid_hit`, `body_too_large`, ...). */
export class FormatError extends Error {
  constructor(
    readonly statusCode: 400 | 413 | 415,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'FormatError';
  }
}

/**
 * The media type of a Content-Type header, lower-case, without parameters
 * (`text/plain;charset=UTF-8` → `text/plain`).
 */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const t = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return t === '' ? undefined : t;
}
