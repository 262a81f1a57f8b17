// The pipeline, one step after the other: client IP → truncation → privacy mode →
// geolocation → pseudonym → records, encoded for their stream (or anonymous opt-out
// counters). Each step lives in its own module; this file only chains them.
import { optoutCounterKey } from '../contract/keys.js';
import type { CounterIncrement, RecordTracker, StreamEntry } from '../contract/record.js';
import type { SitePolicy } from '../policy/sites.js';
import { anonymiseIp } from './anonymise-ip.js';
import { extractClientIp, type TrustedProxies } from './client-ip.js';
import type { Geolocator } from './geolocate.js';
import { applyPrivacy, type PrivacyDecision } from './privacy.js';
import { hideRawVisitorId, type Pseudonymiser } from './pseudonymise.js';
import { buildRecord, createRecordIds, toEntry } from './record.js';
import type { HitEvent } from './validate.js';

export interface HitInput {
  site: string;
  policy: SitePolicy;
  /** Raw visitor id from the query: it must not outlive this call. */
  idclient: string | undefined;
  events: readonly HitEvent[];
  /** The body as received: the source of the record ids. */
  rawBody: string;
  peer: string | undefined;
  forwardedFor: string | string[] | undefined;
  /** `Sec-GPC: 1` was sent. */
  gpc: boolean;
  receivedAt: number;
  /** The third-party tracker whose request was adapted (src/formats); absent for the Piano SDK. */
  tracker?: RecordTracker;
}

export interface HitOutput {
  /** One per kept event: the record v1, JSON-encoded, with the stream it goes to. */
  entries: StreamEntry[];
  counters: CounterIncrement[];
  mode: PrivacyDecision['mode'];
  dropped: PrivacyDecision['dropped'];
  rules: PrivacyDecision['rules'];
}

export interface HitDeps {
  geolocator: Geolocator;
  pseudonymiser: Pseudonymiser;
  isTrustedProxy: TrustedProxies;
  recordIdSecret: Buffer;
  /** The stream shards (src/contract/keys.ts streamKeys). */
  streamKeys: readonly string[];
  /** Lifetime of opt-out counters (within the retention limit). */
  counterTtlSeconds: number;
}

export function createHitProcessor(deps: HitDeps): (input: HitInput) => HitOutput {
  const recordIds = createRecordIds(deps.recordIdSecret);
  return (input) => {
    const decision = applyPrivacy({ events: input.events, idclient: input.idclient, policy: input.policy, gpc: input.gpc, now: input.receivedAt });

    if (decision.mode === 'optout') {
      const key = optoutCounterKey(input.site, input.receivedAt);
      const counters = decision.optoutEvents.map((field) => ({ key, field, ttlSeconds: deps.counterTtlSeconds }));
      return { entries: [], counters, mode: decision.mode, dropped: decision.dropped, rules: decision.rules };
    }

    // the raw address lives only in this expression
    const truncatedIp = anonymiseIp(extractClientIp(input.peer, input.forwardedFor, deps.isTrustedProxy));
    const geo = decision.keepGeo ? deps.geolocator.lookup(truncatedIp) : undefined;
    const visitor = decision.visitorId ? deps.pseudonymiser.pseudonymise(input.site, decision.visitorId) : undefined;
    const idOf = recordIds(input.site, input.idclient, input.rawBody);
    const entries = decision.events.map((e) => {
      const record = buildRecord(idOf(e.index), {
        site: input.site,
        event: e.name,
        mode: decision.mode,
        tracker: input.tracker,
        ts: input.receivedAt,
        visitor,
        geo,
        props: hideRawVisitorId(e.props, input.site, input.idclient, deps.pseudonymiser, input.receivedAt),
      });
      return toEntry(record, deps.streamKeys);
    });
    return { entries, counters: [], mode: decision.mode, dropped: decision.dropped, rules: decision.rules };
  };
}
