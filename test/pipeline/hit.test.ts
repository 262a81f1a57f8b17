// The whole pipeline, one hit at a time (src/pipeline/hit.ts): client address →
// truncation → privacy mode → geolocation → pseudonym → records encoded for their stream,
// or anonymous opt-out counters. Real steps throughout: the embedded geolocation database,
// a real Pseudonymiser, real site policies.
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedGeoipDbs } from '../../src/config/index.js';
import { optoutCounterKey, shardKey, streamKeys } from '../../src/contract/keys.js';
import { decodeRecord, type HitRecord } from '../../src/contract/record.js';
import { createTrustedProxies } from '../../src/pipeline/client-ip.js';
import { Geolocator } from '../../src/pipeline/geolocate.js';
import { createHitProcessor, type HitDeps, type HitInput } from '../../src/pipeline/hit.js';
import { Pseudonymiser } from '../../src/pipeline/pseudonymise.js';
import { createRecordIds } from '../../src/pipeline/record.js';
import type { HitEvent } from '../../src/contract/wire.js';
import { compilePolicy } from '../../src/policy/sites.js';

const NOW = Date.parse('2026-11-29T12:34:56Z');
const VISITOR = 'mx1ai3fsjp7z2jhr'; // an SDK-made id, created 2026-11-29
const GB_IP = '81.2.69.142';
const secret = Buffer.from('0123456789abcdef0123456789abcdef');
const pseudonymiser = new Pseudonymiser([{ id: 'k1', secret }]);
const keys = streamKeys('hits', 4);
const optinSite = compilePolicy('123456', { maxMode: 'optin' });
const exemptSite = compilePolicy('654321');

const geolocator = await Geolocator.open(embeddedGeoipDbs());
afterAll(() => geolocator.close());

const deps = (over: Partial<HitDeps> = {}): HitDeps => ({
  geolocator,
  pseudonymiser,
  isTrustedProxy: createTrustedProxies(['127.0.0.1']),
  recordIdSecret: secret,
  streamKeys: keys,
  counterTtlSeconds: 3600,
  ...over,
});
const processOrRefuse = createHitProcessor(deps());
/** The processor's output, or a failed test when it refuses a property. */
const processHit = (i: HitInput) => {
  const out = processOrRefuse(i);
  if ('problem' in out) throw new Error(`refused: ${JSON.stringify(out.problem)}`);
  return out;
};

const pv = (data: Record<string, unknown>, name = 'page.display') => ({ name, data }) as HitEvent;
const OPTIN = { visitor_privacy_mode: 'optin', visitor_privacy_consent: true };

function input(events: HitEvent[], over: Partial<HitInput> = {}): HitInput {
  return {
    site: '123456',
    policy: optinSite,
    idclient: VISITOR,
    events,
    rawBody: JSON.stringify({ events }),
    peer: '127.0.0.1',
    forwardedFor: GB_IP,
    gpc: false,
    receivedAt: NOW,
    ...over,
  };
}

const records = (out: { entries: { hit: string }[] } | { problem: unknown }) => {
  if ('problem' in out) throw new Error(`refused: ${JSON.stringify(out.problem)}`);
  return out.entries.map((e) => decodeRecord(['v', '1', 'hit', e.hit])!);
};

