// Record schema v1 (DESIGN §4): what one accepted, non-opt-out event becomes.
import { createHmac } from 'node:crypto';
import type { Geo } from './geolocate.js';
import { createHmacSha256 } from './hmac.js';
import type { Properties } from './validate.js';

export const RECORD_VERSION = 1;

export interface HitRecord {
  /** Unique per event: the downstream dedupe key (delivery is at-least-once). */
  id: string;
  site: string;
  event: string;
  mode: string;
  /** Server receive time, epoch milliseconds. */
  ts: number;
  /** `<keyId>.<pseudonym>`; absent when there is none. */
  visitor?: string;
  geo?: Geo;
  props: Properties;
}

/**
 * Record ids are derived from the request, keyed so they reveal nothing: the same
 * request sent again (the SDK resends a hit whose answer it did not get, a client
 * retries after a 503 whose write still landed) yields the same ids, so consumers
 * can drop the duplicates. Two real page views differ by the SDK's millisecond
 * `device_timestamp_utc` and `pageview_id`, so they never share an id.
 */
export function createRecordIds(secret: Buffer): (site: string, idclient: string | undefined, rawBody: string) => (index: number) => string {
  const hmac = createHmacSha256(createHmac('sha256', secret).update('record-id/v1').digest());
  return (site, idclient, rawBody) => {
    const base = hmac(`${Buffer.byteLength(site)}:${site}:${idclient === undefined ? '-' : `${Buffer.byteLength(idclient)}:${idclient}`}:${rawBody}`)
      .subarray(0, 16)
      .toString('base64url');
    return (index) => `${base}.${index}`;
  };
}

export function buildRecord(id: string, fields: Omit<HitRecord, 'id'>): HitRecord {
  return {
    id,
    site: fields.site,
    event: fields.event,
    mode: fields.mode,
    ts: fields.ts,
    ...(fields.visitor ? { visitor: fields.visitor } : {}),
    ...(fields.geo ? { geo: fields.geo } : {}),
    props: fields.props,
  };
}

/**
 * Opt-out hits only increment `optout:{<site>}:<UTC hour>`, field = the event's name
 * when it is on the site's event list, else `other` (privacy.ts): no page, no id, no
 * geo, nothing finer than the hour, and never more fields than the list + 1.
 * The hash tag keeps one site's counters on one Redis Cluster slot.
 */
export function optoutCounterKey(site: string, now: number): string {
  return `optout:{${site}}:${new Date(now).toISOString().slice(0, 13)}`;
}
