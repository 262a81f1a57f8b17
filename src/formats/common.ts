// Helpers shared by the tracker adapters. Internal to src/formats.
import { eventSchema, firstProblem, LIMITS, readJson, type HitEvent } from '../contract/wire.js';
import { FormatError } from './types.js';

/** The largest query string or body an adapter reads (the Piano path's body limit). */
export const MAX_INPUT_BYTES = LIMITS.bodyBytes;

export function refuseOversized(text: string, what: string, path: string): void {
  // cheap bound first: a UTF-16 code unit is at most 3 UTF-8 bytes
  if (text.length * 3 <= MAX_INPUT_BYTES) return;
  if (Buffer.byteLength(text, 'utf8') > MAX_INPUT_BYTES) {
    throw new FormatError(413, `${what} larger than ${MAX_INPUT_BYTES / 1024} KiB`, path);
  }
}

/** JSON with prototype-poisoning keys refused; never throws anything but FormatError. */
export function parseJson(text: string, path: string): unknown {
  const read = readJson(text);
  if (!read.ok) throw new FormatError(400, read.problem, path);
  return read.value;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A property name from free text: characters outside the collector's property-name set
 * become `_`, and the result is cut so that `prefix + name` fits in LIMITS.keyLength.
 */
export function sanitiseName(prefix: string, raw: string, maxTotal: number = LIMITS.keyLength): string {
  return prefix + raw.replace(/[^A-Za-z0-9_:.$-]/g, '_').slice(0, Math.max(0, maxTotal - prefix.length));
}

/**
 * The backstop: every event an adapter produces must pass the Piano path's own schema.
 * An adapter checks its inputs first, so this only fires on a combination it did not
 * foresee (too many properties, say); it then refuses the request rather than emit it.
 */
export function checkEvents(events: HitEvent[], path: string): HitEvent[] {
  for (const e of events) {
    const r = eventSchema.safeParse(e);
    if (!r.success) {
      const p = firstProblem(r.error);
      throw new FormatError(400, `${p.message}${p.path ? ` (${p.path})` : ''}`, path);
    }
  }
  return events;
}
