import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EXEMPT_EVENTS, EXEMPT_PROPERTIES } from '../../src/policy/allowlists.js';
import { gpcRequested, type PrivacyInput } from '../../src/pipeline/privacy.js';
import { applyPrivacy } from '../helpers/reference-path.js';
import { sdkIdCreatedAt, trackerAge } from '../../src/policy/tracker-lifetime.js';
import type { HitEvent } from '../../src/contract/wire.js';
import { compilePolicy } from '../../src/policy/sites.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const optinSite = compilePolicy('s1', { maxMode: 'optin' });
const exemptSite = compilePolicy('s2');

function input(events: HitEvent[], over: Partial<PrivacyInput> = {}): PrivacyInput {
  return { events, idclient: 'mx1ai3fsjp7z2jhr', policy: optinSite, gpc: false, now: NOW, ...over };
}
const pv = (data: Record<string, unknown>) => ({ name: 'page.display', data }) as HitEvent;

describe('applyPrivacy', () => {
  it('keeps everything for opt-in with consent, on a site that allows opt-in', () => {
    const d = applyPrivacy(
      input([pv({ visitor_privacy_mode: 'optin', visitor_privacy_consent: true, user_id: 'u1', custom: 1 })]),
    );
    expect(d.mode).toBe('optin');
    expect(d.visitorId).toBe('mx1ai3fsjp7z2jhr');
    expect(d.events[0]!.props).toMatchObject({ user_id: 'u1', custom: 1 });
  });

  it('treats opt-in without consent true as exempt', () => {
    const d = applyPrivacy(
      input([pv({ visitor_privacy_mode: 'optin', visitor_privacy_consent: false, user_id: 'u1' })]),
    );
    expect(d.mode).toBe('exempt');
    expect(d.cause).toBe('no-consent-flag');
    expect(d.events[0]!.props.user_id).toBeUndefined();
  });

  it('caps opt-in at exempt on a site with maxMode exempt', () => {
    const d = applyPrivacy(
      input([pv({ visitor_privacy_mode: 'optin', visitor_privacy_consent: true, user_id: 'u1' })], {
        policy: exemptSite,
      }),
    );
    expect(d).toMatchObject({ mode: 'exempt', cause: 'site-cap' });
    expect(d.events[0]!.props.user_id).toBeUndefined();
  });

  it('takes the most restrictive mode when events disagree, wherever it stands in the request', () => {
    const optin = pv({ visitor_privacy_mode: 'optin', visitor_privacy_consent: true, user_id: 'u1' });
    expect(applyPrivacy(input([optin, pv({ visitor_privacy_mode: 'optout' })])).mode).toBe('optout');
    // the opt-out first: still nothing stored, only counted
    const d = applyPrivacy(input([pv({ visitor_privacy_mode: 'optout' }), optin]));
    expect(d).toMatchObject({
      mode: 'optout',
      events: [],
      visitorId: undefined,
      optoutEvents: ['page.display', 'page.display'],
    });
    // exempt first, opt-in last: exempt, for every event
    const e = applyPrivacy(input([pv({ visitor_privacy_mode: 'exempt' }), optin]));
    expect(e.mode).toBe('exempt');
    expect(e.events[1]!.props.user_id).toBeUndefined();
    expect(
      applyPrivacy(input([pv({ visitor_privacy_mode: 'optout' }), pv({ visitor_privacy_mode: 'exempt' })])).mode,
    ).toBe('optout');
  });

  it('filters exempt hits to the allowlists and strips URL queries', () => {
    const d = applyPrivacy(
      input(
        [
          pv({
            visitor_privacy_mode: 'exempt',
            page: 'p',
            custom: 1,
            user_category: 'x',
            ch_ua_arch: 'x86',
            event_url_full: 'https://a.test/p?email=x@y#top',
            src_referrer_url: 'https://b.test/?q=1',
          }),
          { name: 'product.display', data: { product_id: 1 } },
        ],
        { policy: exemptSite },
      ),
    );
    expect(d.events).toHaveLength(1);
    expect(d.events[0]!.props).toEqual({
      visitor_privacy_mode: 'exempt',
      page: 'p',
      ch_ua_arch: 'x86',
      event_url_full: 'https://a.test/p',
      src_referrer_url: 'https://b.test/',
    });
    expect(d.dropped).toEqual({ events: 1, properties: 2 });
  });

  it("adds a site's allowlist additions, never user_*", () => {
    const site = compilePolicy('s3', { allow: { properties: ['article_type'], events: ['product.display'] } });
    const d = applyPrivacy(
      input([pv({ article_type: 'news', user_id: 'u' }), { name: 'product.display', data: {} }], { policy: site }),
    );
    expect(d.events.map((e) => e.name)).toEqual(['page.display', 'product.display']);
    expect(d.events[0]!.props).toEqual({ article_type: 'news' });
    expect(() => compilePolicy('s4', { allow: { properties: ['user_id'] } })).toThrow(/user_/);
  });

  it('makes opt-out modes, the OPT-OUT id and GPC anonymous counts only', () => {
    for (const mode of ['optout', 'extended-optout', 'no-consent']) {
      const d = applyPrivacy(input([pv({ visitor_privacy_mode: mode, page: 'home' })]));
      expect(d).toMatchObject({ mode: 'optout', visitorId: undefined, events: [], optoutEvents: ['page.display'] });
    }
    expect(
      applyPrivacy(
        input([pv({ visitor_privacy_mode: 'optin', visitor_privacy_consent: true })], { idclient: 'OPT-OUT' }),
      ),
    ).toMatchObject({ mode: 'optout', cause: 'opt-out-id' });
    expect(applyPrivacy(input([pv({ visitor_privacy_mode: 'exempt' })], { gpc: true }))).toMatchObject({
      mode: 'optout',
      cause: 'gpc',
    });
    const ignoresGpc = compilePolicy('s5', { gpc: 'ignore' });
    expect(applyPrivacy(input([pv({ visitor_privacy_mode: 'exempt' })], { gpc: true, policy: ignoresGpc })).mode).toBe(
      'exempt',
    );
  });

  it('never pseudonymises shared ids, but does pseudonymise -NO ids', () => {
    for (const id of ['no-consent', 'no-storage']) {
      expect(applyPrivacy(input([pv({ visitor_privacy_mode: 'exempt' })], { idclient: id }))).toMatchObject({
        visitorId: undefined,
        noVisitor: 'shared-id',
      });
    }
    expect(applyPrivacy(input([pv({ visitor_privacy_mode: 'no-storage' })], { idclient: 'abc' }))).toMatchObject({
      mode: 'exempt',
      visitorId: undefined,
      noVisitor: 'no-storage',
    });
    expect(
      applyPrivacy(input([pv({ visitor_privacy_mode: 'exempt' })], { idclient: 'mx1ai3fsjp7z2jhr-NO' })).visitorId,
    ).toBe('mx1ai3fsjp7z2jhr-NO');
  });

  it('treats custom, missing and unknown modes as exempt', () => {
    for (const data of [
      { visitor_privacy_mode: 'custom' },
      {},
      { visitor_privacy_mode: 'whatever' },
      { visitor_privacy_mode: 42 },
      { visitor_privacy_mode: '__proto__' },
    ]) {
      expect(applyPrivacy(input([pv({ ...data, user_id: 'u' })])).mode).toBe('exempt');
    }
  });

  it('drops the pseudonym of a tracker older than 13 months, keeps the hit', () => {
    const old = new Date(NOW - 396 * 86_400_000).toISOString();
    const d = applyPrivacy(input([pv({ visitor_privacy_mode: 'exempt', cookie_creation_date: old, page: 'p' })]));
    expect(d).toMatchObject({ mode: 'exempt', visitorId: undefined, noVisitor: 'tracker-expired' });
    expect(d.events).toHaveLength(1);
    expect(
      trackerAge([pv({ cookie_creation_date: new Date(NOW - 394 * 86_400_000).toISOString() })], undefined, NOW),
    ).toBe('ok');
  });

  it('gives no pseudonym when the tracker age cannot be read', () => {
    for (const bad of [
      'garbage',
      '2026-11-29T03:38:00.000Z ',
      1795923480000,
      ['2026-11-29'],
      '2026-02-31',
      '29/11/2026',
      '2099-01-01T00:00:00Z',
      null,
    ]) {
      const d = applyPrivacy(
        input([pv({ visitor_privacy_mode: 'exempt', cookie_creation_date: bad })], { policy: exemptSite }),
      );
      expect(d, JSON.stringify(bad)).toMatchObject({
        mode: 'exempt',
        visitorId: undefined,
        noVisitor: 'tracker-age-unknown',
      });
      expect(d.events[0]!.props.cookie_creation_date).toBeUndefined();
    }
    // absent: no date to read, the pseudonym stays
    expect(applyPrivacy(input([pv({ visitor_privacy_mode: 'exempt' })], { policy: exemptSite })).visitorId).toBe(
      'mx1ai3fsjp7z2jhr',
    );
  });

  it("reads an SDK-made id's own creation time: older than 13 months, no pseudonym", () => {
    const made = (t: number) => `${t.toString(36)}abcd1234`;
    expect(sdkIdCreatedAt('mx1ai3fsjp7z2jhr', NOW)).toBe(Date.parse('2026-11-29T03:38:53.800Z'));
    expect(sdkIdCreatedAt('mx1ai3fsjp7z2jhr-NO', NOW)).toBe(Date.parse('2026-11-29T03:38:53.800Z'));
    // custom ids (setVisitorId) carry no age: hex, uuid, too short, a time before the SDK or in the future
    for (const id of ['5f4dcc3b5aa765d6', '3f2504e0-4f89-41d3-9a0c-0305e82c3301', 'abc', 'zzzzzzzzzzzzzzzz'])
      expect(sdkIdCreatedAt(id, NOW), id).toBeUndefined();
    const old = made(NOW - 396 * 86_400_000);
    expect(
      applyPrivacy(input([pv({ visitor_privacy_mode: 'exempt' })], { idclient: old, policy: exemptSite })),
    ).toMatchObject({ visitorId: undefined, noVisitor: 'tracker-expired' });
    // a fresh cookie date does not rejuvenate an old id
    expect(trackerAge([pv({ cookie_creation_date: new Date(NOW).toISOString() })], `${old}-NO`, NOW)).toBe('expired');
    expect(trackerAge([pv({})], made(NOW - 30 * 86_400_000), NOW)).toBe('ok');
  });

  it('counts opt-out events by name only when the site lists the event, else as other', () => {
    const d = applyPrivacy(
      input(
        [
          pv({ visitor_privacy_mode: 'optout', page: 'secret-page' }),
          { name: 'made.up', data: { visitor_privacy_mode: 'optout' } },
        ],
        { policy: exemptSite },
      ),
    );
    expect(d.optoutEvents).toEqual(['page.display', 'other']);
  });
});

