import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { anonymiseIp } from '../../src/pipeline/anonymise-ip.js';
import { canonicalIPv4, createTrustedProxies, extractClientIp, parseAddress } from '../../src/pipeline/client-ip.js';

describe('extractClientIp', () => {
  const none = createTrustedProxies([]);
  const lb = createTrustedProxies(['10.0.0.0/8', '::1']);

  it('uses the socket address when no proxy is trusted, ignoring X-Forwarded-For', () => {
    expect(extractClientIp('198.51.100.7', '203.0.113.9', none)).toBe('198.51.100.7');
  });

  it('ignores a spoofed X-Forwarded-For from an untrusted peer', () => {
    expect(extractClientIp('198.51.100.7', '1.2.3.4', lb)).toBe('198.51.100.7');
  });

  it('reads X-Forwarded-For from a trusted peer, from the right, skipping trusted hops', () => {
    // the client wrote 6.6.6.6 itself; the LB appended the real peer 203.0.113.9; an inner proxy 10.1.1.1
    expect(extractClientIp('10.0.0.2', '6.6.6.6, 203.0.113.9, 10.1.1.1', lb)).toBe('203.0.113.9');
    expect(extractClientIp('::1', ['6.6.6.6', '203.0.113.9'], lb)).toBe('203.0.113.9');
  });

  it('normalises IPv4-mapped peers and matches them against IPv4 ranges', () => {
    expect(extractClientIp('::ffff:10.0.0.2', '203.0.113.9', lb)).toBe('203.0.113.9');
    expect(extractClientIp('::ffff:198.51.100.7', undefined, none)).toBe('198.51.100.7');
  });

  it('stops at garbage in the header and keeps the last trusted answer', () => {
    expect(extractClientIp('10.0.0.2', 'not-an-ip', lb)).toBe('10.0.0.2');
  });

  it('returns undefined without a usable peer', () => {
    expect(extractClientIp(undefined, '1.2.3.4', lb)).toBeUndefined();
  });

  it('parses zones and brackets', () => {
    expect(parseAddress('fe80::1%eth0')?.toString()).toBe('fe80::1');
    expect(parseAddress('[2001:db8::1]')?.toString()).toBe('2001:db8::1');
  });
});

describe('canonical IPv4 fast path', () => {
  // strings that look like IPv4: canonical, leading zeros, out of range, short, spaced
  const part = fc.oneof(
    fc.integer({ min: 0, max: 255 }).map(String),
    fc.constantFrom('00', '01', '010', '256', '999', '0x1f', '', ' 1'),
  );
  const dotted = fc.oneof(
    fc
      .tuple(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
      )
      .map((o) => o.join('.')),
    fc.array(part, { minLength: 2, maxLength: 5 }).map((p) => p.join('.')),
  );

  it('recognises exactly the addresses that ipaddr.js would print unchanged', () => {
    fc.assert(
      fc.property(dotted, (s) => {
        const ref = ipaddr.isValid(s) ? ipaddr.process(s).toString() : undefined;
        expect(canonicalIPv4(s) !== -1).toBe(ref === s && /^\d+\.\d+\.\d+\.\d+$/.test(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('truncates and matches trusted ranges as the ipaddr.js path does', () => {
    const ranges = ['10.0.0.0/8', '192.168.1.0/24', '203.0.113.7', '172.16.0.0/12', '0.0.0.0/0'];
    fc.assert(
      fc.property(dotted, fc.subarray(ranges), (s, chosen) => {
        const parsed = parseAddress(s);
        const refTruncated =
          parsed?.kind() === 'ipv4' ? (parsed as ipaddr.IPv4).octets.slice(0, 3).join('.') + '.0' : undefined;
        if (parsed?.kind() === 'ipv4') expect(anonymiseIp(s)).toBe(refTruncated);
        const refTrusted =
          parsed !== undefined &&
          chosen.some((r) => {
            const [net, bits] = r.includes('/') ? ipaddr.parseCIDR(r) : [ipaddr.parse(r), 32];
            return parsed.kind() === net.kind() && parsed.match(net, bits);
          });
        expect(createTrustedProxies(chosen)(s)).toBe(refTrusted);
      }),
      { numRuns: 2000 },
    );
  });
});
