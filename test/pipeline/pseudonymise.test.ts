import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clientIdScope, pseudonym, Pseudonymiser } from '../../src/pipeline/pseudonymise.js';
import { hideRawVisitorId } from '../helpers/reference-path.js';

const k1 = { id: 'k1', secret: Buffer.from('0123456789abcdef0123456789abcdef') };
const k2 = { id: 'k2', secret: Buffer.from('another secret of thirty-two chars!!') };

describe('pseudonymise', () => {
  it('is the documented HMAC-SHA256(secret, len(site):site:id), 128 bits, base64url', () => {
    for (const [site, id] of [
      ['123', 'lpw0hd7t9bz0ecov'],
      ['site-é', 'x-NO'],
      ['1', ''],
    ]) {
      const ref = createHmac('sha256', k2.secret)
        .update(`${Buffer.byteLength(site!)}:${site}:${id}`)
        .digest()
        .subarray(0, 16)
        .toString('base64url');
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

describe('hideRawVisitorId', () => {
  const p = new Pseudonymiser([k1]);
  const NOW = Date.parse('2026-11-29T12:00:00Z');
  const ID = 'mx1ai3fsjp7z2jhr';
  const SCOPE = clientIdScope(p.pseudonymise('123', ID), 'rid.0', NOW);

  it("keys the SDK's pageview_id, per site, never equal to a visitor pseudonym", () => {
    const out = hideRawVisitorId({ pageview_id: 'mx1ai3fs5saqoq44', page: 'home' }, '123', ID, p, NOW, SCOPE);
    expect(out.pageview_id).toMatch(/^k1\.[A-Za-z0-9_-]{22}$/);
    expect(out.pageview_id).toBe(p.keyedId('123', 'pageview_id', 'mx1ai3fs5saqoq44', SCOPE));
    expect(out.pageview_id).not.toBe(
      hideRawVisitorId({ pageview_id: 'mx1ai3fs5saqoq44' }, '124', ID, p, NOW, SCOPE).pageview_id,
    );
    expect(out.pageview_id).not.toBe(p.pseudonymise('123', 'mx1ai3fs5saqoq44'));
    expect(out.page).toBe('home');
    // not a string: not an id
    expect(hideRawVisitorId({ pageview_id: 42 }, '123', ID, p, NOW, SCOPE)).toEqual({});
  });

  it('keys a client-chosen id with the visitor and the day, or with the request when there is no visitor', () => {
    const pv = (scope: string) =>
      hideRawVisitorId({ pageview_id: 'same-on-every-hit' }, '123', undefined, p, NOW, scope).pageview_id;
    const visitor = p.pseudonymise('123', ID);
    // one visitor, one day: the events of a page view group together
    expect(pv(clientIdScope(visitor, 'a.0', NOW))).toBe(pv(clientIdScope(visitor, 'b.0', NOW + 3_600_000)));
    // another day, another visitor: no link
    expect(pv(clientIdScope(visitor, 'a.0', NOW))).not.toBe(pv(clientIdScope(visitor, 'a.0', NOW + 86_400_000)));
    expect(pv(clientIdScope(visitor, 'a.0', NOW))).not.toBe(
      pv(clientIdScope(p.pseudonymise('123', 'other'), 'a.0', NOW)),
    );
    // no visitor: two requests never share one, the same request (a resend) keeps it
    expect(pv(clientIdScope(undefined, 'a.0', NOW))).not.toBe(pv(clientIdScope(undefined, 'b.0', NOW)));
    expect(pv(clientIdScope(undefined, 'a.0', NOW))).toBe(pv(clientIdScope(undefined, 'a.0', NOW)));
    expect(pv(clientIdScope(undefined, 'a.0', NOW))).not.toBe(pv(clientIdScope(visitor, 'a.0', NOW)));
  });

  it('replaces the raw id, or either half of an SDK id (creation time, random part), inside any kept value, at any depth', () => {
    const out = hideRawVisitorId(
      {
        page: `user-${ID}`,
        page_chapter1: 'mx1ai3fs',
        page_chapter2: 'code JP7Z2JHR',
        custom: { nested: [`x ${ID.toUpperCase()} ${ID}`] },
      },
      '123',
      ID,
      p,
      NOW,
      SCOPE,
    );
    expect(out).toEqual({
      page: 'user-[visitor-id]',
      page_chapter1: '[visitor-id]',
      page_chapter2: 'code [visitor-id]',
      custom: { nested: ['x [visitor-id] [visitor-id]'] },
    });
    expect(JSON.stringify(out)).not.toContain('mx1ai3fs');
    expect(JSON.stringify(out).toLowerCase()).not.toContain('jp7z2jhr');
    // a custom id (setVisitorId) has no halves: only the whole id is searched
    expect(hideRawVisitorId({ page: 'my-visitor and 42' }, '123', 'my-visitor-42', p, NOW, SCOPE)).toEqual({
      page: 'my-visitor and 42',
    });
  });

  it('leaves values alone for shared ids and short custom ids, and returns the same object when nothing changed', () => {
    const props = { page: 'OPT-OUT no-storage 42' };
    expect(hideRawVisitorId(props, '123', 'OPT-OUT', p, NOW, SCOPE)).toBe(props);
    expect(hideRawVisitorId(props, '123', '42', p, NOW, SCOPE)).toBe(props);
    expect(hideRawVisitorId(props, '123', undefined, p, NOW, SCOPE)).toBe(props);
  });
});
