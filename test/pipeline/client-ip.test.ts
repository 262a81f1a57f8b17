import { describe, expect, it } from 'vitest';
import { createTrustedProxies, extractClientIp, parseAddress } from '../../src/pipeline/client-ip.js';

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
