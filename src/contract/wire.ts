// The wire contract: what a hit may look like (docs/wire-format.md) and how its text is
// read (JSON with the prototype guard, the query string as the SDK writes it). Every
// route and tracker adapter reads hits through this module; everything past it works
// on typed, bounded values. Limits are sized from what piano-analytics-js really sends
// (docs/wire-format.md, "Input limits"), with generous headroom.
import sjson from 'secure-json-parse';
import { z } from 'zod';
import type { Properties } from './record.js';

export const LIMITS = Object.freeze({
  /** The most a browser lets a beacon or a keepalive fetch carry. */
  bodyBytes: 64 * 1024,
  eventsPerRequest: 50,
  propertiesPerEvent: 200,
  keyLength: 128,
  stringLength: 8192,
  arrayItems: 100,
  /** data → value → nested value: three levels under an event's data. */
  depth: 3,
  siteLength: 64,
  visitorIdLength: 256,
  eventNameLength: 128,
});

const KEY_RE = /^[A-Za-z0-9_:.$-]+$/;

/**
 * Why a property value is refused, or undefined. Hand-written rather than a zod
 * union so that the message says what is wrong (a union only says "invalid input")
 * and so that it stays cheap on the hot path.
 */
export interface PropertyProblem {
  path: (string | number)[];
  message: string;
}

export function valueProblem(value: unknown, depth: number, path: (string | number)[]): PropertyProblem | undefined {
  switch (typeof value) {
    case 'string':
      return value.length > LIMITS.stringLength
        ? { path, message: `string longer than ${LIMITS.stringLength} characters` }
        : undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : { path, message: 'number out of range' };
    case 'boolean':
      return undefined;
    case 'object': {
      if (value === null) return undefined;
      if (depth >= LIMITS.depth) return { path, message: `nested deeper than ${LIMITS.depth} levels` };
      if (Array.isArray(value)) {
        if (value.length > LIMITS.arrayItems) return { path, message: `array longer than ${LIMITS.arrayItems} items` };
        for (let i = 0; i < value.length; i++) {
          const p = valueProblem(value[i], depth + 1, [...path, i]);
          if (p) return p;
        }
        return undefined;
      }
      return objectProblem(value as Record<string, unknown>, depth + 1, path);
    }
    default:
      return { path, message: `unsupported value type ${typeof value}` };
  }
}

/** Why the n-th name `k` of an object is refused, or undefined. */
export function nameProblem(k: string, n: number, path: (string | number)[]): PropertyProblem | undefined {
  if (n > LIMITS.propertiesPerEvent) return { path, message: `more than ${LIMITS.propertiesPerEvent} properties` };
  if (k.length === 0 || k.length > LIMITS.keyLength)
    return { path: [...path, k], message: `property name must be 1-${LIMITS.keyLength} characters` };
  if (!KEY_RE.test(k))
    return { path: [...path, k], message: 'property name may only hold letters, digits and _ : . $ -' };
  return undefined;
}

function objectProblem(
  obj: Record<string, unknown>,
  depth: number,
  path: (string | number)[],
): PropertyProblem | undefined {
  let n = 0;
  for (const k in obj) {
    const p = nameProblem(k, ++n, path) ?? valueProblem(obj[k], depth, [...path, k]);
    if (p) return p;
  }
  return undefined;
}

const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

const properties = z.custom<Properties>(isObject, 'data must be an object').check((ctx) => {
  const p = objectProblem(ctx.value, 1, []);
  if (p) ctx.issues.push({ code: 'custom', message: p.message, path: p.path, input: ctx.value });
});

const eventName = z
  .string()
  .min(1, 'empty event name')
  .max(LIMITS.eventNameLength, `event name longer than ${LIMITS.eventNameLength} characters`)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'event name may only hold letters, digits and _ . : -');

export const eventSchema = z.object({ name: eventName, data: properties.optional() });
export type HitEvent = z.infer<typeof eventSchema>;