// Property-based: whatever the client sends, exempt output holds only allowlisted names.
const allowed = new Set<string>([
  ...EXEMPT_PROPERTIES,
  'connection_type',
  'device_timestamp_utc',
  'visitor_privacy_consent',
  'visitor_privacy_mode',
  'event_name',
]);
const nameArb = fc.oneof(
  fc.constantFrom(...EXEMPT_PROPERTIES),
  fc.constantFrom(
    'user_id',
    'user_category',
    'user_recognition',
    'ch_ua',
    'ch_ua_model',
    'custom',
    'email',
    'visitor_privacy_mode',
  ),
  fc.stringMatching(/^[a-z_]{1,12}$/),
);
const valueArb = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
);
const eventArb = fc.record({
  name: fc.oneof(fc.constantFrom(...EXEMPT_EVENTS), fc.stringMatching(/^[a-z]{1,8}\.[a-z]{1,8}$/)),
  data: fc.dictionary(nameArb, valueArb, { maxKeys: 30 }),
});
const exemptModeArb = fc.constantFrom('exempt', 'custom', 'no-storage', undefined, 'bogus');

describe('applyPrivacy (property-based)', () => {
  it('exempt-like modes keep no name outside the allowlist and no user_*', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 5 }), exemptModeArb, (events, mode) => {
        const evs = events.map((e) => ({
          name: e.name,
          data: mode === undefined ? { ...e.data } : { ...e.data, visitor_privacy_mode: mode },
        })) as HitEvent[];
        if (mode === undefined) for (const e of evs) delete e.data!.visitor_privacy_mode;
        const d = applyPrivacy(input(evs, { policy: exemptSite }));
        if (d.mode === 'optout') return; // a random visitor_privacy_mode key may say optout: covered below
        for (const e of d.events) {
          expect(EXEMPT_EVENTS).toContain(e.name);
          for (const k of Object.keys(e.props)) {
            expect(k.startsWith('user_')).toBe(false);
            expect(allowed.has(k) || k.startsWith('ch_ua')).toBe(true);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('opt-out bodies never produce a record or a visitor', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { minLength: 1, maxLength: 5 }),
        fc.constantFrom('optout', 'extended-optout', 'no-consent'),
        fc.boolean(),
        (events, mode, optoutId) => {
          const evs = events.map((e) => ({ name: e.name, data: { ...e.data, visitor_privacy_mode: mode } }));
          const d = applyPrivacy(input(evs, { idclient: optoutId ? 'OPT-OUT' : 'abc' }));
          expect(d.mode).toBe('optout');
          expect(d.events).toEqual([]);
          expect(d.visitorId).toBeUndefined();
          expect(d.optoutEvents).toHaveLength(evs.length);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('gpcRequested', () => {
  it('reads Sec-GPC: 1 however the header arrived', () => {
    for (const h of ['1', ' 1 ', '1, 1', '0, 1', ['1', '1'], ['0', '1']])
      expect(gpcRequested(h), JSON.stringify(h)).toBe(true);
    for (const h of [undefined, '', '0', 'true', '11', ['0']]) expect(gpcRequested(h), JSON.stringify(h)).toBe(false);
  });
});
