import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Properties, PropertyValue } from '../../src/contract/record.js';
import { TRACKER_LIFETIME_DAYS } from '../../src/policy/allowlists.js';
import {
  canonicalId,
  readUnixSeconds,
  sdkIdCreatedAt,
  sdkIdOf,
  trackerAge,
} from '../../src/policy/tracker-lifetime.js';

const NOW = Date.parse('2026-12-03T08:00:00Z');
const DAY = 86_400_000;
const LIFETIME = TRACKER_LIFETIME_DAYS * DAY;
/** An id made as the SDK makes them: creation time in base 36, then 8 random characters. */
const sdkId = (createdAt: number, suffix = '') => `${createdAt.toString(36).padStart(8, '0')}k3j5h7g9${suffix}`;
const made = (date: number | string) => [
  { data: { cookie_creation_date: typeof date === 'number' ? new Date(date).toISOString() : date } },
];

describe('tracker lifetime (13 months, never extended)', () => {
  it('is 13 months', () => {
    expect(TRACKER_LIFETIME_DAYS).toBeGreaterThanOrEqual(390);
    expect(TRACKER_LIFETIME_DAYS).toBeLessThanOrEqual(396);
  });

  it('reads an SDK id’s creation time, and no time from other ids', () => {
    expect(sdkIdCreatedAt(sdkId(NOW - DAY), NOW)).toBe(NOW - DAY);
    expect(sdkIdCreatedAt(sdkId(NOW - DAY, '-NO'), NOW)).toBe(NOW - DAY);
    expect(new Date(sdkIdCreatedAt('mx1ai3fsjp7z2jhr', NOW)!).toISOString()).toMatch(/^2026-11-29T03:38:53/); // a real SDK id
    for (const custom of [
      'user-42',
      'mx1ai3fsjp7z2jh',
      'xmx1ai3fsjp7z2jhr',
      '0000000000000000',
      'zzzzzzzzzzzzzzzz',
      sdkId(NOW + LIFETIME + DAY),
    ]) {
      expect(sdkIdCreatedAt(custom, NOW), custom).toBeUndefined();
    }
  });

  it('reads an SDK id in any letter case and any encoding, whatever follows it', () => {
    const t = sdkIdCreatedAt('mx1ai3fsjp7z2jhr', NOW);
    for (const form of [
      'MX1AI3FSJP7Z2JHR',
      'mx1ai3fsjp7z2jhr ',
      'mx1ai3fsjp7z2jhr%20',
      'mx1ai3fsjp7z2jhr%2520',
      ' Mx1Ai3FsJp7Z2JhR',
      '%6Dx1ai3fsjp7z2jhr',
      '%256D%2578%2531ai3fsjp7z2jhr',
      'mx1ai3fs\u200bjp7z2jhr',
      'ｍｘ１ａｉ３ｆｓｊｐ７ｚ２ｊｈｒ',
      'mx1ai3fsjp7z2jhr-YES',
      'mx1ai3fsjp7z2jhr-no',
      'mx1ai3fsjp7z2jhr+',
      'mx1ai3fsjp7z2jhr%ZZ',
    ]) {
      expect(sdkIdCreatedAt(form, NOW), form).toBe(t);
    }
    expect(sdkIdOf('MX1AI3FSJP7Z2JHR%20', NOW)?.id).toBe('mx1ai3fsjp7z2jhr');
    expect(canonicalId('A%2520b\tC')).toBe('abc');
  });

  it('an expired SDK id sent upper-cased or with %20 appended is expired; a future one is unknown', () => {
    const old = sdkId(NOW - LIFETIME - DAY);
    for (const form of [old.toUpperCase(), `${old}%20`, `${old} `, `${old.toUpperCase()}-NO`])
      expect(trackerAge([], form, NOW), form).toBe('expired');
    expect(trackerAge([], sdkId(NOW + 2 * DAY), NOW)).toBe('unknown');
    expect(trackerAge([], sdkId(NOW + 2 * DAY).toUpperCase(), NOW)).toBe('unknown');
  });

  it("reads Matomo's _idts strictly: whole seconds, else unknown; older than 13 months, expired", () => {
    const idts = (raw: string) => trackerAge([], '5d4f2a9c0b7e13f8', NOW, { format: 'unix-seconds', raw });
    expect(idts(String(Math.floor((NOW - DAY) / 1000)))).toBe('ok');
    expect(idts(String(Math.floor((NOW - LIFETIME - DAY) / 1000)))).toBe('expired');
    for (const bad of [
      'abc',
      '1000000000.5',
      '-5',
      '',
      ' 1765000000',
      '01765000000',
      '1e9',
      String(NOW - DAY),
      String(Math.floor((NOW + 2 * DAY) / 1000)),
    ]) {
      expect(idts(bad), bad).toBe('unknown');
    }
    expect(readUnixSeconds('1600000000')).toBe(1_600_000_000_000);
    // a readable cookie date does not make an unreadable _idts readable
    expect(trackerAge(made(NOW - DAY), '5d4f2a9c0b7e13f8', NOW, { format: 'unix-seconds', raw: 'abc' })).toBe(
      'unknown',
    );
  });

  it('is ok up to the lifetime and expired one millisecond after, by the date or by the id', () => {
    expect(trackerAge(made(NOW - LIFETIME), undefined, NOW)).toBe('ok');
    expect(trackerAge(made(NOW - LIFETIME - 1), undefined, NOW)).toBe('expired');
    expect(trackerAge([], sdkId(NOW - LIFETIME), NOW)).toBe('ok');
    expect(trackerAge([], sdkId(NOW - LIFETIME - 1), NOW)).toBe('expired');
    // a fresh date does not make an old id young again
    expect(trackerAge(made(NOW - DAY), sdkId(NOW - LIFETIME - DAY), NOW)).toBe('expired');
  });

  it('is unknown when a date cannot be read; expired wins over unknown', () => {
    for (const bad of ['2026-11-29 ', 'yesterday', '2026-02-30', new Date(NOW + 2 * DAY).toISOString()]) {
      expect(trackerAge(made(bad), undefined, NOW), bad).toBe('unknown');
    }
    expect(trackerAge([{ data: { cookie_creation_date: 1795923480000 } }], undefined, NOW)).toBe('unknown');
    expect(trackerAge([{ data: { cookie_creation_date: ['2026-11-29'] } }], undefined, NOW)).toBe('unknown');
    expect(trackerAge([...made('garbage'), ...made(NOW - LIFETIME - DAY)], undefined, NOW)).toBe('expired');
  });

  it('looks at every event of the request, and at none that has no date', () => {
    expect(trackerAge([{ data: {} }, {}, ...made(NOW - DAY)], 'custom-id', NOW)).toBe('ok');
    expect(trackerAge([...made(NOW - DAY), ...made(NOW - LIFETIME - DAY)], undefined, NOW)).toBe('expired');
    expect(trackerAge([], undefined, NOW)).toBe('ok');
  });
});

