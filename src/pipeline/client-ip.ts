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

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * The eight 16-bit groups of a plain IPv6 address (hex groups, at most one `::`; no
 * dotted tail, zone or brackets), or undefined for any other text, which then takes the
 * ipaddr.js path. The common form of an IPv6 client address, read without the library
 * (parsing, processing and printing with it cost ~20 µs per address).
 */
export function plainIPv6Groups(a: string): number[] | undefined {
  const dbl = a.indexOf('::');
  if (dbl !== -1 && a.indexOf('::', dbl + 1) !== -1) return undefined;
  const head = dbl === -1 ? a : a.slice(0, dbl);
  const tail = dbl === -1 ? '' : a.slice(dbl + 2);
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const n = h.length + t.length;
  if (dbl === -1 ? n !== 8 : n > 7) return undefined;
  const groups: number[] = [];
  for (const g of h) {
    if (!HEX_GROUP.test(g)) return undefined;
    groups.push(parseInt(g, 16));
  }
  for (let i = n; i < 8; i++) groups.push(0);
  for (const g of t) {
    if (!HEX_GROUP.test(g)) return undefined;
    groups.push(parseInt(g, 16));
  }
  return groups;
}

/** Eight groups as RFC 5952 text (what ipaddr.js prints): lower case, the longest run of zero groups as `::`. */
export function formatIPv6(groups: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best === -1) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** The address as normalised text (what parseAddress(a).toString() gives), or undefined. */
function normalise(address: string | undefined): string | undefined {
  if (!address) return undefined;
  if (canonicalIPv4(address) !== -1) return address;
  const g = address.includes(':') ? plainIPv6Groups(address) : undefined;
  if (g) {
    // IPv4-mapped: the IPv4 address, as ipaddr.process gives it
    if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
      return `${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`;
    }
    return formatIPv6(g);
  }
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
  const anyV6 = parsed.some(([range]) => range.kind() === 'ipv6');
  return (address: string) => {
    // a normalised IPv6 address (IPv4-mapped ones are IPv4 text by now) against no IPv6 range
    if (!anyV6 && address.includes(':') && plainIPv6Groups(address)) return false;
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
    return parsed.some(([range, bits]) => range.kind() === addr.kind() && addr.match(range, bits));
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
