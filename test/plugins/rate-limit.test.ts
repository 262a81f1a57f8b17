import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BURST_SECONDS, SiteRateLimiter } from '../../src/plugins/rate-limit.js';
import { startTestApp, type TestApp, writeSitesFile } from '../helpers/app.js';

describe('SiteRateLimiter', () => {
  it('lets a burst of BURST_SECONDS × rate through, then refills at the rate', () => {
    let now = 0;
    const limiter = new SiteRateLimiter(
      () => 10,
      () => now,
    );
    expect(limiter.take('a', 10 * BURST_SECONDS)).toBe(0);
    expect(limiter.take('a', 1)).toBe(1);
    now += 500; // half a second: 5 tokens
    expect(limiter.take('a', 5)).toBe(0);
    expect(limiter.take('a', 1)).toBe(1);
    now += 10_000; // refills to the burst, no more
    expect(limiter.take('a', 10 * BURST_SECONDS)).toBe(0);
    expect(limiter.take('a', 1)).toBeGreaterThan(0);
  });

  it('keeps one bucket per site: one site empty, another full', () => {
    const now = 0;
    const limiter = new SiteRateLimiter(
      () => 5,
      () => now,
    );
    expect(limiter.take('flood', 10)).toBe(0);
    expect(limiter.emptyFor('flood')).toBe(1);
    expect(limiter.emptyFor('calm')).toBe(0);
    expect(limiter.take('calm', 10)).toBe(0);
  });

  it('says how long to wait, and never forever for a request larger than the bucket', () => {
    let now = 0;
    const limiter = new SiteRateLimiter(
      () => 2,
      () => now,
    );
    expect(limiter.take('a', 4)).toBe(0);
    expect(limiter.take('a', 3)).toBe(2); // 3 tokens at 2/s
    expect(limiter.take('a', 50)).toBe(2); // needs a full bucket (4 tokens), not 50
    now += 2000;
    expect(limiter.take('a', 50)).toBe(0); // a full bucket lets it through, in debt
    expect(limiter.take('a', 1)).toBe(24); // 46 owed + 1, at 2/s
  });

  it('takeAll: every site of a request or none, the first short site named, no bucket touched then', () => {
    let now = 0;
    const limiter = new SiteRateLimiter(
      (site) => (site === 'free' ? 0 : 2),
      () => now,
    );
    expect(limiter.take('short', 4)).toBe(0); // emptied
    expect(
      limiter.takeAll(
        new Map([
          ['full', 3],
          ['free', 100],
          ['short', 1],
        ]),
      ),
    ).toEqual({ site: 'short', wait: 1 });
    expect(limiter.take('full', 4)).toBe(0); // still full: none of the 3 was taken
    now += 2000;
    expect(
      limiter.takeAll(
        new Map([
          ['full', 3],
          ['short', 4],
          ['free', 100],
        ]),
      ),
    ).toBeUndefined();
    expect(limiter.take('full', 2)).toBe(1); // 1 token left after the 3
    expect(limiter.take('short', 1)).toBe(1); // emptied again
    expect(limiter.takeAll(new Map())).toBeUndefined();
  });

  it('does not limit a site whose rate is 0', () => {
    const limiter = new SiteRateLimiter(
      (site) => (site === 'free' ? 0 : 1),
      () => 0,
    );
    for (let i = 0; i < 1000; i++) expect(limiter.take('free', 50)).toBe(0);
    expect(limiter.emptyFor('free')).toBe(0);
  });

  it('keeps memory bounded when any site id is accepted', () => {
    let now = 0;
    const limiter = new SiteRateLimiter(
      () => 1,
      () => now,
    );
    for (let i = 0; i < 25_000; i++) {
      now += 1;
      limiter.take(`site-${i}`, 1);
    }
    // the newest sites still have their (empty) buckets
    expect(limiter.take('site-24999', 2)).toBeGreaterThan(0);
  });

  it('never forgets the bucket a flooding site has emptied when the table is full of other sites', () => {
    const now = 0;
    const limiter = new SiteRateLimiter(
      () => 10,
      () => now,
    );
    // the flood empties its bucket first (the oldest entry of the table) ...
    expect(limiter.take('flood', 20)).toBe(0);
    expect(limiter.take('flood', 1)).toBeGreaterThan(0);
    // ... then hits on many other sites fill the table with buckets that are not full either
    for (let i = 0; i < 10_000; i++) limiter.take(`other-${i}`, 1);
    // the prune that made room for them must not hand the flood a full bucket again
    expect(limiter.take('flood', 1)).toBeGreaterThan(0);
  });
});

