// Which address is the client? The socket peer, unless the peer is a trusted proxy
// (TRUST_PROXY): then X-Forwarded-For is read from the right, skipping trusted hops,
// and the first untrusted address is the client. The leftmost entry is never trusted
// blindly: any client can write it.
import ipaddr from 'ipaddr.js';

export type TrustedProxies = (address: string) => boolean;

/**
 * A canonical dotted-quad IPv4 address (`203.0.113.9`: decimal, no leading zeros,
 * no spaces) as a 32-bit number, or -1 for anything else. The hot path of every hit:
 * such an address is already normalised, so it skips ipaddr.js (parse, process,
 * toString), which cost ~10 µs per hit. Every other form takes the ipaddr.js path.
 */
export function canonicalIPv4(s: string): number {
  const len = s.length;
  if (len < 7 || len > 15) return -1;
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1; // leading zero: ipaddr reads it as octal
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? n * 256 + octet : -1;
}

/** The address as normalised text (what parseAddress(a).toString() gives), or undefined. */
function normalise(address: string | undefined): string | undefined {
  if (!address) return undefined;
  if (canonicalIPv4(address) !== -1) return address;
  return parseAddress(address)?.toString();
}

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
  // IPv4 ranges as [network, prefix length] numbers, for the fast path
  const v4 = parsed
    .filter(([range]) => range.kind() === 'ipv4')
    .map(([range, bits]) => [canonicalIPv4(range.toString()), bits] as const);
  return (address: string) => {
    const n = canonicalIPv4(address);
    if (n !== -1) {
      for (const [net, bits] of v4) {
        if (bits === 0) return true;
        const shift = 32 - bits;
        if (Math.floor(n / 2 ** shift) === Math.floor(net / 2 ** shift)) return true;
      }
      return false;
    }
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
  const peerText = normalise(peer);
  if (!peerText) return undefined;
  if (forwardedFor === undefined || !isTrusted(peerText)) return peerText;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  let client = peerText;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalise(hops[i]!.trim());
    if (!hop) break; // garbage in the header: stop at the last address we could trust
    client = hop;
    if (!isTrusted(client)) break;
  }
  return client;
}
