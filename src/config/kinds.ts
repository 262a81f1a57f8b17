// The kinds of value a setting can hold. Each is a zod schema over the variable's raw
// text (undefined when unset) whose output is the typed value. A refusal is an issue
// whose message the operator reads after "invalid configuration: <VAR>: ", which is why
// messages quote the value as it was written, spaces included.
import { z } from 'zod';

export type Ctx = z.core.$RefinementCtx;

/** What loadEnv's deep freeze makes of a configuration (a key's secret Buffer stays as it is). */
export type DeepReadonly<T> = T extends Buffer
  ? T
  : T extends readonly (infer U)[]
    ? readonly DeepReadonly<U>[]
    : T extends object
      ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
      : T;

/**
 * Refuses the value being parsed; a rule that spans several variables names the one
 * it blames (`variable`). Returns z.NEVER, so `return refuse(...)` ends a transform.
 */
export function refuse(ctx: Ctx, message: string, variable?: string): never {
  ctx.addIssue({ code: 'custom', message, input: ctx.value, ...(variable === undefined ? {} : { path: [variable] }) });
  return z.NEVER;
}

/** Text settings: trimmed, and blank counts as unset (so `X=` in a compose file means the default). */
export const trimmed = <T extends z.ZodType>(schema: T) =>
  z.preprocess((raw: unknown) => (typeof raw === 'string' ? raw.trim() || undefined : raw), schema);

/** Trimmed text, `fallback` when unset. */
export const text = (fallback: string) => trimmed(z.string().default(fallback));

/** Trimmed text, undefined when unset. */
export const optionalText = () => trimmed(z.string().optional());

/**
 * A whole number from min to max. Only an empty value means the default: spaces alone
 * are refused, as they always were.
 */
export function integer(opts: { default: number; min: number; max: number }) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => readInteger(raw, opts, ctx));
}

/** A TCP port, or `off`: undefined, for a listener that is not started. */
export function portOrOff(opts: { default: number }) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) =>
      raw?.trim().toLowerCase() === 'off' ? undefined : readInteger(raw, { ...opts, min: 0, max: 65535 }, ctx),
    );
}

function readInteger(raw: string | undefined, opts: { default: number; min: number; max: number }, ctx: Ctx): number {
  if (raw === undefined || raw === '') return opts.default;
  if (!/^\s*\d+\s*$/.test(raw)) return refuse(ctx, `expected an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < opts.min || n > opts.max) return refuse(ctx, `must be between ${opts.min} and ${opts.max}, got ${n}`);
  return n;
}

const ON = ['1', 'true', 'on', 'yes'];
const OFF = ['0', 'false', 'off', 'no'];

/** A switch: on/off, true/false, yes/no or 1/0, any case; blank is the default. */
export function onOff(opts: { default: boolean }) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const v = raw?.trim().toLowerCase();
      if (!v) return opts.default;
      if (ON.includes(v)) return true;
      if (OFF.includes(v)) return false;
      return refuse(ctx, `expected on or off, got "${raw}"`);
    });
}

const MONTH_MS = 30.44 * 24 * 3600 * 1000; // average Gregorian month

/** Parses `30d`, `12h`, `13 months`, `2 weeks`, `90m` (minutes), or plain milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|minutes?|h|hours?|d|days?|w|weeks?|mo|months?|y|years?)?\s*$/i.exec(
    text,
  );
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'ms').toLowerCase();
  const factor: Record<string, number> = {
    ms: 1,
    s: 1000,
    m: 60_000,
    min: 60_000,
    minute: 60_000,
    minutes: 60_000,
    h: 3_600_000,
    hour: 3_600_000,
    hours: 3_600_000,
    d: 86_400_000,
    day: 86_400_000,
    days: 86_400_000,
    w: 604_800_000,
    week: 604_800_000,
    weeks: 604_800_000,
    mo: MONTH_MS,
    month: MONTH_MS,
    months: MONTH_MS,
    y: 12 * MONTH_MS,
    year: 12 * MONTH_MS,
    years: 12 * MONTH_MS,
  };
  const f = factor[unit];
  return f === undefined ? undefined : Math.round(n * f);
}

export const MAX_RETENTION_MS = 25 * MONTH_MS;

/**
 * A duration (parseDuration), in milliseconds, from min to max; blank is the default.
 * With `off`, exactly `0` or `off` mean 0 (the feature is off). `refusal` words the
 * message from the text read and what it parsed to (undefined: not a duration).
 */
export function duration(opts: {
  default: string;
  min: number;
  max: number;
  off?: boolean;
  refusal: (text: string, ms: number | undefined) => string;
}) {
  return text(opts.default).transform((value, ctx) => {
    if (opts.off && (value === '0' || value.toLowerCase() === 'off')) return 0;
    const ms = parseDuration(value);
    return ms !== undefined && ms >= opts.min && ms <= opts.max ? ms : refuse(ctx, opts.refusal(value, ms));
  });
}

/**
 * A stream name or key prefix. No braces: in a shard key `<name>:{3}` (contract/keys.ts)
 * Redis Cluster hashes the first `{...}`, which must be the shard's.
 */
export const keyName = (fallback: string) =>
  trimmed(
    z
      .string()
      .regex(/^[^\s{}]{1,200}$/, 'must be 1-200 characters without spaces or braces')
      .default(fallback),
  );

/** The characters Redis consumer group and consumer names are kept to. */
export const MEMBER_NAME = /^[A-Za-z0-9_.:-]{1,100}$/;
export const MEMBER_NAME_RULE = 'must be 1-100 letters, digits, _ . : -';
