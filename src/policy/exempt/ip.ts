// ip: addresses in the reading become "[ip]". Left as they are: what says no more than
// the collector's own truncated address (an IPv4 /24 network, last octet 0, which is also
// what Chrome's reduced versions look like: `120.0.0.0`; an IPv6 /48 or coarser), and
// loopback (127.0.0.0/8, ::1), every machine's own address.
import { REDACTION_MARKERS } from '../allowlists.js';
import { replaceFindings, type TextRule } from './common.js';

const OCTET = '0{0,2}(?:25[0-5]|2[0-4]\\d|1\\d\\d|\\d?\\d)';
// After a host label too (`client.203.0.113.9`, `static.9.113.0.203.clients…`), never
// inside a longer run of numbers (`1.2.3.4.5` is a version, not an address).
const IPV4 = new RegExp(`(?<!\\p{N}|\\p{N}\\.)(${OCTET})\\.${OCTET}\\.${OCTET}\\.(${OCTET})(?!\\p{N}|\\.\\p{N})`, 'gu');
// `203-0-113-9`, `203_0_113_9`: the address as reverse-DNS and cloud host names write it
// (`203-0-113-9.dsl.example.net`, `ip-203-0-113-9.ec2.internal`); no part of a longer run
// of numbers (`06-12-34-56-78`, a phone number)
const IPV4_JOINED = new RegExp(
  `(?<!\\p{N}|\\p{N}[._\\-])(${OCTET})(?<sep>[-_])${OCTET}\\k<sep>${OCTET}\\k<sep>(${OCTET})(?!\\p{N}|[._\\-]\\p{N})`,
  'gu',
);
const IPV6 =
  /(?<![\p{L}\p{N}_.-])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\p{L}\p{N}_-])/gu;
// the reverse-DNS nibble form: more than 12 nibbles (a /48) name a finer network, and a
// 6to4 /48 (2.0.0.2 reversed last) carries an IPv4 address whole
const IP6_ARPA =
  /(?<![\p{L}\p{N}])(?:(?:[0-9a-fA-F]\.){13,64}(?:ip6\.(?:arpa|int)\b)?|(?:[0-9a-fA-F]\.){8}2\.0\.0\.2\.ip6\.(?:arpa|int)\b)/gu;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

const keepV4 = (first: number, last: number) => last === 0 || first === 127;
const keepDotted = (m: RegExpExecArray) => keepV4(Number(m[1]), Number(m[2]));
// (the joined form's second group is its separator)
const keepJoined = (m: RegExpExecArray) => keepV4(Number(m[1]), Number(m[3]));
const keepCoarseIPv6 = (m: RegExpExecArray) => !isFineIPv6(m[0]);
const never = () => false;

/** The eight groups of an IPv6 address (and a trailing dotted quad), or undefined. */
function ipv6Groups(candidate: string): number[] | undefined {
  let text = candidate;
  let v4: number[] | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    v4 = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    if (v4.length !== 4 || v4.some((o) => !(o >= 0 && o <= 255))) return undefined;
    text =
      `${text.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:` +
      `${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
  const n = head.length + tail.length;
  if (halves.length === 1 ? n !== 8 : n > 7) return undefined;
  if (!head.every((g) => HEX_GROUP.test(g)) || !tail.every((g) => HEX_GROUP.test(g))) return undefined;
  return [...head, ...Array<string>(8 - n).fill('0'), ...tail].map((g) => parseInt(g, 16));
}

/**
 * An IPv6 address finer than what the collector keeps: any bit set past the first 48
 * (a /64 is an address: one household), or a 6to4 prefix (2002::/16) carrying an IPv4
 * address whole in its next 32 bits.
 */
function isFineIPv6(candidate: string): boolean {
  const groups = ipv6Groups(candidate);
  if (groups === undefined) return false;
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return false; // ::1, loopback
  if (groups[0] === 0x2002 && (groups[2]! & 0xff) !== 0 && groups[1]! >> 8 !== 127) return true;
  return groups.slice(3).some((g) => g !== 0);
}

/** IP addresses → "[ip]"; undefined: too many. */
export function redactIps(text: string): string | undefined {
  let out: string | undefined = text;
  if (/\d\./.test(out)) {
    out = replaceFindings(out, IP6_ARPA, REDACTION_MARKERS.ip, never);
    if (out === undefined) return undefined;
    out = replaceFindings(out, IPV4, REDACTION_MARKERS.ip, keepDotted);
    if (out === undefined) return undefined;
  }
  if (/\d[-_]\d/.test(out)) {
    out = replaceFindings(out, IPV4_JOINED, REDACTION_MARKERS.ip, keepJoined);
    if (out === undefined) return undefined;
  }
  // an address finer than /48 has a hex digit beside a colon
  if (/[0-9A-Fa-f]:|:[0-9A-Fa-f]/.test(out)) out = replaceFindings(out, IPV6, REDACTION_MARKERS.ip, keepCoarseIPv6);
  return out;
}

/** A digit or hex digit beside `.`, `-`, `_` or `:`. */
export const ipRule: TextRule = { name: 'ip', needs: /[0-9A-Fa-f][.:_-]|:[0-9A-Fa-f]/, apply: redactIps };

/**
 * A URL host that is, or holds, an IPv4 address: four numbers of 0-255 next to each
 * other among its labels split at `.`, `-` and `_`, in any order (`203-0-113-9.dsl…`,
 * `static.9.113.0.203.clients…`, `myapp.203.0.113.9.nip.io`); or an IPv6 literal finer
 * than a /48. Loopback stays.
 */
export function hostHoldsIp(host: string): boolean {
  if (host.startsWith('[')) return isFineIPv6(host.slice(1, host.indexOf(']') === -1 ? undefined : host.indexOf(']')));
  const parts = host.split(/[._-]/);
  let run = 0;
  for (let i = 0; i < parts.length; i++) {
    run = /^\d{1,3}$/.test(parts[i]!) && Number(parts[i]) <= 255 ? run + 1 : 0;
    if (run >= 4 && !(run === 4 && parts.length === 4 && Number(parts[0]) === 127)) return true;
  }
  return false;
}

/** The IPv4 address a numeric URL host stands for (WHATWG's IPv4 parser), as a 32-bit number; undefined: none. */
export function numericHostIPv4(host: string): number | undefined {
  const parts = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const p of parts) {
    const v = /^0[xX]/.test(p)
      ? p.length === 2
        ? 0
        : /^0[xX][0-9a-fA-F]+$/.test(p)
          ? parseInt(p.slice(2), 16)
          : NaN
      : p.length > 1 && p.startsWith('0')
        ? /^[0-7]+$/.test(p)
          ? parseInt(p, 8)
          : NaN
        : /^\d+$/.test(p)
          ? Number(p)
          : NaN;
    if (!Number.isFinite(v)) return undefined;
    values.push(v);
  }
  const last = values.pop()!;
  if (values.some((v) => v > 255) || last >= 256 ** (4 - values.length)) return undefined;
  return values.reduce((n, v, i) => n + v * 256 ** (3 - i), 0) + last;
}
