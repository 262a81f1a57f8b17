// The hot path's one walk over an event's properties: every property is checked (the
// same problems as the edge schema, src/contract/wire.ts), filtered by the mode
// (the exempt allowlist and value rules, src/policy/), freed of the raw visitor id
// (src/pipeline/pseudonymise.ts), and written straight into the record's JSON text.
// It does in one pass what the reference path (test/helpers/reference-path.ts) does in
// three (validate, applyPrivacy + hideRawVisitorId, JSON.stringify of the record), with
// the same result: a property test holds the two equal (test/pipeline/encode.test.ts).
import type { HitRecord, PropertyValue } from '../contract/record.js';
import { DROP, exemptValue, isUserProperty, type RuleCounts } from '../policy/exempt-values.js';
import { isServerOwned } from '../policy/names.js';
import type { SitePolicy } from '../policy/sites.js';
import { type Pseudonymiser, withoutRawId } from './pseudonymise.js';
import { nameProblem, type PropertyProblem, valueProblem } from '../contract/wire.js';

export interface PropertyWalk {
  /** `all`: opt-in; `exempt`: the allowlist and value rules; `none`: check only (opt-out, dropped event). */
  keep: 'all' | 'exempt' | 'none';
  /** With `none`: count the properties as dropped (opt-out counts them; a dropped event's do not). */
  countDropped: boolean;
  policy: SitePolicy;
  site: string;
  now: number;
  /** The raw visitor id's forms to hide (rawIdNeedles). */
  needles: readonly string[];
  pseudonymiser: Pseudonymiser;
  /** What client-chosen ids are keyed with (clientIdScope). */
  idScope: string;
  rules: RuleCounts;
  dropped: { properties: number };
}

/**
 * Checks an event's properties and returns the JSON text of those kept (`{...}`), or
 * the first problem (its path relative to `data`).
 */
export function walkProperties(
  data: Record<string, PropertyValue> | undefined,
  w: PropertyWalk,
): string | PropertyProblem {
  if (data === undefined) return '{}';
  let json = '';
  let n = 0;
  for (const name in data) {
    const value = data[name]!;
    const problem = nameProblem(name, ++n, []) ?? valueProblem(value, 1, [name]);
    if (problem) return problem;
    if (w.keep === 'none') {
      if (w.countDropped) w.dropped.properties++;
      continue;
    }
    // the collector's own fields (geo, site, visitor, time): never the client's, in any mode
    if (isServerOwned(name)) {
      w.dropped.properties++;
      continue;
    }
    if (w.keep === 'exempt' && (isUserProperty(name) || !w.policy.exemptProperties.has(name))) {
      w.dropped.properties++;
      continue;
    }
    const kept = w.keep === 'exempt' ? exemptValue(name, value, w.rules, w.now, { masks: w.policy.masks }) : value;
    if (kept === DROP) {
      w.dropped.properties++;
      continue;
    }
    const out = withoutRawId(name, kept, w.site, w.needles, w.pseudonymiser, w.idScope);
    if (out === undefined) continue;
    // names are letters, digits and `_ : . $ -` (nameProblem): nothing to escape
    json += `${json === '' ? '{' : ','}"${name}":${JSON.stringify(out)}`;
  }
  return json === '' ? '{}' : `${json}}`;
}

// A geolocation is one of the geolocator's cached objects: its JSON is made once.
const geoJson = new WeakMap<object, string>();

/**
 * The record's JSON text, the same bytes as JSON.stringify(buildRecord(...)) with
 * `props` already encoded (walkProperties).
 */
export function encodeRecord(r: Omit<HitRecord, 'props'>, propsJson: string): string {
  // id and visitor are base64url and dots, mode and tracker fixed words: nothing to escape
  let json = `{"id":"${r.id}","site":${JSON.stringify(r.site)},"event":${JSON.stringify(r.event)},"mode":"${r.mode}"`;
  if (r.tracker) json += `,"tracker":"${r.tracker}"`;
  json += `,"ts":${r.ts}`;
  if (r.visitor) json += `,"visitor":"${r.visitor}"`;
  if (r.geo) {
    let g = geoJson.get(r.geo);
    if (g === undefined) geoJson.set(r.geo, (g = JSON.stringify(r.geo)));
    json += `,"geo":${g}`;
  }
  return `${json},"props":${propsJson}}`;
}
