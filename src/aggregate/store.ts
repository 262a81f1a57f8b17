// Where the aggregates live, in Redis, and the two atomic updates that write them.
//
// Keys, all of one site under one hash tag (`{site}`: one Redis Cluster slot, so a
// Lua script may touch them together); D is a UTC day `YYYY-MM-DD`:
//   <prefix>:{S}:totals:D    hash  pageviews, visits, events
//   <prefix>:{S}:pv:D        hash  page → page views (page.display events)
//   <prefix>:{S}:geo:D       hash  `country|region|city` → visits
//   <prefix>:{S}:device:D    hash  device class → visits
//   <prefix>:{S}:src:D       hash  source → visits: the referrer's host, `(direct)` or
//                            `(internal)` (src/aggregate/sources.ts), at a visit's first event
//   <prefix>:{S}:visitors:D  hash  visitor pseudonym → last seen (ms): the day's distinct
//                            visitors (HLEN) and visit detection. A hash, not a
//                            HyperLogLog, because erasure must be able to remove a member.
//   <prefix>:{S}:dedupe:H    set   record ids seen in UTC hour H (duplicates are dropped)
//   <prefix>:{S}:erased:V    string  erasure time of visitor V: their records up to then are ignored
// Day keys expire when the oldest record they could hold leaves the streams (day
// start + retention), so aggregates are never kept longer than STREAM_RETENTION.
//
// Only counts leave this store (src/aggregate/report.ts); pseudonyms stay inside it.
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import type { HitRecord } from '../contract/record.js';
import { sourceOfHit } from './sources.js';

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** A visitor's events more than this apart start a new visit. */
const VISIT_GAP_MS = 30 * 60_000;

export const utcDay = (ts: number) => new Date(ts).toISOString().slice(0, 10);
const utcHour = (ts: number) => new Date(ts).toISOString().slice(0, 13);

/**
 * Device class, from properties the exempt allowlist keeps: `ch_ua_mobile` (the
 * browser's own mobile hint, Chromium) first, then `device_screen_width` (CSS px):
 * below 600 mobile, below 1025 tablet, else desktop.
 */
export function deviceClass(props: Record<string, unknown>): string {
  if (props.ch_ua_mobile === true) return 'mobile';
  const w = props.device_screen_width;
  if (typeof w === 'number' && w > 0) return w < 600 ? 'mobile' : w < 1025 ? 'tablet' : 'desktop';
  return 'unknown';
}

function geoCell(geo: HitRecord['geo']): string {
  return [geo?.country ?? '', geo?.region ?? '', geo?.city ?? ''].join('|');
}

export class AggregateKeys {
  constructor(readonly prefix: string) {}
  site(site: string) {
    return `${this.prefix}:{${site}}`;
  }
  day(site: string, kind: 'totals' | 'pv' | 'geo' | 'device' | 'src' | 'visitors', day: string) {
    return `${this.site(site)}:${kind}:${day}`;
  }
  dedupe(site: string, ts: number) {
    return `${this.site(site)}:dedupe:${utcHour(ts)}`;
  }
  erased(site: string, visitor: string) {
    return `${this.site(site)}:erased:${visitor}`;
  }
}

// The two atomic updates, read at start: src/aggregate/apply-record.lua returns 1 applied,
// 0 duplicate, 2 ignored (visitor erased); src/aggregate/apply-tombstone.lua (KEYS[1] the
// erased marker, KEYS[2..] the visitor hashes of every day kept) returns members removed.
const APPLY_RECORD = readFileSync(new URL('./apply-record.lua', import.meta.url), 'utf8');
const APPLY_TOMBSTONE = readFileSync(new URL('./apply-tombstone.lua', import.meta.url), 'utf8');

export type ApplyOutcome = 'applied' | 'duplicate' | 'erased';

interface ScriptClient {
  aggApplyRecord(...args: (string | number)[]): Promise<number>;
  aggApplyTombstone(...args: (string | number)[]): Promise<number>;
}

export class AggregateStore {
  readonly keys: AggregateKeys;
  readonly #redis: (Redis | Cluster) & ScriptClient;

  constructor(
    redis: Redis | Cluster,
    prefix: string,
    private readonly retentionMs: number,
    private readonly dedupeWindowMs: number,
  ) {
    this.keys = new AggregateKeys(prefix);
    redis.defineCommand('aggApplyRecord', { numberOfKeys: 9, lua: APPLY_RECORD });
    redis.defineCommand('aggApplyTombstone', { lua: APPLY_TOMBSTONE });
    this.#redis = redis as (Redis | Cluster) & ScriptClient;
  }

  /** Counts one record, atomically with its dedupe mark: a replay is a no-op. */
  async applyRecord(r: HitRecord): Promise<ApplyOutcome> {
    const k = this.keys;
    const day = utcDay(r.ts);
    const dayStart = Date.parse(`${day}T00:00:00Z`);
    const pageview = r.event === 'page.display';
    const page = typeof r.props.page === 'string' && r.props.page !== '' ? r.props.page : '(none)';
    const out = await this.#redis.aggApplyRecord(
      k.dedupe(r.site, r.ts),
      k.dedupe(r.site, r.ts - HOUR_MS),
      k.erased(r.site, r.visitor ?? '-'),
      k.day(r.site, 'visitors', day),
      k.day(r.site, 'pv', day),
      k.day(r.site, 'geo', day),
      k.day(r.site, 'device', day),
      k.day(r.site, 'totals', day),
      k.day(r.site, 'src', day),
      r.id,
      r.visitor ?? '',
      r.ts,
      pageview ? '1' : '0',
      page,
      geoCell(r.geo),
      deviceClass(r.props),
      dayStart + this.retentionMs,
      this.dedupeWindowMs,
      VISIT_GAP_MS,
      sourceOfHit(r.props),
    );
    return out === 1 ? 'applied' : out === 2 ? 'erased' : 'duplicate';
  }

  /**
   * Removes an erased visitor from the distinct-visitor sets of every day that can
   * still exist, and remembers the erasure so records up to `ts` still in flight are
   * ignored. Page-view and visit counters are anonymous sums and are left as they are.
   */
  async applyTombstone(t: { site: string; visitor: string; ts: number }): Promise<number> {
    const days: string[] = [];
    for (let d = t.ts; d >= t.ts - this.retentionMs - DAY_MS; d -= DAY_MS)
      days.push(this.keys.day(t.site, 'visitors', utcDay(d)));
    return this.#redis.aggApplyTombstone(
      days.length + 1,
      this.keys.erased(t.site, t.visitor),
      ...days,
      t.visitor,
      t.ts,
      this.retentionMs,
    );
  }
}
