// CNIL (Piano guide 4.3): the IP is truncated before any other processing.
// IPv4 keeps its first 24 bits (last octet zeroed); IPv6 keeps its first 48 bits.
// IPv4-mapped IPv6 (::ffff:a.b.c.d) is treated as IPv4.
import ipaddr from 'ipaddr.js';
import { canonicalIPv4, parseAddress } from './client-ip.js';

export const IPV4_PREFIX_BITS = 24;
export const IPV6_PREFIX_BITS = 48;

/** Returns the truncated address (e.g. `203.0.113.0`, `2001:db8:85a3::`), or undefined. */
export function anonymiseIp(address: string | undefined): string | undefined {
  if (address && canonicalIPv4(address) !== -1) return `${address.slice(0, address.lastIndexOf('.'))}.0`;
  const addr = parseAddress(address);
  if (!addr) return undefined;
  if (addr.kind() === 'ipv4') {
    const o = (addr as ipaddr.IPv4).octets;
    return `${o[0]}.${o[1]}.${o[2]}.0`;
  }
  const parts = (addr as ipaddr.IPv6).parts; // eight 16-bit groups: keep 3 (48 bits)
  return new ipaddr.IPv6([parts[0]!, parts[1]!, parts[2]!, 0, 0, 0, 0, 0]).toString();
}