describe('createHitProcessor', () => {
  it('refuses a property the edge refuses, with its path, before anything is made', () => {
    const out = processOrRefuse(input([pv({ ...OPTIN, page: 'ok' }), pv({ page: { a: { b: { c: 1 } } } })]));
    expect(out).toEqual({
      problem: { path: ['events', 1, 'data', 'page', 'a', 'b'], message: 'nested deeper than 3 levels' },
    });
    expect(processOrRefuse(input([pv({ 'bad key': 1 })]))).toMatchObject({
      problem: { path: ['events', 0, 'data', 'bad key'] },
    });
  });

  it('makes one record per kept event: city-level place of the forwarded address, pseudonym, ids, shard', () => {
    const i = input([pv({ ...OPTIN, page: 'home', user_id: 'u1' }), pv({ ...OPTIN, click: 'buy' }, 'click.action')]);
    const out = processHit(i);
    expect(out).toMatchObject({ mode: 'optin', counters: [], dropped: { events: 0, properties: 0 } });
    const recs = records(out);
    const visitor = pseudonymiser.pseudonymise('123456', VISITOR);
    const idOf = createRecordIds(secret)('123456', VISITOR, i.rawBody);
    expect(recs).toEqual<HitRecord[]>([
      {
        id: idOf(0),
        site: '123456',
        event: 'page.display',
        mode: 'optin',
        ts: NOW,
        visitor,
        geo: expect.objectContaining({ country: 'GB' }),
        props: { ...OPTIN, page: 'home', user_id: 'u1' },
      },
      {
        id: idOf(1),
        site: '123456',
        event: 'click.action',
        mode: 'optin',
        ts: NOW,
        visitor,
        geo: expect.objectContaining({ country: 'GB' }),
        props: { ...OPTIN, click: 'buy' },
      },
    ]);
    expect(Object.keys(recs[0]!.geo!).every((k) => ['country', 'region', 'city'].includes(k))).toBe(true);
    expect(out.entries.map((e) => e.key)).toEqual(recs.map((r) => shardKey(keys, r.visitor, r.id)));
  });

  it('lets neither the raw visitor id nor the client address out', () => {
    const out = processHit(
      input([pv({ ...OPTIN, page: `home of ${VISITOR}`, pageview_id: `${VISITOR.slice(0, 8)}abcd` })]),
    );
    const text = JSON.stringify(out);
    expect(text).not.toContain(VISITOR);
    expect(text).not.toContain(VISITOR.slice(0, 8));
    expect(text).not.toContain(GB_IP);
    expect(text).not.toContain('81.2.69');
  });

  it('applies the exempt allowlists on an exempt site, and counts what it dropped', () => {
    const out = processHit(
      input([pv({ ...OPTIN, page: 'home', user_id: 'u1', custom: 1 }), pv({}, 'product.display')], {
        site: '654321',
        policy: exemptSite,
      }),
    );
    expect(out.mode).toBe('exempt');
    expect(records(out).map((r) => [r.event, r.props])).toEqual([['page.display', { ...OPTIN, page: 'home' }]]);
    expect(out.dropped).toEqual({ events: 1, properties: 2 });
  });

  it('ignores X-Forwarded-For from a peer it does not trust: the peer is the client', () => {
    const out = processHit(input([pv({ ...OPTIN, page: 'home' })], { peer: '90.12.34.56', forwardedFor: GB_IP }));
    expect(records(out)[0]!.geo?.country).toBe('FR');
    expect(JSON.stringify(out)).not.toContain('90.12.34');
  });

  it('gives no place when geolocation is off, and no visitor in no-storage mode', () => {
    const noGeo = createHitProcessor(deps({ geolocator: Geolocator.disabled() }));
    expect(records(noGeo(input([pv({ ...OPTIN, page: 'home' })])))[0]).not.toHaveProperty('geo');
    const noStorage = records(processHit(input([pv({ visitor_privacy_mode: 'no-storage', page: 'home' })])))[0]!;
    expect(noStorage).not.toHaveProperty('visitor');
    expect(noStorage.mode).toBe('exempt');
  });

  it('turns an opt-out into anonymous counters only: no record, no place, no visitor', () => {
    const out = processHit(
      input(
        [pv({ visitor_privacy_mode: 'optout', page: 'secret' }), pv({ visitor_privacy_mode: 'optout' }, 'made.up')],
        { site: '654321', policy: exemptSite },
      ),
    );
    expect(out.entries).toEqual([]);
    expect(out.mode).toBe('optout');
    expect(out.counters).toEqual([
      { key: optoutCounterKey('654321', NOW), field: 'page.display', ttlSeconds: 3600 },
      { key: optoutCounterKey('654321', NOW), field: 'other', ttlSeconds: 3600 },
    ]);
    expect(JSON.stringify(out)).not.toMatch(/secret|GB|k1\./);
  });

  // Several events in one request: the most restrictive claim wins, wherever it stands.
  it('[optout, optin] in one request (the opt-out first) stores nothing and only counts', () => {
    const out = processHit(
      input([pv({ visitor_privacy_mode: 'optout', page: 'a' }), pv({ ...OPTIN, page: 'b', user_id: 'u1' })]),
    );
    expect(out.mode).toBe('optout');
    expect(out.entries).toEqual([]);
    expect(out.counters.map((c) => c.field)).toEqual(['page.display', 'page.display']);
  });

  it('[exempt, optin] in one request is exempt: allowlists for both events, no user_*', () => {
    const out = processHit(
      input([pv({ visitor_privacy_mode: 'exempt', page: 'a' }), pv({ ...OPTIN, page: 'b', user_id: 'u1', custom: 1 })]),
    );
    expect(out.mode).toBe('exempt');
    const recs = records(out);
    expect(recs.map((r) => r.mode)).toEqual(['exempt', 'exempt']);
    expect(recs[1]!.props).toEqual({ ...OPTIN, page: 'b' });
  });
});
