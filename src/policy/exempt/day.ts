// day: cookie_creation_date is kept to the UTC day; a date that cannot be read is dropped
// (and, read by tracker-lifetime.ts, means no pseudonym).
import { BoundedCache } from '../../bounded-cache.js';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** Clock skew tolerated on a date from the client before it counts as unreadable. */
const FUTURE_TOLERANCE_MS = 86_400_000;

/**
 * An ISO 8601 date (as the SDK writes `cookie_creation_date`) as epoch ms, or
 * undefined when it cannot be read: not a string, another format, an impossible
 * date, or a date in the future (which would make a tracker look young forever).
 */
export function readClientDate(value: unknown, now: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const t = parsedDate(value)?.t;
  return t === undefined || t > now + FUTURE_TOLERANCE_MS ? undefined : t;
}

/** The UTC day of a readable client date (`2026-11-29`), else undefined. */
export function toDay(value: unknown, now: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const p = parsedDate(value);
  return p === undefined || p.t > now + FUTURE_TOLERANCE_MS ? undefined : p.day;
}

// A visitor sends the same cookie_creation_date with every hit (and the SDK writes it
// to the minute): parsed dates are remembered, a few thousand at most.
const dates = new BoundedCache<string, { t: number; day: string } | undefined>(4096);

function parsedDate(value: string): { t: number; day: string } | undefined {
  return dates.getOrCompute(value, parseDate);
}

function parseDate(value: string): { t: number; day: string } | undefined {
  let p: { t: number; day: string } | undefined;
  const m = ISO_DATE.exec(value);
  if (m) {
    const t =
      m[4] === undefined
        ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T00:00:00Z`)
        : Date.parse(m[7] === undefined ? `${value}Z` : value);
    // Date.parse rolls 2026-02-31 over into March: refuse what it had to repair
    const real =
      new Date(Date.parse(`${m[1]}-${m[2]}-${m[3]}T12:00:00Z`)).toISOString().slice(0, 10) ===
      `${m[1]}-${m[2]}-${m[3]}`;
    if (Number.isFinite(t) && real) p = { t, day: new Date(t).toISOString().slice(0, 10) };
  }
  return p;
}
