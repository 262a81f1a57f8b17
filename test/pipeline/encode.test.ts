// The hot path's one walk (src/pipeline/encode.ts, chained in hit.ts) against the
// reference path spelled out on objects — the full edge schema, applyPrivacy,
// hideRawVisitorId, buildRecord, JSON.stringify — for every mode, every kind of site
// and hostile values: the same stream entries byte for byte, the same counters, the
// same counts of what was dropped and redacted, and the same first problem.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { embeddedGeoipDbs } from '../../src/config/index.js';
import { optoutCounterKey, streamKeys } from '../../src/contract/keys.js';
import { anonymiseIp } from '../../src/pipeline/anonymise-ip.js';
import { createTrustedProxies, extractClientIp } from '../../src/pipeline/client-ip.js';
import { encodeRecord, walkProperties } from '../../src/pipeline/encode.js';
import { Geolocator } from '../../src/pipeline/geolocate.js';
import { createHitProcessor, type HitInput } from '../../src/pipeline/hit.js';
import { clientIdScope, Pseudonymiser } from '../../src/pipeline/pseudonymise.js';
import { applyPrivacy, buildRecord, hideRawVisitorId, toEntry } from '../helpers/reference-path.js';
import { createRecordIds } from '../../src/pipeline/record.js';
import { bodySchema, firstProblem, type HitEvent } from '../../src/contract/wire.js';
import { ALWAYS_ALLOWED_PROPERTIES, EXEMPT_EVENTS, EXEMPT_PROPERTIES } from '../../src/policy/allowlists.js';
import { compilePolicy } from '../../src/policy/sites.js';
import { noRuleCounts } from '../../src/policy/exempt-values.js';
import { depthOf, hostileValueArb } from '../helpers/hostile.js';

const NOW = Date.now();
const secret = Buffer.from('0123456789abcdef0123456789abcdef');
const pseudonymiser = new Pseudonymiser([{ id: 'k1', secret }]);
const geolocator = await Geolocator.open(embeddedGeoipDbs());
afterAll(() => geolocator.close());
const deps = {
  geolocator,
  pseudonymiser,
  isTrustedProxy: createTrustedProxies(['127.0.0.1']),
  recordIdSecret: secret,
  streamKeys: streamKeys('hits', 3),
  counterTtlSeconds: 3600,
};
const processHit = createHitProcessor(deps);
const recordIds = createRecordIds(secret);

/** The reference: validate everything, then filter on objects, then stringify. */
function reference(input: HitInput) {
  const parsed = bodySchema.safeParse({ events: input.events });
  if (!parsed.success) return { problem: firstProblem(parsed.error).path };
  const d = applyPrivacy({
    events: input.events,
    idclient: input.idclient,
    policy: input.policy,
    gpc: input.gpc,
    now: input.receivedAt,
  });
  if (d.mode === 'optout') {
    const key = optoutCounterKey(input.site, input.receivedAt);
    return {
      entries: [],
      counters: d.optoutEvents.map((field) => ({ key, field, ttlSeconds: 3600 })),
      mode: d.mode,
      dropped: d.dropped,
      rules: d.rules,
    };
  }
  const mode = d.mode;
  const geo = geolocator.lookup(anonymiseIp(extractClientIp(input.peer, input.forwardedFor, deps.isTrustedProxy)));
  const visitor = d.visitorId ? pseudonymiser.pseudonymise(input.site, d.visitorId) : undefined;
  const idOf = recordIds(input.site, input.idclient, input.rawBody);
  const idScope = clientIdScope(visitor, idOf(0), input.receivedAt);
  const entries = d.events.map((e) =>
    toEntry(
      buildRecord(idOf(e.index), {
        site: input.site,
        event: e.name,
        mode,
        ...(input.tracker ? { tracker: input.tracker } : {}),
        ts: input.receivedAt,
        visitor,
        geo,
        props: hideRawVisitorId(e.props, input.site, input.idclient, pseudonymiser, input.receivedAt, idScope),
      }),
      deps.streamKeys,
    ),
  );
  return { entries, counters: [], mode: d.mode, dropped: d.dropped, rules: d.rules };
}

