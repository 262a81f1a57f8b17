// Where things live in Redis, as consumers find them.
// Records: with N shards, `<key>:{0}` … `<key>:{N-1}` (one stream `<key>` when N = 1);
// the hash tag keeps each shard in one Redis Cluster slot. A visitor always maps to the
// same shard, so one visitor's events stay in order.
// Opt-out counters: `optout:{<site>}:<UTC hour>`, one hash per site and hour.
// Set-apart counters (robots, referrer spam): `setapart:{<site>}:<UTC hour>`, likewise.

/** FNV-1a, 32 bits: cheap and stable across processes and versions. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function streamKeys(base: string, shards: number): string[] {
  return shards <= 1 ? [base] : Array.from({ length: shards }, (_, i) => `${base}:{${i}}`);
}

/** The stream for a record: by visitor pseudonym, else by record id. */
export function shardKey(keys: readonly string[], visitor: string | undefined, recordId: string): string {
  if (keys.length === 1) return keys[0]!;
  return keys[fnv1a(visitor ?? recordId) % keys.length]!;
}

/**
 * The opt-out counters of a site for one UTC hour (`optout:{123456}:2026-11-29T14`).
 * Fields: the event's name when it is on the site's event list, else `other`; no page,
 * no id, no geolocation, nothing finer than the hour. The hash tag keeps one site's
 * counters on one Redis Cluster slot.
 */
export function optoutCounterKey(site: string, now: number): string {
  return `optout:{${site}}:${new Date(now).toISOString().slice(0, 13)}`;
}

/** Why a hit was set apart rather than stored as audience: the fields of setApartCounterKey. */
export const SET_APART_REASONS = ['robot', 'spam'] as const;
export type SetApartReason = (typeof SET_APART_REASONS)[number];

/**
 * The set-apart counters of a site for one UTC hour (`setapart:{123456}:2026-11-29T14`):
 * hits from robots or with a referrer-spam referrer, not audience. Fields: the reason
 * (`robot`, `spam`) only; no page, no id, no User-Agent, nothing finer than the hour.
 */
export function setApartCounterKey(site: string, now: number): string {
  return `setapart:{${site}}:${new Date(now).toISOString().slice(0, 13)}`;
}
