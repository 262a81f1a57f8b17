// The record step: one record v1 (src/contract/record.ts) per kept event, with an id
// consumers can dedupe on, encoded for the stream shard of its visitor.
import { createHmac } from 'node:crypto';
import { shardKey } from '../contract/keys.js';
import type { HitRecord, StreamEntry } from '../contract/record.js';
import { createHmacSha256 } from './hmac.js';

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

/** The stream entry of a record: its visitor's shard, its JSON text. */
export function toEntry(record: HitRecord, streamKeys: readonly string[]): StreamEntry {
  return { key: shardKey(streamKeys, record.visitor, record.id), hit: JSON.stringify(record) };
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