describe('per-site rate limit over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      SITES_FILE: writeSitesFile({
        flood: { rateLimit: 20 },
        calm: { rateLimit: 20 },
        free: { rateLimit: 0 },
        other: {},
      }),
      SITE_RATE_LIMIT: '5',
      // what is tested is the rate limit, not the sink's timeout: 200 hits at once on a
      // busy machine must not turn into 503s while they wait for Redis
      SINK_TIMEOUT_MS: '10000',
    });
  });
  afterAll(() => t.close());

  const hit = (site: string, page: string, events = 1) =>
    t.app.inject({
      method: 'POST',
      url: `/event?s=${site}&idclient=abcdefgh12345678`,
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({
        events: Array.from({ length: events }, (_, i) => ({ name: 'page.display', data: { page: `${page}-${i}` } })),
      }),
    });

  it("answers 429 with Retry-After over a site's limit, stores nothing of those hits, and serves another site meanwhile", async () => {
    const floodStatuses: number[] = [];
    const calmStatuses: number[] = [];
    // 200 flood requests and 10 calm ones, interleaved, as fast as they go (bounded)
    const flood = Array.from({ length: 200 }, (_, i) =>
      hit('flood', `f${i}`).then((r) => {
        floodStatuses.push(r.statusCode);
        if (r.statusCode === 429) {
          expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
          expect(r.json()).toMatchObject({ statusCode: 429, error: 'rate_limited' });
        }
      }),
    );
    const calm = Array.from({ length: 10 }, (_, i) =>
      hit('calm', `c${i}`).then((r) => calmStatuses.push(r.statusCode)),
    );
    const started = performance.now();
    await Promise.all([...flood, ...calm]);
    const seconds = (performance.now() - started) / 1000;
    const accepted = floodStatuses.filter((s) => s === 204).length;
    // every flood hit is taken or refused with 429; taken: the burst (2 s of 20/s), plus
    // at most what the bucket refilled while they were answered (on any machine)
    expect(floodStatuses.filter((s) => s === 429).length).toBe(200 - accepted);
    expect(accepted).toBeGreaterThanOrEqual(40);
    expect(accepted).toBeLessThanOrEqual(40 + Math.ceil(20 * seconds));
    expect(calmStatuses).toEqual(Array(10).fill(204));
    const recs = await t.records();
    expect(recs.filter((r) => r.site === 'flood').length).toBe(accepted);
    expect(recs.filter((r) => r.site === 'calm').length).toBe(10);
  });

  it('counts events, not requests, and leaves a site with rateLimit 0 alone', async () => {
    // SITE_RATE_LIMIT=5 (burst 10) applies to a site without its own rateLimit
    expect((await hit('other', 'o1', 10)).statusCode).toBe(204);
    expect((await hit('other', 'o2', 1)).statusCode).toBe(429);
    // a site's own rateLimit 0 is no limit at all
    for (let i = 0; i < 30; i++) expect((await hit('free', `x${i}`, 50)).statusCode).toBe(204);
  });

  it('counts 429s in /metrics', async () => {
    const text = (await t.operator.inject({ url: '/metrics' })).body;
    expect(text).toMatch(/^collector_hits_refused_total\{tracker="piano",reason="rate_limited",mode="[a-z]+"\} \d+/m);
    expect(text).toMatch(/^collector_rate_limited_events_total [1-9]\d*/m);
  });
});
