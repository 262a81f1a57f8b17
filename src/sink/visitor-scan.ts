// Finding one visitor's records in the streams, for access (GDPR Art. 15) and
// erasure (Art. 17) requests. Streams are not indexed by visitor, so this reads
// them: XRANGE pages of SCAN_PAGE entries, shard after shard, and a cheap substring
// test on the raw JSON before any parse. It is bounded by a number of entries and a
// time budget; when a bound is reached the caller gets `complete: false` and an
// opaque cursor to continue from, rather than a silently partial answer.
import type { Cluster, Redis } from 'ioredis';
import { decodeRecord, entryField, type HitRecord } from '../contract/record.js';

const SCAN_PAGE = 1000;

export interface ScanBounds {
  maxEntries: number;
  timeMs: number;
}

export interface ScanResult {
  /** The visitor's records, oldest first within each shard. */
  records: HitRecord[];
  /** Stream entries read by this call. */
  scanned: number;
  /** Records deleted (erasure only). */
  deleted: number;
  complete: boolean;
  /** Where to continue when complete is false: pass it back as `cursor`. */
  cursor?: string;
}

/** A cursor this scan did not hand out (malformed, or past the shards): the caller's mistake. */
export class InvalidCursorError extends Error {
  readonly code = 'ERR_INVALID_CURSOR';
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

/** `<shard index>:<last stream id read>`; throws an InvalidCursorError. */
function parseCursor(cursor: string | undefined, shards: number): { shard: number; after: string | undefined } {
  if (!cursor) return { shard: 0, after: undefined };
  const m = /^(\d{1,4}):(\d{1,20}-\d{1,20})$/.exec(cursor);
  if (!m || Number(m[1]) >= shards) throw new InvalidCursorError();
  return { shard: Number(m[1]), after: m[2] };
}

/**
 * Reads the streams for records of `site` carrying one of `visitors`
 * (`<keyId>.<pseudonym>` under every key); with `erase`, deletes them (XDEL).
 */
export async function scanVisitor(
  redis: Redis | Cluster,
  keys: readonly string[],
  site: string,
  visitors: readonly string[],
  bounds: ScanBounds,
  opts: { erase?: boolean; cursor?: string; now?: () => number } = {},
): Promise<ScanResult> {
  const now = opts.now ?? Date.now;
  const deadline = now() + bounds.timeMs;
  const needles = visitors.map((v) => `"visitor":${JSON.stringify(v)}`);
  const wanted = new Set(visitors);
  const records: HitRecord[] = [];
  let scanned = 0;
  let deleted = 0;
  const start = parseCursor(opts.cursor, keys.length);

  for (let shard = start.shard; shard < keys.length; shard++) {
    const key = keys[shard]!;
    let after = shard === start.shard ? start.after : undefined;
    for (;;) {
      if (scanned >= bounds.maxEntries || now() >= deadline) {
        // an untouched shard resumes from its start: "(0-0" excludes nothing real
        return { records, scanned, deleted, complete: false, cursor: `${shard}:${after ?? '0-0'}` };
      }
      const count = Math.min(SCAN_PAGE, bounds.maxEntries - scanned);
      const page = await redis.xrange(key, after === undefined ? '-' : `(${after}`, '+', 'COUNT', count);
      if (page.length === 0) break;
      scanned += page.length;
      after = page[page.length - 1]![0];
      const matches: string[] = [];
      for (const [id, fields] of page) {
        const raw = entryField(fields, 'hit');
        if (!raw || !needles.some((n) => raw.includes(n))) continue;
        const rec = decodeRecord(fields);
        if (!rec || rec.site !== site || !rec.visitor || !wanted.has(rec.visitor)) continue;
        records.push(rec);
        matches.push(id);
      }
      if (opts.erase && matches.length > 0) deleted += Number(await redis.xdel(key, ...matches));
      if (page.length < count) break;
    }
  }
  return { records, scanned, deleted, complete: true };
}
