// The pipeline, one step after the other: privacy mode → the properties, checked,
// filtered and encoded in one walk per event → client IP → truncation → geolocation →
// pseudonym → records, encoded for their stream (or anonymous opt-out counters). Each
// step lives in its own module; this file only chains them.
import { optoutCounterKey, shardKey } from '../contract/keys.js';
import { noRuleCounts } from '../policy/exempt-values.js';
import type { Tracker } from '../contract/modes.js';
import type { CounterIncrement, StreamEntry } from '../contract/record.js';
import type { SitePolicy } from '../policy/sites.js';
import type { TrackerCreation } from '../policy/tracker-lifetime.js';
import { anonymiseIp } from './anonymise-ip.js';
import { extractClientIp, type TrustedProxies } from './client-ip.js';
import type { Geolocator } from './geolocate.js';
import { encodeRecord, type PropertyWalk, walkProperties } from './encode.js';
import { decidePrivacy, type PrivacyDecision } from './privacy.js';
import { clientIdScope, type Pseudonymiser, rawIdNeedles } from './pseudonymise.js';
import { createRecordIds } from './record.js';
import type { HitEvent } from '../contract/wire.js';

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
  tracker?: Tracker;
  /** The tracker's own creation time, as sent (Matomo `_idts`), for the 13-month rule. */
  trackerCreated?: TrackerCreation;
}

export interface HitOutput {
  /** One per kept event: the record v1, JSON-encoded, with the stream it goes to. */
  entries: StreamEntry[];
  counters: CounterIncrement[];
  mode: PrivacyDecision['mode'];
  dropped: PrivacyDecision['dropped'];
  rules: PrivacyDecision['rules'];
}

/** A property the edge refuses: its path from the request's events (`events.0.data.page`). */
export interface HitProblem {
  problem: { path: (string | number)[]; message: string };
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

export function createHitProcessor(deps: HitDeps): (input: HitInput) => HitOutput | HitProblem {
  const recordIds = createRecordIds(deps.recordIdSecret);
  return (input) => {
    const now = input.receivedAt;
    const verdict = decidePrivacy({
      events: input.events,
      idclient: input.idclient,
      policy: input.policy,
      gpc: input.gpc,
      now,
      ...(input.trackerCreated ? { trackerCreated: input.trackerCreated } : {}),
    });
    const optout = verdict.mode === 'optout';
    const dropped = { events: verdict.droppedEvents, properties: 0 };
    const rules = noRuleCounts();
    // (opt-out writes no record: no pseudonym, no record id)
    const visitor = verdict.visitorId ? deps.pseudonymiser.pseudonymise(input.site, verdict.visitorId) : undefined;
    const idOf = optout ? undefined : recordIds(input.site, input.idclient, input.rawBody);
    const walk: PropertyWalk = {
      keep: 'none',
      countDropped: optout,
      policy: input.policy,
      site: input.site,
      now,
      needles: optout ? [] : rawIdNeedles(input.idclient, now),
      pseudonymiser: deps.pseudonymiser,
      idScope: idOf ? clientIdScope(visitor, idOf(0), now) : '',
      rules,
      dropped,
    };
    // one walk per event: every property checked, the kept ones filtered and encoded
    const props: (string | undefined)[] = [];
    for (let i = 0; i < input.events.length; i++) {
      walk.keep = !verdict.kept[i] ? 'none' : verdict.mode === 'optin' ? 'all' : 'exempt';
      const out = walkProperties(input.events[i]!.data, walk);
      if (typeof out !== 'string')
        return { problem: { path: ['events', i, 'data', ...out.path], message: out.message } };
      props.push(verdict.kept[i] ? out : undefined);
    }

    if (verdict.mode === 'optout') {
      const key = optoutCounterKey(input.site, now);
      const counters = verdict.optoutEvents.map((field) => ({ key, field, ttlSeconds: deps.counterTtlSeconds }));
      return { entries: [], counters, mode: verdict.mode, dropped, rules };
    }

    // the raw address lives only in this expression
    const truncatedIp = anonymiseIp(extractClientIp(input.peer, input.forwardedFor, deps.isTrustedProxy));
    const geo = verdict.keepGeo ? deps.geolocator.lookup(truncatedIp) : undefined;
    const entries: StreamEntry[] = [];
    for (let i = 0; i < input.events.length; i++) {
      const propsJson = props[i];
      if (propsJson === undefined) continue;
      const id = idOf!(i);
      const record = {
        id,
        site: input.site,
        event: input.events[i]!.name,
        mode: verdict.mode,
        ...(input.tracker ? { tracker: input.tracker } : {}),
        ts: now,
        visitor,
        geo,
      };
      entries.push({ key: shardKey(deps.streamKeys, visitor, id), hit: encodeRecord(record, propsJson) });
    }
    return { entries, counters: [], mode: verdict.mode, dropped, rules };
  };
}
