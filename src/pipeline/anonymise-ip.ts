// CNIL (Piano guide 4.3): the IP is truncated before any other processing.
// IPv4 keeps its first 24 bits (last octet zeroed); IPv6 keeps its first 48 bits.
// An IPv6 address that carries an IPv4 one is that IPv4 address, truncated to its /24:
// IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and
// 6to4 (2002:AABB:CCDD::/48, whose /48 would otherwise keep the whole IPv4 address,
// and which GeoLite2 maps onto IPv4 space).
import ipaddr from 'ipaddr.js';
import { canonicalIPv4, formatIPv6, parseAddress, plainIPv6Groups } from './client-ip.js';

export const IPV4_PREFIX_BITS = 24;
export const IPV6_PREFIX_BITS = 48;

/** The IPv4 address an IPv6 one carries, as four octets, or undefined. */
export function embeddedIPv4(parts: readonly number[]): number[] | undefined {
  const [p0, p1, p2, p3, p4, p5, p6, p7] = parts as [number, number, number, number, number, number, number, number];
  const v4 = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
  // 6to4: 2002:AABB:CCDD::/48
  if (p0 === 0x2002) return v4(p1, p2);
  // NAT64 well-known prefix 64:ff9b::/96
  if (p0 === 0x64 && p1 === 0xff9b && p2 === 0 && p3 === 0 && p4 === 0 && p5 === 0) return v4(p6, p7);
  if (p0 === 0 && p1 === 0 && p2 === 0 && p3 === 0 && p4 === 0) {
    // IPv4-mapped ::ffff:a.b.c.d
    if (p5 === 0xffff) return v4(p6, p7);
    // IPv4-compatible ::a.b.c.d (not :: nor ::1)
    if (p5 === 0 && p6 !== 0) return v4(p6, p7);
  }
  return undefined;
}

/** The first `bits` of an IPv4 address (a 32-bit number), the rest zeroed, as text. */
function truncateIPv4(n: number, bits: number): string {
  const kept = bits === 0 ? 0 : Math.floor(n / 2 ** (32 - bits)) * 2 ** (32 - bits);
  return (
    `${Math.floor(kept / 16_777_216)}.${Math.floor(kept / 65_536) % 256}.` +
    `${Math.floor(kept / 256) % 256}.${kept % 256}`
  );
}

/** The first `bits` of an IPv6 address (eight 16-bit groups), the rest zeroed, as text. */
function truncateIPv6(parts: readonly number[], bits: number): string {
  return formatIPv6(
    parts.map((p, i) => (i * 16 >= bits ? 0 : i * 16 + 16 <= bits ? p : p & (0xffff << (i * 16 + 16 - bits)))),
  );
}

const octetsToNumber = (o: readonly number[]) => ((o[0]! * 256 + o[1]!) * 256 + o[2]!) * 256 + o[3]!;

/**
 * Returns the truncated address (e.g. `203.0.113.0`, `2001:db8:85a3::`), or undefined.
 * The prefix lengths are IPV4_PREFIX_BITS and IPV6_PREFIX_BITS, which /privacy states.
 */
export function anonymiseIp(address: string | undefined): string | undefined {
  const n = address ? canonicalIPv4(address) : -1;
  if (n !== -1) return truncateIPv4(n, IPV4_PREFIX_BITS);
  const plain = address?.includes(':') ? plainIPv6Groups(address) : undefined;
  if (plain) {
    const v4 = embeddedIPv4(plain);
    return v4 ? truncateIPv4(octetsToNumber(v4), IPV4_PREFIX_BITS) : truncateIPv6(plain, IPV6_PREFIX_BITS);
  }
  const addr = parseAddress(address);
  if (!addr) return undefined;
  if (addr.kind() === 'ipv4') return truncateIPv4(octetsToNumber((addr as ipaddr.IPv4).octets), IPV4_PREFIX_BITS);
  const parts = (addr as ipaddr.IPv6).parts;
  const v4 = embeddedIPv4(parts);
  if (v4) return truncateIPv4(octetsToNumber(v4), IPV4_PREFIX_BITS);
  return truncateIPv6(parts, IPV6_PREFIX_BITS);
}
