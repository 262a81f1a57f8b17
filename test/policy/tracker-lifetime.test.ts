import { describe, expect, it } from 'vitest';
import { TRACKER_LIFETIME_DAYS } from '../../src/policy/allowlists.js';
import { sdkIdCreatedAt, trackerAge } from '../../src/policy/tracker-lifetime.js';

const NOW = Date.parse('2026-12-03T08:00:00Z');
const DAY = 86_400_000;
const LIFETIME = TRACKER_LIFETIME_DAYS * DAY;
/** An id made as the SDK makes them: creation time in base 36, then 8 random characters. */
const sdkId = (createdAt: number, suffix = '') => `${createdAt.toString(36).padStart(8, '0')}k3j5h7g9${suffix}`;
const made = (date: number | string) => [{ data: { cookie_creation_date: typeof date === 'number' ? new Date(date).toISOString() : date } }];

describe('tracker lifetime (13 months, never extended)', () => {
  it('is 13 months', () => {
    expect(TRACKER_LIFETIME_DAYS).toBeGreaterThanOrEqual(390);
    expect(TRACKER_LIFETIME_DAYS).toBeLessThanOrEqual(396);
  });

  it('reads an SDK id’s creation time, and no time from other ids', () => {
    expect(sdkIdCreatedAt(sdkId(NOW - DAY), NOW)).toBe(NOW - DAY);
    expect(sdkIdCreatedAt(sdkId(NOW - DAY, '-NO'), NOW)).toBe(NOW - DAY);
    expect(new Date(sdkIdCreatedAt('mx1ai3fsjp7z2jhr', NOW)!).toISOString()).toMatch(/^2026-11-29T03:38:53/); // a real SDK id
    for (const custom of ['user-42', 'MX1AI3FSJP7Z2JHR', 'mx1ai3fsjp7z2jh', 'mx1ai3fsjp7z2jhr-YES', '0000000000000000', sdkId(NOW + 2 * DAY)]) {
      expect(sdkIdCreatedAt(custom, NOW), custom).toBeUndefined();
    }
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
