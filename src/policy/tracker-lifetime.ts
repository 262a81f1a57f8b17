// CNIL: the tracker lives at most 13 months and is not extended (Piano's _pcid: 395
// days, fixed). A hit whose tracker is older, or whose age cannot be read, or reads as
// in the future, keeps no visitor pseudonym (src/pipeline/privacy.ts asks trackerAge).
// This is the one place that reads a tracker's age, for every tracker: the Piano SDK's
// `cookie_creation_date` and its ids' own creation time, Matomo's `_idts`. A new tracker
// adds its own way of telling its age here (a TrackerCreation format), nowhere else.
import type { Properties } from '../contract/record.js';
import { TRACKER_LIFETIME_DAYS } from './allowlists.js';
import { readClientDate } from './exempt-values.js';

const DAY_MS = 86_400_000;
const TRACKER_LIFETIME_MS = TRACKER_LIFETIME_DAYS * DAY_MS;
/** Clock skew tolerated on a creation time before it counts as in the future. */
const FUTURE_TOLERANCE_MS = DAY_MS;

/**
 * A tracker's own statement of when it was created, as sent (the adapter does not read
 * it: this module does). `unix-seconds`: Matomo's `_idts`, whole seconds since 1970.
 */
export interface TrackerCreation {
  readonly format: 'unix-seconds';
  readonly raw: string;
}

/**
 * An id as a person would read it: percent-decoded until nothing changes, NFKC, without
 * blanks, control or invisible characters, lower case. Upper-casing an SDK id or
 * appending `%20` to it must not hide its creation time.
 */
export function canonicalId(id: string): string {
  let s = id;
  for (let i = 0; i < 8 && s.includes('%'); i++) {
    const decoded = decodeLoosely(s);
    if (decoded === s) break;
    s = decoded;
  }
  return s
    .normalize('NFKC')
    .replace(/[\s\p{Cc}\p{Cf}]/gu, '')
    .toLowerCase();
}

/** Percent-decoding that never throws: a malformed or partial sequence decodes what it can. */
function decodeLoosely(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s.replace(/%([0-9a-fA-F]{2})/g, (m, hex: string) => {
      const code = parseInt(hex, 16);
      return code < 0x80 ? String.fromCharCode(code) : m;
    });
  }
}

/**
 * The SDK-made id an id holds, and when it was made, or undefined for any other id.
 * The SDK's ids (`_pcid`) are 16 base-36 characters whose first 8 are the creation time
 * in ms (`mx1ai3fs…` = 2026-11-29T03:38:53Z), with `-NO` appended when it could not store
 * them. Read on the canonical form, so any letter case or encoding, and whatever follows
 * the 16 characters. A first half that reads as a time before the SDK existed, or more
 * than a tracker's lifetime ahead (no clock is that wrong), is a custom id
 * (setVisitorId), which carries no age of its own.
 */
export function sdkIdOf(id: string, now: number): { id: string; createdAt: number } | undefined {
  // (an id as the SDK writes it needs no canonical reading: the common case, kept cheap)
  const m = SDK_ID_START.exec(PLAIN_SDK_ID.test(id) ? id : canonicalId(id));
  if (!m) return undefined;
  const t = parseInt(m[1]!.slice(0, 8), 36);
  return t >= SDK_EPOCH_MS && t <= now + TRACKER_LIFETIME_MS ? { id: m[1]!, createdAt: t } : undefined;
}
const SDK_ID_START = /^([0-9a-z]{16})(?![0-9a-z])/;
const PLAIN_SDK_ID = /^[0-9a-z]{16}(?:-NO)?$/;
/** 2015-01-01: no Piano SDK id is older. */
const SDK_EPOCH_MS = 1_420_070_400_000;

/** When an SDK-made id was created (sdkIdOf), or undefined for any other id. */
export function sdkIdCreatedAt(id: string, now: number): number | undefined {
  return sdkIdOf(id, now)?.createdAt;
}

/**
 * Matomo's `_idts` as epoch ms: whole seconds, digits only, no sign, no fraction, no
 * leading zero; undefined otherwise (`abc`, `1000000000.5`, `-5`, and milliseconds,
 * which read as a date centuries ahead or do not fit).
 */
export function readUnixSeconds(raw: string): number | undefined {
  return /^[1-9][0-9]{0,10}$/.test(raw) ? Number(raw) * 1000 : undefined;
}

export type TrackerAge = 'ok' | 'expired' | 'unknown';

/** Expired, in the future (unknown), or ok, for one creation time; undefined: unreadable. */
function ageOf(createdAt: number | undefined, now: number): TrackerAge {
  if (createdAt === undefined || createdAt > now + FUTURE_TOLERANCE_MS) return 'unknown';
  return now - createdAt > TRACKER_LIFETIME_MS ? 'expired' : 'ok';
}

/**
 * The tracker may not outlive 13 months. Its age is read from every event's
 * `cookie_creation_date`, from an SDK-made id's own creation time, and from the
 * tracker's own statement (`created`: Matomo's `_idts`). Every source sent must be
 * readable and not in the future; one that is not makes the age unknown, and an
 * unknown age gets no pseudonym either. Expired wins over unknown.
 */
export function trackerAge(
  events: readonly { data?: Properties }[],
  idclient: string | undefined,
  now: number,
  created?: TrackerCreation,
): TrackerAge {
  const ages: TrackerAge[] = [];
  for (const e of events) {
    if (!e.data || !Object.hasOwn(e.data, 'cookie_creation_date')) continue;
    ages.push(ageOf(readClientDate(e.data.cookie_creation_date, now), now));
  }
  const sdkId = idclient === undefined ? undefined : sdkIdOf(idclient, now);
  if (sdkId !== undefined) ages.push(ageOf(sdkId.createdAt, now));
  if (created !== undefined) ages.push(ageOf(readUnixSeconds(created.raw), now));
  return ages.includes('expired') ? 'expired' : ages.includes('unknown') ? 'unknown' : 'ok';
}
