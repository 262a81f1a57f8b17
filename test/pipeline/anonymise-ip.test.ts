import { describe, expect, it } from 'vitest';
import { anonymiseIp } from '../../src/pipeline/anonymise-ip.js';

describe('anonymiseIp', () => {
  it('zeroes the last IPv4 octet (/24)', () => {
    expect(anonymiseIp('203.0.113.197')).toBe('203.0.113.0');
    expect(anonymiseIp('81.2.69.255')).toBe('81.2.69.0');
  });

  it('keeps the first 48 bits of IPv6', () => {
    expect(anonymiseIp('2001:db8:85a3:8d3:1319:8a2e:370:7348')).toBe('2001:db8:85a3::');
    expect(anonymiseIp('2a01:cb00:1:2::1')).toBe('2a01:cb00:1::');
  });

  it('treats IPv4-mapped IPv6 as IPv4', () => {
    expect(anonymiseIp('::ffff:203.0.113.197')).toBe('203.0.113.0');
  });

  it('drops zone ids and refuses garbage', () => {
    expect(anonymiseIp('fe80::1:2:3:4%eth0')).toBe('fe80::');
    expect(anonymiseIp('not an ip')).toBeUndefined();
    expect(anonymiseIp(undefined)).toBeUndefined();
  });

  it('never returns the input address for any host part', () => {
    for (let i = 1; i < 256; i++) expect(anonymiseIp(`192.0.2.${i}`)).toBe('192.0.2.0');
  });
});
