// The kinds of value (src/config/kinds.ts), on their own: what counts as unset, what is
// trimmed, and the messages, which quote the value as written.
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { duration, integer, keyName, onOff, parseDuration, portOrOff, text } from '../../src/config/kinds.js';

/** The value a kind reads from `raw`, or its refusal. */
function read(kind: z.ZodType, raw: string | undefined): { value: unknown } | { refused: string } {
  const r = kind.safeParse(raw);
  return r.success ? { value: r.data } : { refused: r.error.issues[0]!.message };
}

describe('parseDuration', () => {
  it('parses durations', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('13 months')).toBeGreaterThan(395 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('x')).toBeUndefined();
  });

  it('knows every unit, in any case, and plain milliseconds', () => {
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('90m')).toBe(90 * 60_000);
    expect(parseDuration('2 min')).toBe(120_000);
    expect(parseDuration('1 minute')).toBe(60_000);
    expect(parseDuration('2 HOURS')).toBe(7_200_000);
    expect(parseDuration(' 2 weeks ')).toBe(14 * 86_400_000);
    expect(parseDuration('1mo')).toBe(parseDuration('1 month'));
    expect(parseDuration('1y')).toBe(parseDuration('12 months'));
    expect(parseDuration('-1d')).toBeUndefined();
    expect(parseDuration('1e3')).toBeUndefined();
    expect(parseDuration('1 fortnight')).toBeUndefined();
  });
});

describe('integer', () => {
  const kind = integer({ default: 7, min: 1, max: 100 });

  it('is the default when unset or empty, and reads digits with spaces around', () => {
    expect(read(kind, undefined)).toEqual({ value: 7 });
    expect(read(kind, '')).toEqual({ value: 7 });
    expect(read(kind, ' 12 ')).toEqual({ value: 12 });
    expect(read(kind, '1')).toEqual({ value: 1 });
    expect(read(kind, '100')).toEqual({ value: 100 });
  });

  it('refuses anything else, quoting it as written', () => {
    expect(read(kind, '  ')).toEqual({ refused: 'expected an integer, got "  "' });
    expect(read(kind, ' x')).toEqual({ refused: 'expected an integer, got " x"' });
    for (const raw of ['-1', '1.5', '1e3', '0x10', '10s'])
      expect(read(kind, raw)).toEqual({ refused: `expected an integer, got "${raw}"` });
    expect(read(kind, '0')).toEqual({ refused: 'must be between 1 and 100, got 0' });
    expect(read(kind, '101')).toEqual({ refused: 'must be between 1 and 100, got 101' });
    expect(read(kind, '9'.repeat(400))).toEqual({ refused: 'must be between 1 and 100, got Infinity' });
  });
});

describe('portOrOff', () => {
  const kind = portOrOff({ default: 8081 });
  it('is a port from 0 to 65535, or off in any case', () => {
    expect(read(kind, undefined)).toEqual({ value: 8081 });
    expect(read(kind, '0')).toEqual({ value: 0 });
    expect(read(kind, '65535')).toEqual({ value: 65535 });
    expect(read(kind, ' Off ')).toEqual({ value: undefined });
    expect(read(kind, '65536')).toEqual({ refused: 'must be between 0 and 65535, got 65536' });
    expect(read(kind, 'none')).toEqual({ refused: 'expected an integer, got "none"' });
  });
});

describe('onOff', () => {
  const kind = onOff({ default: false });
  it('reads the usual words for on and off, in any case; blank is the default', () => {
    for (const raw of ['1', 'true', 'on', 'yes', ' ON ', 'Yes']) expect(read(kind, raw)).toEqual({ value: true });
    for (const raw of ['0', 'false', 'off', 'no', 'FALSE']) expect(read(kind, raw)).toEqual({ value: false });
    for (const raw of [undefined, '', '  ']) expect(read(kind, raw)).toEqual({ value: false });
    expect(read(onOff({ default: true }), undefined)).toEqual({ value: true });
    expect(read(kind, ' maybe ')).toEqual({ refused: 'expected on or off, got " maybe "' });
  });
});

describe('text and keyName', () => {
  it('trims, and blank is the default', () => {
    expect(read(text('d'), ' x ')).toEqual({ value: 'x' });
    expect(read(text('d'), '   ')).toEqual({ value: 'd' });
    expect(read(text('d'), undefined)).toEqual({ value: 'd' });
  });

  it('keeps key names to 1-200 characters without spaces or braces', () => {
    const kind = keyName('hits');
    expect(read(kind, undefined)).toEqual({ value: 'hits' });
    expect(read(kind, ' a:b ')).toEqual({ value: 'a:b' });
    expect(read(kind, 'x'.repeat(200))).toEqual({ value: 'x'.repeat(200) });
    for (const raw of ['a b', 'a{b}', '{x}', 'x'.repeat(201)])
      expect(read(kind, raw)).toEqual({ refused: 'must be 1-200 characters without spaces or braces' });
  });
});

describe('duration', () => {
  const kind = duration({ default: '1h', min: 1000, max: 86_400_000, refusal: (value, ms) => `${value} → ${ms}` });
  it('reads a duration between its bounds; blank is the default', () => {
    expect(read(kind, undefined)).toEqual({ value: 3_600_000 });
    expect(read(kind, ' ')).toEqual({ value: 3_600_000 });
    expect(read(kind, '1s')).toEqual({ value: 1000 });
    expect(read(kind, ' 24h ')).toEqual({ value: 86_400_000 });
  });

  it('words its refusal from the trimmed text and what it parsed to', () => {
    expect(read(kind, ' 999ms ')).toEqual({ refused: '999ms → 999' });
    expect(read(kind, '25h')).toEqual({ refused: '25h → 90000000' });
    expect(read(kind, 'soon')).toEqual({ refused: 'soon → undefined' });
  });

  it('reads exactly 0 or off as 0 when the setting can be off', () => {
    const off = duration({ default: '10m', off: true, min: 1000, max: 86_400_000, refusal: () => 'no' });
    expect(read(off, '0')).toEqual({ value: 0 });
    expect(read(off, ' OFF ')).toEqual({ value: 0 });
    expect(read(off, '00')).toEqual({ refused: 'no' });
    expect(read(kind, 'off')).toEqual({ refused: 'off → undefined' });
  });
});
