// CNIL (Piano guide 4.3): the IP is truncated before any other processing.
// IPv4 keeps its first 24 bits (last octet zeroed); IPv6 keeps its first 48 bits.
// An IPv6 address that carries an IPv4 one is that IPv4 address, truncated to its /24:
// IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and
// 6to4 (2002:AABB:CCDD::/48, whose /48 would otherwise keep the whole IPv4 address,
// and which GeoLite2 maps onto IPv4 space).
import ipaddr from 'ipaddr.js';
import { canonicalIPv4, parseAddress } from './client-ip.js';

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

/** Returns the truncated address (e.g. `203.0.113.0`, `2001:db8:85a3::`), or undefined. */
export function anonymiseIp(address: string | undefined): string | undefined {
  if (address && canonicalIPv4(address) !== -1) return `${address.slice(0, address.lastIndexOf('.'))}.0`;
  const addr = parseAddress(address);
  if (!addr) return undefined;
  if (addr.kind() === 'ipv4') {
    const o = (addr as ipaddr.IPv4).octets;
    return `${o[0]}.${o[1]}.${o[2]}.0`;
  }
  const parts = (addr as ipaddr.IPv6).parts;
  const v4 = embeddedIPv4(parts);
  if (v4) return `${v4[0]}.${v4[1]}.${v4[2]}.0`;
  return new ipaddr.IPv6([parts[0]!, parts[1]!, parts[2]!, 0, 0, 0, 0, 0]).toString();
}
