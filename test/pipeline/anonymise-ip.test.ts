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
    expect(
      kept
        .toNormalizedString()
        .split(':')
        .filter((g) => g === 'ffff').length,
    ).toBe(IPV6_PREFIX_BITS / 16);
  });
});

describe('the plain IPv6 path gives what ipaddr.js gives', () => {
  it('for every form of random addresses', async () => {
    const fc = (await import('fast-check')).default;
    const { embeddedIPv4 } = await import('../../src/pipeline/anonymise-ip.js');
    const { extractClientIp, parseAddress } = await import('../../src/pipeline/client-ip.js');
    // the library's reading, as the collector did before the plain path
    const reference = (a: string) => {
      const addr = parseAddress(a);
      if (!addr) return undefined;
      if (addr.kind() === 'ipv4') return `${(addr as ipaddr.IPv4).octets.slice(0, 3).join('.')}.0`;
      const p = (addr as ipaddr.IPv6).parts;
      const v4 = embeddedIPv4(p);
      return v4 ? `${v4[0]}.${v4[1]}.${v4[2]}.0` : new ipaddr.IPv6([p[0]!, p[1]!, p[2]!, 0, 0, 0, 0, 0]).toString();
    };
    const group = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
    const addrArb = fc
      .tuple(fc.array(group, { minLength: 8, maxLength: 8 }), fc.constantFrom('short', 'normalized', 'upper', 'padded'))
      .map(([g, form]) => {
        const a = new ipaddr.IPv6(g);
        if (form === 'normalized') return a.toNormalizedString();
        if (form === 'upper') return a.toString().toUpperCase();
        if (form === 'padded')
          return a
            .toNormalizedString()
            .split(':')
            .map((g) => g.padStart(4, '0'))
            .join(':');
        return a.toString();
      });
    const none = () => false;
    fc.assert(
      fc.property(
        fc.oneof(
          addrArb,
          fc.constantFrom(
            '::',
            '::1',
            '::ffff:1.2.3.4',
            '2002:1f31:c8::1',
            '64:ff9b::cb00:71c5',
            '::cb00:71c5',
            '1:2:3:4:5:6:7::',
            ':::',
            '1::2::3',
            'g::1',
          ),
        ),
        (a) => {
          expect(anonymiseIp(a)).toBe(reference(a));
          expect(extractClientIp(a, undefined, none)).toBe(parseAddress(a)?.toString());
        },
      ),
      { numRuns: 5000 },
    );
  });
});
