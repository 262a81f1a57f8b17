// The reference path: the privacy rules spelled out on objects, one step at a time —
// applyPrivacy (mode, events, exempt values), hideRawVisitorId, buildRecord, toEntry —
// which the hot path (src/pipeline/encode.ts: one walk, JSON written as it goes) must
// equal (test/pipeline/encode.test.ts). Only tests use it, so it lives under test/.
import { shardKey } from '../../src/contract/keys.js';
import type { HitRecord, Properties, StreamEntry } from '../../src/contract/record.js';
import { DROP, exemptValue, isUserProperty, noRuleCounts, type RuleCounts } from '../../src/policy/exempt-values.js';
import { isServerOwned } from '../../src/policy/names.js';
import type { SitePolicy } from '../../src/policy/sites.js';
import { decidePrivacy, type KeptEvent, type PrivacyDecision, type PrivacyInput } from '../../src/pipeline/privacy.js';
import { type Pseudonymiser, rawIdNeedles, withoutRawId } from '../../src/pipeline/pseudonymise.js';

function exemptProps(
  data: Properties | undefined,
  policy: SitePolicy,
  dropped: { properties: number },
  rules: RuleCounts,
  now: number,
): Properties {
  const out: Properties = {};
  if (!data) return out;
  for (const name in data) {
    if (isServerOwned(name) || isUserProperty(name) || !policy.exemptProperties.has(name)) {
      dropped.properties++;
      continue;
    }
    const v = exemptValue(name, data[name]!, rules, now, { masks: policy.masks });
    if (v === DROP) dropped.properties++;
    else out[name] = v;
  }
  return out;
}

/** Opt-in keeps every property but the collector's own fields (geo, site, visitor, time). */
function withoutServerOwned(data: Properties | undefined, dropped: { properties: number }): Properties {
  const out: Properties = {};
  for (const name in data ?? {}) {
    if (isServerOwned(name)) dropped.properties++;
    else out[name] = data![name]!;
  }
  return out;
}

/** The privacy step on objects: the kept events with their filtered properties. */
export function applyPrivacy(input: PrivacyInput): PrivacyDecision {
  const { kept, droppedEvents, ...verdict } = decidePrivacy(input);
  const dropped = { events: droppedEvents, properties: 0 };
  const rules = noRuleCounts();
  const events: KeptEvent[] = [];
  input.events.forEach((e, index) => {
    if (verdict.mode === 'optout') for (const _ in e.data ?? {}) dropped.properties++;
    else if (!kept[index]) return;
    else if (verdict.mode === 'optin') events.push({ index, name: e.name, props: withoutServerOwned(e.data, dropped) });
    else events.push({ index, name: e.name, props: exemptProps(e.data, input.policy, dropped, rules, input.now) });
  });
  return { ...verdict, events, dropped, rules };
}

/**
 * The raw visitor id never leaves the request: SDK-made ids are keyed (`idScope`:
 * clientIdScope), the raw id and its halves inside kept strings become "[visitor-id]".
 * Returns `props` itself when nothing changed.
 */
export function hideRawVisitorId(
  props: Properties,
  site: string,
  rawId: string | undefined,
  pseudonymiser: Pseudonymiser,
  now: number,
  idScope: string,
): Properties {
  const needles = rawIdNeedles(rawId, now);
  let out: Properties | undefined;
  for (const name in props) {
    const v = props[name]!;
    const w = withoutRawId(name, v, site, needles, pseudonymiser, idScope);
    if (w !== v) {
      out ??= { ...props };
      if (w === undefined) delete out[name];
      else out[name] = w;
    }
  }
  return out ?? props;
}

export function buildRecord(id: string, fields: Omit<HitRecord, 'id'>): HitRecord {
  return {
    id,
    site: fields.site,
    event: fields.event,
    mode: fields.mode,
    ...(fields.tracker ? { tracker: fields.tracker } : {}),
    ts: fields.ts,
    ...(fields.visitor ? { visitor: fields.visitor } : {}),
    ...(fields.geo ? { geo: fields.geo } : {}),
    props: fields.props,
  };
}

/** The stream entry of a record: its visitor's shard, its JSON text. */
export function toEntry(record: HitRecord, streamKeys: readonly string[]): StreamEntry {
  return { key: shardKey(streamKeys, record.visitor, record.id), hit: JSON.stringify(record) };
}
