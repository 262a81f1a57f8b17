// The fuzz of POST /event (test/routes/collect.fuzz-*.test.ts): generated hostile bodies
// through the whole app (app.inject: routing, parser, validation, pipeline, real Redis
// sink). Zero 5xx, every refusal a 4xx JSON error, no prototype pollution, no crash.
// One file per content type the SDK uses, so that the two halves (~30 s of CPU each)
// run side by side.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './app.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 50_000); // per content type
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
// ~30 s per content type on a quiet 2-core machine (~0.5 ms per case through app.inject);
// a busy one takes several times that, which is no failure
const FUZZ_TIMEOUT_MS = Math.max(300_000, RUNS * 6);

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const nastyString = fc.oneof(
  { weight: 10, arbitrary: fc.string({ maxLength: 20 }) },
  {
    weight: 6,
    arbitrary: fc.string({
      unit: fc.oneof(
        fc.constantFrom('\u0000', '\u001f', '"', '\\', '\u2028', '\ufeff'),
        loneSurrogate,
        fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
      ),
      maxLength: 20,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' '),
  },
  { weight: 1, arbitrary: fc.integer({ min: 8180, max: 8200 }).map((n) => 'x'.repeat(n)) }, // around the 8192-char limit
);
const key = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom('page', 'page_chapter1', 'visitor_privacy_mode', 'user_id', 'a.b', 'x$y', 'n:1'),
  },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', '__defineGetter__', 'valueOf') },
  { weight: 1, arbitrary: nastyString },
);
const hugeNumber = fc.constantFrom(
  '1e400',
  '-1e400',
  '1e-400',
  '123456789012345678901234567890123456789',
  '-0',
  '0.0000000000000000000001',
  '9007199254740993',
);
// JSON text built by hand, so that it can hold what JSON.stringify never writes
// (duplicate and forbidden keys, numbers beyond double range)
const jsonText: fc.Arbitrary<string> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant('null'),
    fc.boolean().map(String),
    fc.double().map((d) => (Number.isFinite(d) ? String(d) : '1e999')),
    hugeNumber,
    nastyString.map((s) => JSON.stringify(s)),
    loneSurrogate.map((s) => `"\\u${s.charCodeAt(0).toString(16)}"`),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }).map((xs) => `[${xs.join(',')}]`),
  object: fc
    .array(fc.tuple(key, tie('value')), { maxLength: 5 })
    .map((kv) => `{${kv.map(([k, v]) => `${JSON.stringify(k)}:${String(v)}`).join(',')}}`),
})).value as fc.Arbitrary<string>;

const eventText = fc
  .record({
    name: fc.oneof(
      fc.constantFrom('"page.display"', '"click.action"', '""', '1', 'null', '"a b"', '["page.display"]'),
      jsonText,
    ),
    data: fc.oneof(
      {
        weight: 3,
        arbitrary: fc.dictionary(key, jsonText, { maxKeys: 8 }).map(
          (d) =>
            `{${Object.entries(d)
              .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
              .join(',')}}`,
        ),
      },
      jsonText,
    ),
    extra: fc.option(
      fc.constantFrom('"__proto__":{"polluted":1}', '"constructor":{"prototype":{"polluted":1}}', '"name":"dup"'),
      { nil: undefined },
    ),
  })
  .map((e) => `{"name":${e.name},"data":${e.data}${e.extra ? `,${e.extra}` : ''}}`);

const deep = fc
  .integer({ min: 2, max: 5000 })
  .map((n) => `{"events":[{"name":"page.display","data":{"a":${'['.repeat(n)}1${']'.repeat(n)}}}]}`);
// plausible hits with small twists, so that a fair share gets through to Redis
const plausibleEvent = fc
  .record({
    name: fc.constantFrom('page.display', 'click.action', 'click.exit', 'custom.event'),
    data: fc.dictionary(
      fc.constantFrom('page', 'page_chapter1', 'visitor_privacy_mode', 'user_id', 'n', 'ch_ua', 'x$y'),
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.double(),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
      ),
      { maxKeys: 6 },
    ),
  })
  .map((e) => JSON.stringify(e));
const wellFormed = fc
  .array(fc.oneof(plausibleEvent, eventText), { minLength: 0, maxLength: 4 })
  .map((es) => `{"events":[${es.join(',')}]}`);
