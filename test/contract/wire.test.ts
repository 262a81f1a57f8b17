import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../../src/routes/collect.js';
import { bodySchema, firstProblem, LIMITS, querySchema, rawQueryParams } from '../../src/contract/wire.js';

const fixturesDir = path.resolve(import.meta.dirname, '../fixtures/sdk');
const sdkRequests = (() => {
  try {
    return readdirSync(fixturesDir)
      .filter((f) => f.endsWith('.json') && !f.startsWith('sdk-'))
      .flatMap((f) =>
        (
          JSON.parse(readFileSync(path.join(fixturesDir, f), 'utf8')).requests as {
            body: string;
            rawQueryString: string;
          }[]
        ).map((r) => ({ file: f, ...r })),
      );
  } catch {
    return [];
  }
})();

function problem(body: unknown) {
  const r = bodySchema.safeParse(body);
  return r.success ? undefined : firstProblem(r.error);
}

describe('body validation', () => {
  it('accepts every body the real SDK sent (fixtures)', () => {
    expect(sdkRequests.length).toBeGreaterThan(0);
    for (const req of sdkRequests) {
      if (!req.body) continue;
      const r = bodySchema.safeParse(parseJsonBody(req.body));
      expect(r.success, `${req.file}: ${r.success ? '' : JSON.stringify(firstProblem(r.error))}`).toBe(true);
    }
  });

  it('accepts a page.display as the SDK builds it', () => {
    expect(
      problem({
        events: [
          {
            name: 'page.display',
            data: {
              page: 'home',
              page_chapter1: 'a',
              event_url_full: 'https://x.test/?q=1',
              visitor_privacy_mode: 'optin',
              visitor_privacy_consent: true,
              ch_ua_full_version_list: [{ brand: 'Chromium', version: '156' }],
              device_screen_width: 1280,
            },
          },
        ],
      }),
    ).toBeUndefined();
  });

  it('names the first problem with its path', () => {
    expect(problem({})).toEqual({ path: 'events', message: 'events must be an array' });
    expect(problem({ events: [] })).toEqual({ path: 'events', message: 'no event' });
    expect(problem({ events: [{ name: '' }] })).toMatchObject({ path: 'events.0.name' });
    expect(problem({ events: [{ name: 'page.display', data: { page: Number.POSITIVE_INFINITY } }] })).toMatchObject({
      path: 'events.0.data.page',
    });
    expect(problem({ events: [{ name: 'a', data: { 'bad key': 1 } }] })).toEqual({
      path: 'events.0.data.bad key',
      message: 'property name may only hold letters, digits and _ : . $ -',
    });
  });

  it('bounds events, properties, strings, arrays and depth', () => {
    const ev = { name: 'page.display' };
    expect(problem({ events: Array(LIMITS.eventsPerRequest).fill(ev) })).toBeUndefined();
    expect(problem({ events: Array(LIMITS.eventsPerRequest + 1).fill(ev) })).toEqual({
      path: 'events',
      message: 'more than 50 events',
    });
    const many = Object.fromEntries(Array.from({ length: LIMITS.propertiesPerEvent + 1 }, (_, i) => [`p${i}`, i]));
    expect(problem({ events: [{ name: 'a', data: many }] })).toEqual({
      path: 'events.0.data',
      message: 'more than 200 properties',
    });
    expect(problem({ events: [{ name: 'a', data: { s: 'x'.repeat(LIMITS.stringLength + 1) } }] })).toEqual({
      path: 'events.0.data.s',
      message: 'string longer than 8192 characters',
    });
    expect(problem({ events: [{ name: 'a', data: { a: Array(LIMITS.arrayItems + 1).fill(1) } }] })).toEqual({
      path: 'events.0.data.a',
      message: 'array longer than 100 items',
    });
    expect(problem({ events: [{ name: 'a', data: { a: { b: { c: 1 } } } }] })).toBeUndefined();
    // which problem, and where: the fourth level, not merely "something"
    expect(problem({ events: [{ name: 'a', data: { a: { b: { c: { d: 1 } } } } }] })).toEqual({
      path: 'events.0.data.a.b.c',
      message: 'nested deeper than 3 levels',
    });
  });

  it('refuses wrong types', () => {
    expect(problem({ events: 'x' })).toBeDefined();
    expect(problem({ events: [{ name: 5 }] })).toBeDefined();
    expect(problem({ events: [{ name: 'a', data: [] }] })).toBeDefined();
    expect(problem([])).toBeDefined();
  });
});

describe('JSON parsing', () => {
  it('refuses prototype poisoning', () => {
    expect(() => parseJsonBody('{"events":[],"__proto__":{"polluted":1}}')).toThrow(/forbidden/);
    expect(() => parseJsonBody('{"constructor":{"prototype":{"polluted":1}}}')).toThrow(/forbidden/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses empty and truncated bodies with a clear message', () => {
    expect(() => parseJsonBody('')).toThrow(/empty body/);
    expect(() => parseJsonBody('{"events":[')).toThrow(/not valid JSON/);
  });
});

describe('query', () => {
  it('reads s and idclient without treating + as a space and survives malformed %', () => {
    expect(rawQueryParams('/event?s=123&idclient=a+b%zz')).toEqual({ s: '123', idclient: 'a+b%zz' });
    expect(rawQueryParams('/event?s=123&idclient=a%20b')).toMatchObject({ idclient: 'a b' });
  });

  it('requires a well-formed site and refuses repeated parameters', () => {
    expect(querySchema.safeParse({ s: '123', idclient: 'lpw0hd7t9bz0ecov' }).success).toBe(true);
    expect(querySchema.safeParse({ s: '550e8400-e29b-41d4-a716-446655440000' }).success).toBe(true);
    expect(querySchema.safeParse({}).success).toBe(false);
    expect(querySchema.safeParse({ s: 'a b' }).success).toBe(false);
    expect(querySchema.safeParse(rawQueryParams('/event?s=1&s=2')).success).toBe(false);
    expect(querySchema.safeParse({ s: '1', idclient: 'x'.repeat(LIMITS.visitorIdLength + 1) }).success).toBe(false);
  });
});