const sdkId = `${NOW.toString(36)}k3j5h7g9`;
const ALLOWED = [...EXEMPT_PROPERTIES, ...ALWAYS_ALLOWED_PROPERTIES];
// (now and then a name or a value the edge refuses)
const nameArb = fc.oneof(
  { arbitrary: fc.constantFrom(...ALLOWED), weight: 18 },
  {
    arbitrary: fc.constantFrom(
      'user_id',
      'User_Category',
      'ch_ua_user_id',
      'pageview_id',
      'cookie_creation_date',
      'article_type',
      'utm_source',
      '0',
      '17',
    ),
    weight: 9,
  },
  { arbitrary: fc.stringMatching(/^[a-z_]{1,10}$/), weight: 6 },
  { arbitrary: fc.constantFrom('bad key', ''), weight: 1 },
);
const valueArb = fc.oneof(
  { arbitrary: hostileValueArb.map((h) => h.value).filter((v) => depthOf(v) <= 2), weight: 8 },
  {
    arbitrary: fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)),
    weight: 8,
  },
  {
    arbitrary: fc.constantFrom(
      `x${sdkId}`,
      sdkId.toUpperCase(),
      `${sdkId.slice(0, 8)}5saqoq44`,
      new Date(NOW).toISOString(),
      '2026-02-31',
    ),
    weight: 3,
  },
  { arbitrary: fc.constantFrom('x'.repeat(8193), [[[['deep']]]]), weight: 1 },
);
const modeArb = fc.oneof(
  { arbitrary: fc.constantFrom('optin', 'exempt', 'custom', 'no-storage', 'bogus', undefined), weight: 6 },
  { arbitrary: fc.constantFrom('optout', 'extended-optout', 'no-consent'), weight: 1 },
);
const eventArb = fc.record({
  name: fc.oneof(fc.constantFrom(...EXEMPT_EVENTS, 'product.display'), fc.stringMatching(/^[a-z]{1,6}\.[a-z]{1,6}$/)),
  data: fc.option(
    fc.tuple(fc.dictionary(nameArb, valueArb, { maxKeys: 12 }), modeArb, fc.boolean()).map(([data, mode, consent]) => ({
      ...data,
      ...(mode === undefined ? {} : { visitor_privacy_mode: mode }),
      visitor_privacy_consent: consent,
    })),
    { nil: undefined },
  ),
});
const inputArb = fc.record({
  events: fc.array(eventArb, { minLength: 1, maxLength: 3 }),
  policy: fc.constantFrom(
    compilePolicy('s1', { maxMode: 'optin' }),
    compilePolicy('s1'),
    compilePolicy('s1', { allow: { properties: ['article_type'], events: ['product.display'] } }),
  ),
  idclient: fc.constantFrom(
    sdkId,
    `${sdkId}-NO`,
    'my-visitor-42',
    'OPT-OUT',
    'no-storage',
    undefined,
    `${(NOW - 400 * 86_400_000).toString(36)}k3j5h7g9`,
  ),
  gpc: fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, { arbitrary: fc.constant(true), weight: 1 }),
  forwardedFor: fc.constantFrom('81.2.69.142', '2002:1f31:c8::1', 'garbage', undefined),
  tracker: fc.constantFrom(undefined, 'matomo' as const, 'plausible' as const),
});

describe('the one walk', () => {
  it('gives what the reference path gives: entries byte for byte, counters, counts, first problem', () => {
    let records = 0;
    let problems = 0;
    fc.assert(
      fc.property(inputArb, (i) => {
        const events = i.events as HitEvent[];
        const input: HitInput = {
          site: 's1',
          policy: i.policy,
          idclient: i.idclient,
          events,
          rawBody: JSON.stringify({ events }),
          peer: '127.0.0.1',
          forwardedFor: i.forwardedFor,
          gpc: i.gpc,
          receivedAt: NOW,
          ...(i.tracker ? { tracker: i.tracker } : {}),
        };
        const expected = reference(input);
        const actual = processHit(input);
        if ('problem' in expected) {
          problems++;
          expect('problem' in actual && actual.problem.path.join('.')).toBe(expected.problem);
          return;
        }
        records += expected.entries.length;
        expect(actual).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
    // the generators reach both sides (runs are not seeded: over many runs the counts
    // were 720–780 records and 1250–1300 problems, so these floors sit far below them)
    expect(records).toBeGreaterThan(300);
    expect(problems).toBeGreaterThan(300);
  });

  it('writes nothing but checks everything for an event it drops', () => {
    const w = {
      keep: 'none' as const,
      countDropped: false,
      policy: compilePolicy('s1'),
      site: 's1',
      now: NOW,
      needles: [],
      pseudonymiser,
      idScope: '',
      rules: noRuleCounts(),
      dropped: { properties: 0 },
    };
    expect(walkProperties({ a: 1, b: 'x' }, w)).toBe('{}');
    expect(walkProperties({ a: 1, b: { c: { d: { e: 1 } } } }, w)).toEqual({
      path: ['b', 'c', 'd'],
      message: 'nested deeper than 3 levels',
    });
    expect(w.dropped.properties).toBe(0);
  });

  it('encodes a record as JSON.stringify does, field order included', () => {
    const r = {
      id: 'abc.0',
      site: 's"1',
      event: 'page.display',
      mode: 'exempt' as const,
      tracker: 'matomo' as const,
      ts: NOW,
      visitor: 'k1.x',
      geo: { country: 'GB', city: 'Bath "Spa"' },
    };
    expect(encodeRecord(r, '{"page":"a"}')).toBe(JSON.stringify({ ...r, props: { page: 'a' } }));
    expect(encodeRecord({ id: 'a.1', site: 's', event: 'e', mode: 'optin', ts: 1 }, '{}')).toBe(
      '{"id":"a.1","site":"s","event":"e","mode":"optin","ts":1,"props":{}}',
    );
  });
});