const eventsOf = <E extends z.ZodType>(event: E) =>
  z.object({
    events: z
      .array(event, 'events must be an array')
      .min(1, 'no event')
      .max(LIMITS.eventsPerRequest, `more than ${LIMITS.eventsPerRequest} events`),
  });

/** A hit's body, every property checked. */
export const bodySchema = eventsOf(eventSchema);

/**
 * The body's envelope only (events, names, data an object): the hot path checks the
 * properties in the same walk that filters and encodes them (src/pipeline/encode.ts),
 * with the same problems. When the envelope is refused, bodySchema says which problem
 * comes first, as it always did.
 */
export const envelopeSchema = eventsOf(
  z.object({ name: eventName, data: z.custom<Properties>(isObject, 'data must be an object').optional() }),
);

export const querySchema = z.object({
  s: z
    .string('site (s) is missing or repeated')
    .regex(new RegExp(`^[A-Za-z0-9_.-]{1,${LIMITS.siteLength}}$`), 'site (s) must be 1-64 letters, digits, _ . -'),
  idclient: z
    .string('idclient is repeated')
    .max(LIMITS.visitorIdLength, `idclient longer than ${LIMITS.visitorIdLength} characters`)

    .regex(/^[^\u0000-\u001f\u007f]*$/, 'idclient holds control characters')
    .optional(),
});

export interface ValidationProblem {
  path: string;
  message: string;
}

/** The first problem, with a dotted path (`events.0.data.page`). */
export function firstProblem(error: z.ZodError): ValidationProblem {
  const issue = error.issues[0];
  if (!issue) return { path: '', message: 'invalid' };
  return { path: issue.path.map(String).join('.'), message: issue.message };
}

/**
 * Reads `s` and `idclient` from the raw query string. The SDK does not URL-encode
 * them, so a literal `+` stays a `+` (not a space) and a malformed `%` sequence is
 * kept as written instead of failing the request. A repeated parameter is refused.
 */
export function rawQueryParams(url: string): Record<string, string | string[]> {
  const q = url.indexOf('?');
  const out = Object.create(null) as Record<string, string | string[]>;
  if (q === -1) return out;
  for (const pair of url.slice(q + 1).split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const name = safeDecode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : safeDecode(pair.slice(eq + 1));
    const prev = out[name];
    out[name] = prev === undefined ? value : ([] as string[]).concat(prev, value);
  }
  return out;
}

/** decodeURIComponent that keeps the input as written when it is malformed. */
export function safeDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** A JSON text's value, or why it was refused (in the collector's words, never quoting it). */
export type JsonReading = { ok: true; value: unknown } | { ok: false; problem: string };

/**
 * JSON whatever the content type says, refusing prototype-poisoning keys (`__proto__`,
 * `constructor.prototype`): Fastify's own guard covers only its JSON parser.
 */
export function readJson(text: string): JsonReading {
  try {
    // secure-json-parse's checks can only match a text that holds one of these (a key
    // spelled with \u escapes holds a backslash-u): without them, plain JSON.parse is
    // the same parse, without two regex scans of the whole text
    if (
      text.charCodeAt(0) !== 0xfeff &&
      !text.includes('__proto__') &&
      !text.includes('constructor') &&
      !text.includes('\\u')
    ) {
      return { ok: true, value: JSON.parse(text) as unknown };
    }
    return { ok: true, value: sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/prototype|constructor/i.test(message)) {
      return { ok: false, problem: 'body holds a forbidden property name (__proto__ or constructor.prototype)' };
    }
    return { ok: false, problem: jsonSyntaxMessage(message) };
  }
}

/**
 * A JSON.parse error in the collector's words: what and where, never the client's text
 * (V8 quotes the body around the error: `Unexpected token 'o', "not json 203.0.113.9"
 * is not valid JSON`, which would send an address or an id back in the answer).
 */
export function jsonSyntaxMessage(parseError: string): string {
  const what = parseError.replace(/,\s*".*$/s, '').replace(/"[^"]*"/g, '"…"');
  return `body is not valid JSON: ${what.slice(0, 120)}`;
}
