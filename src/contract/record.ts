// Record schema v1: what one accepted, non-opt-out event becomes, as downstream
// consumers read it from the stream. The collector writes it (src/pipeline/record.ts),
// the sink stores it, the reference aggregator reads it: all of them from here.
//
// One stream entry per record, fields `v` (the schema version) and `hit` (the record
// as JSON); erasure tombstones go to their own stream, fields `v` and `tombstone`.

import type { RecordMode, Tracker } from './modes.js';

export const RECORD_VERSION = 1;

/** A property value as the edge accepts it (src/contract/wire.ts bounds it). */
export type PropertyValue = string | number | boolean | null | PropertyValue[] | { [key: string]: PropertyValue };
export type Properties = Record<string, PropertyValue>;

/** City-level geolocation: each field absent when unknown. */
export interface RecordGeo {
  country?: string;
  region?: string;
  city?: string;
}

export interface HitRecord {
  /** Unique per event: the downstream dedupe key (delivery is at-least-once). */
  id: string;
  site: string;
  event: string;
  /** The mode applied: optin or exempt (opt-out hits never become records). */
  mode: RecordMode;
  /**
   * The tracker whose request the record was adapted from (`/matomo.php`, `/api/event`);
   * absent for the Piano SDK. The event and its properties are in the Piano vocabulary
   * either way: a consumer that ignores this field counts every record alike.
   */
  tracker?: Tracker;
  /** Server receive time, epoch milliseconds. */
  ts: number;
  /** `<keyId>.<pseudonym>`; absent when there is none. */
  visitor?: string;
  geo?: RecordGeo;
  props: Properties;
}

/** A key of visitor pseudonyms: its id prefixes every pseudonym made with it (`HitRecord.visitor`). */
export interface PseudonymKey {
  readonly id: string;
  readonly secret: Buffer;
}

/** One record on its way to the stream: the stream it goes to and its JSON text. */
export interface StreamEntry {
  readonly key: string;
  /** The record, JSON-encoded: the entry's `hit` field. */
  readonly hit: string;
}

/** One anonymous opt-out counter increment: HINCRBY key field 1, then EXPIRE. */
export interface CounterIncrement {
  readonly key: string;
  readonly field: string;
  readonly ttlSeconds: number;
}

/** A field of a stream entry, by name (`hit`, `tombstone`), from XRANGE/XREADGROUP's flat list. */
export function entryField(fields: readonly string[] | null | undefined, name: string): string | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function decodeJson(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** The record of a stream entry, or undefined when the entry holds none (or not the JSON of one). */
export function decodeRecord(fields: readonly string[] | null | undefined): HitRecord | undefined {
  const r = decodeJson(entryField(fields, 'hit')) as HitRecord | undefined;
  return r &&
    typeof r === 'object' &&
    typeof r.id === 'string' &&
    typeof r.site === 'string' &&
    typeof r.ts === 'number'
    ? r
    : undefined;
}

/**
 * An erasure (GDPR Art. 17), published on the erasures stream so that downstream
 * aggregates can purge the visitor: one tombstone per pseudonym key.
 */
export interface Tombstone {
  site: string;
  visitor: string;
  /** Erasure time, epoch ms: records of this visitor up to this time are erased. */
  ts: number;
}

/** The fields of a tombstone's stream entry. */
export const tombstoneFields = (t: Tombstone): string[] => [
  'v',
  String(RECORD_VERSION),
  'tombstone',
  JSON.stringify(t),
];

/** The tombstone of an erasures stream entry, or undefined. */
export function decodeTombstone(fields: readonly string[] | null | undefined): Tombstone | undefined {
  const t = decodeJson(entryField(fields, 'tombstone')) as Tombstone | undefined;
  return t &&
    typeof t === 'object' &&
    typeof t.site === 'string' &&
    typeof t.visitor === 'string' &&
    typeof t.ts === 'number'
    ? t
    : undefined;
}
