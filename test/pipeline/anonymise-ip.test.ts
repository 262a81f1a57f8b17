import { describe, expect, it } from 'vitest';
import ipaddr from 'ipaddr.js';
import { anonymiseIp, IPV4_PREFIX_BITS, IPV6_PREFIX_BITS } from '../../src/pipeline/anonymise-ip.js';

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

  it('truncates an IPv6 address that carries an IPv4 one as that IPv4 address', () => {
    // 6to4: the /48 would keep all 32 bits of 31.49.0.200
    expect(anonymiseIp('2002:1f31:c8::')).toBe('31.49.0.0');
    expect(anonymiseIp('2002:1f31:c8:1:2:3:4:5')).toBe('31.49.0.0');
    expect(anonymiseIp('64:ff9b::203.0.113.197')).toBe('203.0.113.0');
    expect(anonymiseIp('64:ff9b::cb00:71c5')).toBe('203.0.113.0');
    expect(anonymiseIp('::203.0.113.197')).toBe('203.0.113.0');
    expect(anonymiseIp('::ffff:cb00:71c5')).toBe('203.0.113.0');
    // not carriers: ::1, ::, NAT64 local-use with a longer prefix, Teredo (its client part is past /48)
    expect(anonymiseIp('::1')).toBe('::');
    expect(anonymiseIp('64:ff9b:1::cb00:71c5')).toBe('64:ff9b:1::');
    expect(anonymiseIp('2001:0:4136:e378:8000:63bf:3fff:fdd2')).toBe('2001:0:4136::');
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

describe('the prefix lengths /privacy states are the ones applied', () => {
  it('keeps exactly IPV4_PREFIX_BITS and IPV6_PREFIX_BITS', () => {
    for (const a of ['203.0.113.197', '255.255.255.255', '1.2.3.4']) {
      const kept = ipaddr.parse(anonymiseIp(a)!);
      expect(kept.match(ipaddr.parse(a), IPV4_PREFIX_BITS)).toBe(true);
      expect((kept as ipaddr.IPv4).octets.slice(IPV4_PREFIX_BITS / 8).every((o) => o === 0)).toBe(true);
    }
    const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const kept = ipaddr.parse(anonymiseIp(full)!) as ipaddr.IPv6;
    expect(kept.match(ipaddr.parse(full), IPV6_PREFIX_BITS)).toBe(true);
    expect(kept.toNormalizedString().split(':').filter((g) => g === 'ffff').length).toBe(IPV6_PREFIX_BITS / 16);
  });
});
