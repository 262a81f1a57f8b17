// Which address is the client? The socket peer, unless the peer is a trusted proxy
// (TRUST_PROXY): then X-Forwarded-For is read from the right, skipping trusted hops,
// and the first untrusted address is the client. The leftmost entry is never trusted
// blindly: any client can write it.
import ipaddr from 'ipaddr.js';

export type TrustedProxies = (address: string) => boolean;

/** Normalises an address: IPv4-mapped IPv6 becomes IPv4, zone ids are dropped. */
export function parseAddress(address: string | undefined): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (!address) return undefined;
  let a = address.trim();
  if (a.startsWith('[')) a = a.slice(1, a.indexOf(']') === -1 ? undefined : a.indexOf(']'));
  const zone = a.indexOf('%');
  if (zone !== -1) a = a.slice(0, zone);
  if (!ipaddr.isValid(a)) return undefined;
  return ipaddr.process(a);
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseRange(text: string): Range {
  const [addr, bits] = text.includes('/') ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), -1];
  const full = addr.kind() === 'ipv4' ? 32 : 128;
  const prefix = bits === -1 ? full : bits;
  // ::ffff:10.0.0.0/104 is written for IPv4 peers, which parseAddress reports as IPv4
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && prefix >= 96) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), prefix - 96];
  }
  return [addr, prefix];
}

export function createTrustedProxies(ranges: readonly string[]): TrustedProxies {
  if (ranges.length === 0) return () => false;
  const parsed = ranges.map(parseRange);
  return (address: string) => {
    const addr = parseAddress(address);
    if (!addr) return false;
    return parsed.some(([range, bits]) => range.kind() === addr.kind() && addr.match(range as never, bits));
  };
}

/**
 * Returns the client address as a normalised string, or undefined when there is none.
 * This value is the raw IP: it must go straight to anonymiseIp and nowhere else.
 */
export function extractClientIp(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  isTrusted: TrustedProxies,
): string | undefined {
  const peerAddr = parseAddress(peer);
  if (!peerAddr) return undefined;
  if (forwardedFor === undefined || !isTrusted(peerAddr.toString())) return peerAddr.toString();
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let client = peerAddr.toString();
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseAddress(hops[i]);
    if (!hop) break; // garbage in the header: stop at the last address we could trust
    client = hop.toString();
    if (!isTrusted(client)) break;
  }
  return client;
}
