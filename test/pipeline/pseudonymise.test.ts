import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pseudonym, Pseudonymiser } from '../../src/pipeline/pseudonymise.js';

const k1 = { id: 'k1', secret: Buffer.from('0123456789abcdef0123456789abcdef') };
const k2 = { id: 'k2', secret: Buffer.from('another secret of thirty-two chars!!') };

describe('pseudonymise', () => {
  it('is the documented HMAC-SHA256(secret, len(site):site:id), 128 bits, base64url', () => {
    for (const [site, id] of [['123', 'lpw0hd7t9bz0ecov'], ['site-é', 'x-NO'], ['1', '']]) {
      const ref = createHmac('sha256', k2.secret).update(`${Buffer.byteLength(site!)}:${site}:${id}`).digest().subarray(0, 16).toString('base64url');
      expect(pseudonym(k2, site!, id!)).toBe(`k2.${ref}`);
    }
  });

  it('is stable for one key, site and id', () => {
    expect(pseudonym(k1, '123', 'lpw0hd7t9bz0ecov')).toBe(pseudonym(k1, '123', 'lpw0hd7t9bz0ecov'));
  });

  it('has the documented shape: keyId, a dot, 22 base64url characters (128 bits)', () => {
    expect(pseudonym(k1, '123', 'lpw0hd7t9bz0ecov')).toMatch(/^k1\.[A-Za-z0-9_-]{22}$/);
  });

  it('is keyed: another secret gives an unrelated pseudonym', () => {
    const a = pseudonym(k1, '123', 'lpw0hd7t9bz0ecov').split('.')[1];
    const b = pseudonym(k2, '123', 'lpw0hd7t9bz0ecov').split('.')[1];
    expect(a).not.toBe(b);
  });

  it('is scoped per site: the same browser on two sites gets two pseudonyms', () => {
    expect(pseudonym(k1, '123', 'lpw0hd7t9bz0ecov')).not.toBe(pseudonym(k1, '124', 'lpw0hd7t9bz0ecov'));
  });

  it('joins site and id unambiguously', () => {
    expect(pseudonym(k1, 'ab', 'c')).not.toBe(pseudonym(k1, 'a', 'bc'));
    expect(pseudonym(k1, 'a:', 'b')).not.toBe(pseudonym(k1, 'a', ':b'));
  });

  it('never contains the raw id', () => {
    const id = 'lpw0hd7t9bz0ecov';
    expect(pseudonym(k1, '1', id)).not.toContain(id);
  });

  it('uses the first key for new records and every key for lookups', () => {
    const p = new Pseudonymiser([k2, k1]);
    expect(p.activeKeyId).toBe('k2');
    expect(p.pseudonymise('1', 'x')).toBe(pseudonym(k2, '1', 'x'));
    expect(p.allPseudonyms('1', 'x')).toEqual([pseudonym(k2, '1', 'x'), pseudonym(k1, '1', 'x')]);
  });
});
