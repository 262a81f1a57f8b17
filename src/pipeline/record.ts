// The record step: one record v1 (src/contract/record.ts) per kept event, with an id
// consumers can dedupe on (the record itself is encoded by encode.ts; the same on
// objects, for tests, is test/helpers/reference-path.ts).
import { createHmac } from 'node:crypto';
import { createHmacSha256 } from './hmac.js';

/**
 * Record ids are derived from the request, keyed so they reveal nothing: the same
 * request sent again (the SDK resends a hit whose answer it did not get, a client
 * retries after a 503 whose write still landed) yields the same ids, so consumers
 * can drop the duplicates. Two real page views differ by the SDK's millisecond
 * `device_timestamp_utc` and `pageview_id`, so they never share an id.
 */
export function createRecordIds(
  secret: Buffer,
): (site: string, idclient: string | undefined, rawBody: string) => (index: number) => string {
  const hmac = createHmacSha256(createHmac('sha256', secret).update('record-id/v1').digest());
  return (site, idclient, rawBody) => {
    const base = hmac(
      `${Buffer.byteLength(site)}:${site}:` +
        `${idclient === undefined ? '-' : `${Buffer.byteLength(idclient)}:${idclient}`}:${rawBody}`,
    )
      .subarray(0, 16)
      .toString('base64url');
    return (index) => `${base}.${index}`;
  };
}