// Property tests: whatever shape an age is sent in, a tracker whose age cannot be read,
// is in the future or is older than 13 months never gets an 'ok' (so never a pseudonym).
const pctEncode = (c: string) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
/** An id written otherwise: random letter case, some characters percent-encoded (once or twice), junk after it. */
const disguisedId = (id: string) =>
  fc
    .tuple(
      fc.array(fc.constantFrom('upper', 'lower', 'pct', 'pct2'), { minLength: id.length, maxLength: id.length }),
      fc.constantFrom('', '%20', ' ', '+', '-NO', '-no', '%2520', '\u200b', '%0A', '#'),
    )
    .map(
      ([forms, tail]) =>
        [...id]
          .map((c, i) => {
            const f = forms[i]!;
            return f === 'upper'
              ? c.toUpperCase()
              : f === 'lower'
                ? c
                : f === 'pct'
                  ? pctEncode(c)
                  : pctEncode(c).replace('%', '%25');
          })
          .join('') + tail,
    );
const pastLifetime = fc
  .integer({ min: NOW - 10 * 365 * DAY, max: NOW - LIFETIME - 1 })
  .filter((t) => t >= Date.parse('2015-01-01'));
const future = fc.integer({ min: NOW + 2 * DAY, max: NOW + LIFETIME });

describe('tracker lifetime: generated ages never pass', () => {
  it('an expired SDK id, in any case and encoding, is expired', () => {
    fc.assert(
      fc.property(
        pastLifetime.chain((t) => disguisedId(sdkId(t))),
        (id) => trackerAge([], id, NOW) === 'expired',
      ),
      { numRuns: 500 },
    );
  });

  it('an SDK id from the future, in any case and encoding, is unknown', () => {
    fc.assert(
      fc.property(
        future.chain((t) => disguisedId(sdkId(t))),
        (id) => trackerAge([], id, NOW) === 'unknown',
      ),
      { numRuns: 300 },
    );
  });

  it("Matomo's _idts: unreadable, fractional, negative, milliseconds, future or expired is never ok", () => {
    const seconds = (t: number) => String(Math.floor(t / 1000));
    const raw = fc.oneof(
      fc.string({ maxLength: 14 }).filter((s) => !/^[1-9][0-9]{0,10}$/.test(s)),
      fc
        .tuple(fc.integer({ min: 1, max: 2_000_000_000 }), fc.integer({ min: 1, max: 999 }))
        .map(([a, b]) => `${a}.${b}`),
      fc.integer({ min: 1, max: 2_000_000_000 }).map((n) => `-${n}`),
      fc.integer({ min: NOW - LIFETIME + DAY, max: NOW }).map(String), // milliseconds
      future.map(seconds),
      pastLifetime.map(seconds),
      fc
        .tuple(fc.integer({ min: NOW - LIFETIME + DAY, max: NOW }), fc.constantFrom(' ', '%20', 'x', '.0'))
        .map(([t, tail]) => `${seconds(t)}${tail}`),
      fc.integer({ min: NOW - LIFETIME + DAY, max: NOW }).map((t) => `0${seconds(t)}`),
    );
    fc.assert(
      fc.property(raw, (r) => trackerAge([], '5d4f2a9c0b7e13f8', NOW, { format: 'unix-seconds', raw: r }) !== 'ok'),
      { numRuns: 1000 },
    );
  });

  it('a cookie date that is unreadable, in the future or past the lifetime is never ok, whatever the other events say', () => {
    const bad: fc.Arbitrary<PropertyValue> = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.integer(),
      fc.double(),
      future.map((t) => new Date(t).toISOString()),
      pastLifetime.map((t) => new Date(t).toISOString()),
      pastLifetime.map((t) => new Date(t).toISOString().slice(0, 10)),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 2 }),
    );
    const fresh = { data: { cookie_creation_date: new Date(NOW - DAY).toISOString() } };
    fc.assert(
      fc.property(bad, fc.nat({ max: 3 }), (date, at) => {
        const events: { data?: Properties }[] = [fresh, fresh, fresh];
        events.splice(at, 0, { data: { cookie_creation_date: date } });
        const age = trackerAge(events, undefined, NOW);
        // (a readable date within the lifetime is the only way to ok)
        const t =
          typeof date === 'string' && /^\d{4}-\d{2}-\d{2}/.test(date)
            ? Date.parse(date.length === 10 ? `${date}T00:00:00Z` : date)
            : NaN;
        return age !== 'ok' || (t >= NOW - LIFETIME && t <= NOW + DAY);
      }),
      { numRuns: 1000 },
    );
  });
});
