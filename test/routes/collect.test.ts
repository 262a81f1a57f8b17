// Through the real HTTP server, a real Redis and a real .mmdb, with the SDK's own bodies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay, sdkRequest } from '../helpers/fixtures.js';
import { startTestApp, type TestApp, writeSitesFile } from '../helpers/app.js';

const PUBLIC_IP = '81.2.69.142'; // GB in both the embedded and the GeoLite2 City data
const SPOOFED_IP = '90.12.34.56'; // FR

describe('POST /event end to end', () => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    // a site with a consent banner: opt-in hits keep everything
    t = await startTestApp({
      TRUST_PROXY: '127.0.0.1',
      SITES_FILE: writeSitesFile({ '123456': { maxMode: 'optin' }, '1': {} }),
    });
    base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => t.close());

  it('stores a hit in the SDK exact format as the documented record', async () => {
    const req = sdkRequest('optin');
    const res = await replay(base, req, { headers: { 'x-forwarded-for': PUBLIC_IP } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(req.headers.origin);
    const records = await t.records();
    const rec = records.find((r) => r.event === 'page.display')!;
    expect(rec).toBeDefined();
    expect(Object.keys(rec).sort()).toEqual(['event', 'geo', 'id', 'mode', 'props', 'site', 'ts', 'visitor']);
    expect(rec.site).toBe('123456');
    expect(rec.mode).toBe('optin');
    expect(rec.visitor).toMatch(/^k1\.[A-Za-z0-9_-]{22}$/);
    expect(rec.geo).toMatchObject({ country: 'GB' });
    expect(Object.keys(rec.geo as object).every((k) => ['country', 'region', 'city'].includes(k))).toBe(true);
    expect(typeof rec.ts).toBe('number');
    expect(Math.abs((rec.ts as number) - Date.now())).toBeLessThan(60_000);
    expect((rec.props as Record<string, unknown>).page).toBe('home');
    const raw = await t.redis.xrange(t.app.streamKeys[0]!, '-', '+');
    expect(raw[0]![1].slice(0, 2)).toEqual(['v', '1']);
  });

  it('stores one record per event of a sendEvents request', async () => {
    const req = sdkRequest('send-events');
    const n = (JSON.parse(req.body).events as unknown[]).length;
    const before = (await t.records()).length;
    expect((await replay(base, req)).status).toBe(204);
    const after = await t.records();
    expect(after.length - before).toBe(n);
    const ids = new Set(after.map((r) => r.id));
    expect(ids.size).toBe(after.length);
  });

  it('gives a resent request the same record ids (consumers dedupe on id)', async () => {
    const req = sdkRequest('transport-fetch');
    await replay(base, req);
    await replay(base, req);
    // (pageview_id is stored keyed: match on the SDK's millisecond timestamp instead)
    const sent = JSON.parse(req.body).events[0].data.device_timestamp_utc;
    const recs = (await t.records()).filter((r) => (r.props as Record<string, unknown>).device_timestamp_utc === sent);
    expect(recs.length).toBe(2);
    expect(recs[0]!.id).toBe(recs[1]!.id);
  });

  it('ignores X-Forwarded-For from an untrusted peer', async () => {
    const other = await startTestApp({ TRUST_PROXY: '' });
    const url = await other.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect((await replay(url, sdkRequest('optin'), { headers: { 'x-forwarded-for': SPOOFED_IP } })).status).toBe(204);
      const [rec] = await other.records();
      expect(rec!.geo).toBeUndefined(); // 127.0.0.0 has no location: the header was not used
      // (matched as the stored field: a pseudonym is random base64url and can hold the letters FR)
      expect(await other.rawStream()).not.toMatch(/"country":"FR"/);
    } finally {
      await other.close();
    }
  });

  it('answers CORS preflights', async () => {
    const res = await fetch(`${base}/event?s=1`, {
      method: 'OPTIONS',
      headers: { origin: 'https://www.example.org', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://www.example.org');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
  });

  it('accepts application/json too', async () => {
    const req = sdkRequest('optin');
    const res = await replay(base, req, { headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(204);
  });

  it('refuses bad input with a clear JSON error', async () => {
    const post = (query: string, body: string, type = 'text/plain;charset=UTF-8') =>
      fetch(`${base}/event?${query}`, { method: 'POST', headers: { 'content-type': type }, body });
    const ok = sdkRequest('optin').body;

    let res = await post('idclient=x', ok);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: 400, error: 'invalid_hit', path: 'query.s' });

    res = await post('s=1', '{"events":[{"name":"page.display","data":{"page":{"a":{"b":{"c":1}}}}}]}');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ path: 'body.events.0.data.page.a.b' });

    res = await post('s=1', '{"events":[');
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(/not valid JSON/);

    // the answer says what and where, never the client's text back (V8 quotes it)
    res = await post('s=1', 'not json 203.0.113.9 mx1ai3fsjp7z2jhr');
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(JSON.parse(text).message).toBe("body is not valid JSON: Unexpected token 'o'");
    expect(text).not.toMatch(/203\.0|mx1ai3fs/);

    res = await post('s=1', '{"__proto__":{"x":1},"events":[]}');
    expect(res.status).toBe(400);
    expect((await res.json()).message).toMatch(/forbidden property/);

    // the same key spelled with escapes, and constructor.prototype, are refused too
    for (const poisoned of [
      '{"\\u005f_proto__":{"x":1},"events":[]}',
      '{"events":[{"name":"page.display","data":{"constructor":{"prototype":{"x":1}}}}]}',
    ]) {
      res = await post('s=1', poisoned);
      expect(res.status).toBe(400);
      expect((await res.json()).message).toMatch(/forbidden property/);
    }

    res = await post('s=1', JSON.stringify({ events: [{ name: 'page.display', data: { page: 'x'.repeat(70_000) } }] }));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'body_too_large' });

    res = await post('s=1', ok, 'multipart/form-data; boundary=x');
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: 'unsupported_media_type' });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('answers health checks', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { redis: 'ok', geolocation: 'ok' } });
  });

  it('never logs, stores or emits the raw IP or the raw visitor id', async () => {
    const req = sdkRequest('optin');
    const idclient = req.query.idclient!;
    await replay(base, req, { headers: { 'x-forwarded-for': PUBLIC_IP } });
    // errors too: a refused hit must not echo what it carried
    await replay(base, { ...req, body: '{"events":[' }, { headers: { 'x-forwarded-for': PUBLIC_IP } });
    const stream = await t.rawStream();
    const logs = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(0);
    // (the page URL in the fixtures is on 127.0.0.1, so the peer address cannot be scanned for here)
    for (const secret of [PUBLIC_IP, idclient, 'idclient=']) {
      expect(stream, `stream holds ${secret}`).not.toContain(secret);
      expect(logs, `logs hold ${secret}`).not.toContain(secret);
    }
  });
});

describe('readiness without Redis', () => {
  it('reports the failing check and refuses hits with 503 and Retry-After', async () => {
    const t = await startTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ checks: { redis: 'failing' } });
      const res = await t.app.inject({
        method: 'POST',
        url: '/event?s=1&idclient=abc',
        headers: { 'content-type': 'text/plain' },
        payload: sdkRequest('optin').body,
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.json()).toMatchObject({ statusCode: 503 });
    } finally {
      await t.close();
    }
  });
});
