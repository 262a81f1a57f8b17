// The pipeline, one step after the other: client IP → truncation → geolocation →
// privacy mode → pseudonym → records. Each step lives in its own module.
import type { Geolocator } from './geolocate.js';
import { anonymiseIp } from './anonymise-ip.js';
import { extractClientIp, type TrustedProxies } from './client-ip.js';
import { applyPrivacy } from './privacy.js';
import type { Pseudonymiser } from './pseudonymise.js';
import { buildRecord, createRecordIds, type HitRecord } from './record.js';
import type { HitEvent } from './validate.js';

export interface HitInput {
  site: string;
  /** Raw visitor id from the query: it must not outlive this call. */
  idclient: string | undefined;
  events: readonly HitEvent[];
  /** The body as received: the source of the record ids. */
  rawBody: string;
  peer: string | undefined;
  forwardedFor: string | string[] | undefined;
  receivedAt: number;
}

export interface HitOutput {
  records: HitRecord[];
}

export interface HitDeps {
  geolocator: Geolocator;
  pseudonymiser: Pseudonymiser;
  isTrustedProxy: TrustedProxies;
  recordIdSecret: Buffer;
}

export function createHitProcessor(deps: HitDeps): (input: HitInput) => HitOutput {
  const recordIds = createRecordIds(deps.recordIdSecret);
  return (input) => {
    // the raw address lives only in this expression
    const truncatedIp = anonymiseIp(extractClientIp(input.peer, input.forwardedFor, deps.isTrustedProxy));
    const decision = applyPrivacy(input.events, input.idclient);
    const geo = decision.keepGeo ? deps.geolocator.lookup(truncatedIp) : undefined;
    const visitor = decision.visitorId ? deps.pseudonymiser.pseudonymise(input.site, decision.visitorId) : undefined;
    const idOf = recordIds(input.site, input.idclient, input.rawBody);
    const records = decision.events.map((e) =>
      buildRecord(idOf(e.index), { site: input.site, event: e.name, mode: decision.mode, ts: input.receivedAt, visitor, geo, props: e.props }),
    );
    return { records };
  };
}