const wrongShape = fc.oneof(
  jsonText,
  fc.constantFrom(
    '{"events":{}}',
    '{"events":"page.display"}',
    '{"events":null}',
    '[]',
    '""',
    '{"__proto__":{"events":[]}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
  ),
);
const bodyText = fc.oneof(
  { weight: 5, arbitrary: wellFormed },
  { weight: 2, arbitrary: wrongShape },
  { weight: 1, arbitrary: deep },
  { weight: 2, arbitrary: fc.tuple(wellFormed, fc.nat()).map(([s, n]) => s.slice(0, n % (s.length + 1))) }, // truncated, empty
  { weight: 1, arbitrary: fc.constantFrom('', ' ', 'null', '{', '{"events":[', 'x'.repeat(70 * 1024)) },
);
// bytes: mostly the text as UTF-8, sometimes with invalid UTF-8 spliced in
const body = fc.oneof(
  { weight: 6, arbitrary: bodyText.map((s) => Buffer.from(s, 'utf8')) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        bodyText,
        fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a.map((b) => b | 0x80))),
        fc.nat(),
      )
      .map(([s, junk, at]) => {
        const b = Buffer.from(s, 'utf8');
        const i = at % (b.length + 1);
        return Buffer.concat([b.subarray(0, i), junk, b.subarray(i)]);
      }),
  },
);
const query = fc.oneof(
  { weight: 8, arbitrary: fc.constant('s=424242&idclient=lpw0hd7t9bz0ecov') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      's=',
      's=a%ZZ',
      's=424242&s=two',
      'idclient=x',
      's=424242&idclient=%00',
      `s=424242&idclient=${'x'.repeat(300)}`,
      's=__proto__&idclient=constructor',
    ),
  },
);

/** Defines the fuzz of one content type: RUNS bodies (seed FUZZ_SEED + seedOffset), then a check that the app still works. */
export function describeFuzz(contentType: string, seedOffset: number): void {
  describe(`fuzz: hostile ${contentType} bodies through the whole app`, () => {
    let t: TestApp;
    const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
    beforeAll(async () => {
      // the event-loop guard is off here: this loop keeps the loop busy on purpose, and
      // a shed 503 would hide what is being tested (parsing and validation); likewise the
      // sink timeout is long, so a Redis slowed by a busy CI machine cannot give a 503
      t = await startTestApp({
        MAX_EVENT_LOOP_DELAY_MS: '0',
        LOG_LEVEL: 'warn',
        STREAM_MAXLEN: '1000',
        SINK_TIMEOUT_MS: '10000',
      });
    });
    afterAll(() => t?.close());

    // a different seed per content type: 2 x RUNS distinct bodies
    const seed = SEED + seedOffset;
    it(
      `${contentType}: ${RUNS} bodies, zero 5xx, every refusal a 4xx JSON error (seed ${seed})`,
      async () => {
        const statuses: Record<number, number> = {};
        await fc.assert(
          fc.asyncProperty(body, query, async (payload, q) => {
            const res = await t.app.inject({
              method: 'POST',
              url: `/event?${q}`,
              headers: { 'content-type': contentType, origin: 'https://example.com' },
              payload,
            });
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            if (res.statusCode >= 500) throw new Error(`${res.statusCode}: ${res.body}`);
            if (res.statusCode >= 400) {
              const err = res.json<Record<string, unknown>>();
              if (err.statusCode !== res.statusCode || typeof err.error !== 'string' || typeof err.message !== 'string')
                throw new Error(`bad error body ${res.body}`);
            } else if (res.statusCode !== 204) throw new Error(`unexpected ${res.statusCode}`);
            if (({} as Record<string, unknown>).polluted !== undefined) throw new Error('Object.prototype polluted');
          }),
          { numRuns: RUNS, seed, endOnFailure: false },
        );
        const seen = `statuses ${JSON.stringify(statuses)}`;
        expect(
          Object.keys(statuses).every((s) => Number(s) < 500),
          seen,
        ).toBe(true);
        expect(statuses[204], seen).toBeGreaterThan(0); // the generator does produce valid hits
        expect(statuses[400], seen).toBeGreaterThan(0);
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore);
      },
      FUZZ_TIMEOUT_MS,
    );

    it('the app still works after the fuzz, and records carry no polluted key', async () => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/event?s=424242&idclient=abc',
        headers: { 'content-type': 'text/plain' },
        payload: '{"events":[{"name":"page.display","data":{"page":"after"}}]}',
      });
      expect(res.statusCode).toBe(204);
      const raw = await t.rawStream();
      expect(raw).not.toContain('polluted');
    });
  });
}
