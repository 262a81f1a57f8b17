// CNIL: the tracker lives at most 13 months and is not extended (Piano's _pcid: 395
// days, fixed). A hit whose tracker is older, or whose age cannot be read, keeps no
// visitor pseudonym (src/pipeline/privacy.ts asks trackerAge).
import type { Properties } from '../contract/record.js';
import { TRACKER_LIFETIME_DAYS } from './allowlists.js';
import { readClientDate } from './exempt-values.js';

const TRACKER_LIFETIME_MS = TRACKER_LIFETIME_DAYS * 86_400_000;

/**
 * When an SDK-made visitor id was created, or undefined for any other id. The SDK's
 * ids (`_pcid`) are 16 base-36 characters whose first 8 are the creation time in ms
 * (`mx1ai3fs…` = 2026-11-29T03:38:53Z), with `-NO` appended when it could not store
 * them. An id whose first 8 characters read as a time before the SDK existed or in
 * the future is taken for a custom id (setVisitorId), which carries no age.
 */
export function sdkIdCreatedAt(id: string, now: number): number | undefined {
  if (!SDK_ID_SHAPE.test(id)) return undefined;
  const t = parseInt(id.slice(0, 8), 36);
  return t >= SDK_EPOCH_MS && t <= now + 86_400_000 ? t : undefined;
}
const SDK_ID_SHAPE = /^[0-9a-z]{16}(?:-NO)?$/;
/** 2015-01-01: no Piano SDK id is older. */
const SDK_EPOCH_MS = 1_420_070_400_000;

/**
 * The tracker may not outlive 13 months. Its age is read from every event's
 * `cookie_creation_date` and from an SDK-made id's own creation time; a date that
 * cannot be read (another format, a number, a date in the future) counts as unknown,
 * and an unknown age gets no pseudonym either.
 */
export function trackerAge(events: readonly { data?: Properties }[], idclient: string | undefined, now: number): 'ok' | 'expired' | 'unknown' {
  let unknown = false;
  for (const e of events) {
    if (!e.data || !Object.hasOwn(e.data, 'cookie_creation_date')) continue;
    const t = readClientDate(e.data.cookie_creation_date, now);
    if (t === undefined) unknown = true;
    else if (now - t > TRACKER_LIFETIME_MS) return 'expired';
  }
  const created = idclient === undefined ? undefined : sdkIdCreatedAt(idclient, now);
  if (created !== undefined && now - created > TRACKER_LIFETIME_MS) return 'expired';
  return unknown ? 'unknown' : 'ok';
}
