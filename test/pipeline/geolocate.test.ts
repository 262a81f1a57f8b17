import { copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { embeddedGeoipDbs } from '../../src/config/index.js';
import { anonymiseIp } from '../../src/pipeline/anonymise-ip.js';
import { cityLevel, Geolocator } from '../../src/pipeline/geolocate.js';

const FORBIDDEN = [
  'latitude',
  'longitude',
  'postcode',
  'postal',
  'location',
  'accuracy_radius',
  'metro_code',
  'time_zone',
  'timezone',
  'traits',
  'autonomous_system_number',
  'state2',
];

function expectCityLevelOnly(geo: object | undefined) {
  expect(geo).toBeDefined();
  expect(Object.keys(geo!).every((k) => ['country', 'region', 'city'].includes(k))).toBe(true);
  const text = JSON.stringify(geo);
  for (const f of FORBIDDEN) expect(text).not.toContain(f);
}

describe('cityLevel', () => {
  it('keeps only country, region, city from the flat layout', () => {
    const geo = cityLevel({
      city: 'Beauvais',
      country_code: 'FR',
      latitude: 49.43,
      longitude: 2.08,
      postcode: '60000',
      state1: 'Hauts-de-France',
      state2: 'Oise',
      timezone: 'Europe/Paris',
    });
    expect(geo).toEqual({ country: 'FR', region: 'Hauts-de-France', city: 'Beauvais' });
  });

  it('keeps only country, first subdivision, city from the nested GeoIP2 layout', () => {
    const geo = cityLevel({
      city: { geoname_id: 1, names: { en: 'London', fr: 'Londres' } },
      country: { iso_code: 'GB', names: { en: 'United Kingdom' } },
      location: { latitude: 51.5, longitude: -0.1, accuracy_radius: 5, time_zone: 'Europe/London', metro_code: 7 },
      postal: { code: 'SW1' },
      subdivisions: [
        { iso_code: 'ENG', names: { en: 'England' } },
        { iso_code: 'WSM', names: { en: 'Westminster' } },
      ],
      traits: { autonomous_system_number: 1 },
    });
    expect(geo).toEqual({ country: 'GB', region: 'England', city: 'London' });
  });

  it('drops empty names and unknown records', () => {
    expect(cityLevel({ city: '', country_code: 'US', state1: '' })).toEqual({ country: 'US' });
    expect(cityLevel(null)).toBeUndefined();
  });
});

describe('Geolocator with the embedded database (flat layout)', async () => {
  const geo = await Geolocator.open(embeddedGeoipDbs());
  afterAll(() => geo.close());

  it('resolves truncated IPv4 and IPv6 addresses to city level only', () => {
    const fr = geo.lookup('90.0.0.0');
    expect(fr?.country).toBe('FR');
    expectCityLevelOnly(fr);
    const v6 = geo.lookup('2a01:cb00::');
    expect(v6?.country).toBe('FR');
    expectCityLevelOnly(v6);
  });

  it('answers unknown addresses with nothing', () => {
    expect(geo.lookup('10.0.0.0')).toBeUndefined();
    expect(geo.lookup(undefined)).toBeUndefined();
  });
});

describe('Geolocator with a GeoLite2 City database (nested layout)', async () => {
  const geo = await Geolocator.open([inject('geolite2CityDb')]);
  afterAll(() => geo.close());

  it('resolves IPv4 and IPv6 to country, region, city and nothing else', () => {
    const gb = geo.lookup('81.2.69.0');
    expect(gb?.country).toBe('GB');
    expectCityLevelOnly(gb);
    const v6 = geo.lookup('2a01:cb00::');
    expect(v6?.country).toBe('FR');
    expectCityLevelOnly(v6);
  });

  it('sees a 6to4 address as its IPv4 /24, not as the full IPv4 address the /48 would keep', () => {
    // GeoLite2 maps 2002::/16 onto IPv4 space: 2002:1f31:c8:: is 31.49.0.200
    const asSent = geo.lookup('2002:1f31:c8::');
    const full = geo.lookup('31.49.0.200');
    expect(asSent).toEqual(full);
    const truncated = geo.lookup(anonymiseIp('2002:1f31:c8:1:2:3:4:5'));
    expect(truncated).toEqual(geo.lookup('31.49.0.0'));
    expect(truncated).not.toEqual(full);
  });
});

describe('Geolocator reload', () => {
  it('picks up a database replaced on disk (rename, as geoipupdate does) without a restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'geo-'));
    const file = path.join(dir, 'City.mmdb');
    const [v4] = embeddedGeoipDbs();
    copyFileSync(v4!, file);
    const geo = await Geolocator.open([file], { watchMs: 100 });
    try {
      expect(geo.lookup('81.2.69.0')?.country).toBe('GB');
      expect(geo.databases[0]!.buildEpoch.getUTCFullYear()).toBe(2026);
      copyFileSync(inject('geolite2CityDb'), `${file}.tmp`);
      renameSync(`${file}.tmp`, file);
      const until = Date.now() + 5000;
      while (
        Date.now() < until &&
        geo.databases[0]!.buildEpoch.getTime() === new Date('2026-06-17T19:52:21Z').getTime()
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(geo.databases[0]!.buildEpoch.getTime()).not.toBe(new Date('2026-06-17T19:52:21Z').getTime());
      expect(geo.lookup('81.2.69.0')?.country).toBe('GB');
    } finally {
      geo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the previous database when the replacement is not a database', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'geo-'));
    const file = path.join(dir, 'City.mmdb');
    copyFileSync(embeddedGeoipDbs()[0]!, file);
    const geo = await Geolocator.open([file]);
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(`${file}.tmp`, 'not a database');
      renameSync(`${file}.tmp`, file);
      expect(await geo.reloadChanged()).toBe(0);
      expect(geo.lookup('90.0.0.0')?.country).toBe('FR');
    } finally {
      geo.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to open a file that is not a City database', async () => {
    await expect(Geolocator.open(['/nonexistent.mmdb'])).rejects.toThrow(/GEOIP_DB/);
  });
});
