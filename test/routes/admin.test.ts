// Access and erasure through HTTP, real Redis, with a key rotation in between:
// records made under the old key are still found and erased.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshSdkId, replay, sdkRequest } from '../helpers/fixtures.js';
import { startTestApp, uniquePrefix, type TestApp, writeSitesFile } from '../helpers/app.js';
import { bearerMatches } from '../../src/routes/admin.js';
import { createHash } from 'node:crypto';

const OLD = 'old:0123456789abcdef0123456789abcdef';
const NEW = 'new:abcdefabcdefabcdefabcdefabcdef01';
const TOKEN = 'admin-token-0123456789';
const SITE = '123456';
const PERSON = freshSdkId();
const OTHER = 'zzz0hd7t9bz0ecov';

async function sendHits(base: string, idclient: string, n: number) {
  for (let i = 0; i < n; i++) {
    const req = sdkRequest('exempt');
    // a distinct body per hit: a distinct record id
    const body = req.body.replace('"page":"home"', `"page":"home-${idclient.slice(0, 3)}-${i}"`);
    const res = await replay(base, { ...req, body }, { query: `s=${SITE}&idclient=${idclient}` });
    expect(res.status).toBe(204);
  }
}

describe('admin access and erasure', () => {
  const streamKey = uniquePrefix('admin');
  const erasureStream = `${streamKey}:erasures`;
  let before: TestApp;
  let t: TestApp;
  let base: string;
  let ops: string;

  const post = (path: string, body: unknown, token: string | null = TOKEN) =>
    fetch(`${ops}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    // Before the rotation: only the old key.
    before = await startTestApp({ PSEUDONYM_KEYS: OLD, STREAM_KEY: streamKey, STREAM_SHARDS: '3' });
    const oldBase = await before.app.listen({ port: 0, host: '127.0.0.1' });
    await sendHits(oldBase, PERSON, 4);
    await sendHits(oldBase, OTHER, 3);
    await before.app.close();
    before.redis.disconnect();
    // After: new key active, old key kept for lookups.
    t = await startTestApp({
      PSEUDONYM_KEYS: `${NEW},${OLD}`,
      STREAM_KEY: streamKey,
      STREAM_SHARDS: '3',
      ADMIN_TOKEN: TOKEN,
      ERASURE_STREAM: erasureStream,
    });
    [base, ops] = await t.listen();
    await sendHits(base, PERSON, 2);
    await sendHits(base, OTHER, 1);
  });
  afterAll(async () => {
    await t.redis.del(erasureStream);
    await t.close();
  });

  it('refuses calls without the right bearer token', async () => {
    for (const token of [null, 'wrong-token-0123456789', `${TOKEN}x`]) {
      const res = await post('/admin/access', { site: SITE, idclient: PERSON }, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    const basic = await fetch(`${ops}/admin/access`, { method: 'POST', headers: { authorization: `Basic ${TOKEN}` } });
    expect(basic.status).toBe(401);
  });

  it('is not served on the public listener, token or not', async () => {
    for (const path of ['/admin/access', '/admin/erase', '/metrics', '/admin/report']) {
      const res = await fetch(`${base}${path}`, {
        method: path === '/metrics' || path === '/admin/report' ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        ...(path === '/metrics' || path === '/admin/report'
          ? {}
          : { body: JSON.stringify({ site: SITE, idclient: PERSON }) }),
      });
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain(PERSON);
    }
    // both listeners answer health checks
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    expect((await fetch(`${ops}/readyz`)).status).toBe(200);
  });

  it('refuses an invalid body with 400', async () => {
    expect((await post('/admin/access', { site: SITE })).status).toBe(400);
    expect((await post('/admin/access', { site: 'bad site', idclient: PERSON })).status).toBe(400);
    expect((await post('/admin/access', { site: SITE, idclient: PERSON, extra: 1 })).status).toBe(400);
    expect((await post('/admin/access', { site: SITE, idclient: PERSON, cursor: 'nope' })).status).toBe(400);
    // well formed, but past the shards: the scan's InvalidCursorError, told as a bad cursor
    const past = await post('/admin/access', { site: SITE, idclient: PERSON, cursor: '99:1-0' });
    expect(past.status).toBe(400);
    expect(await past.json()).toMatchObject({
      statusCode: 400,
      error: 'invalid_request',
      message: 'invalid cursor',
      path: 'body.cursor',
    });
  });

  it('finds the records made under the old and the new key, and only those', async () => {
    const res = await post('/admin/access', { site: SITE, idclient: PERSON });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      records: { visitor: string; site: string; props: { page: string } }[];
      complete: boolean;
    };
    expect(body.complete).toBe(true);
    expect(body.records).toHaveLength(6);
    expect(body.records.filter((r) => r.visitor.startsWith('old.'))).toHaveLength(4);
    expect(body.records.filter((r) => r.visitor.startsWith('new.'))).toHaveLength(2);
    expect(body.records.every((r) => r.site === SITE && r.props.page.startsWith(`home-${PERSON.slice(0, 3)}`))).toBe(
      true,
    );
    // another site: nothing
    const other = await post('/admin/access', { site: '999', idclient: PERSON });
    expect(((await other.json()) as { records: unknown[] }).records).toEqual([]);
  });

  it('erases them, publishes tombstones, and leaves the other visitors alone', async () => {
    const res = await post('/admin/erase', { site: SITE, idclient: PERSON });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ deleted: 6, complete: true });

    const again = await post('/admin/access', { site: SITE, idclient: PERSON });
    expect(((await again.json()) as { records: unknown[] }).records).toEqual([]);
    const others = (await t.records()) as { visitor: string }[];
    expect(others).toHaveLength(4);

    const tombstones = (await t.redis.xrange(erasureStream, '-', '+')).map(([, f]) =>
      JSON.parse(f[f.indexOf('tombstone') + 1]!),
    );
    expect(tombstones).toHaveLength(2);
    expect(tombstones.map((x) => x.visitor.split('.')[0]).sort()).toEqual(['new', 'old']);
    for (const x of tombstones) {
      expect(Object.keys(x).sort()).toEqual(['site', 'ts', 'visitor']);
      expect(x.site).toBe(SITE);
      expect(Math.abs(x.ts - Date.now())).toBeLessThan(60_000);
    }
    // erasing again is harmless
    expect(await (await post('/admin/erase', { site: SITE, idclient: PERSON })).json()).toMatchObject({ deleted: 0 });
  });

  it('counts the calls and their cost in /metrics', async () => {
    const text = await (await fetch(`${ops}/metrics`)).text();
    expect(text).toMatch(/^collector_admin_requests_total\{action="erase",outcome="complete"\} 2$/m);
    expect(text).toMatch(/^collector_admin_requests_total\{action="access",outcome="complete"\} [3-9]$/m);
    expect(text).toMatch(/^collector_admin_scanned_entries_total\{action="erase"\} \d+$/m);
  });

  it('logs every call without the raw id or its pseudonyms', async () => {
    const lines = t.logs.filter((l) => l.includes('"admin"'));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines.some((l) => l.includes('"admin":"erase"') && l.includes('"deleted":6'))).toBe(true);
    const everything = t.logs.join('\n') + before.logs.join('\n');
    expect(everything).not.toContain(PERSON);
    const tombstones = await t.redis.xrange(erasureStream, '-', '+');
    for (const [, f] of tombstones) {
      const visitor = JSON.parse(f[f.indexOf('tombstone') + 1]!).visitor as string;
      expect(everything).not.toContain(visitor.split('.')[1]);
    }
  });
});

// The id as the person holds it (docs/data-subject-requests.md): before, a Matomo cookie
// value or an upper-case id answered `"records": []`, `"complete": true`, and an erasure
// said `deleted: 0` as if it had succeeded.
describe('access and erasure by the id as the person holds it, per tracker', () => {
  const MATOMO_ID = '9c41e07b2d58a6f3';
  const PIANO_ID = freshSdkId('h4k8p2z6');
  let t: TestApp;
  let base: string;
  let ops: string;

  const post = (path: string, body: unknown) =>
    fetch(`${ops}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify(body),
    });
  interface Answer {
    records?: { site: string }[];
    deleted?: number;
    complete: boolean;
    outcome: string;
    readAs: string;
    message?: string;
  }
  const answers: string[] = [];
  const call = async (path: string, body: unknown): Promise<Answer> => {
    const res = await post(path, body);
    const text = await res.text();
    answers.push(text);
    expect(res.status, text).toBe(200);
    return JSON.parse(text) as Answer;
  };

  /** The `_pcid` cookie as the Piano SDK writes it (test/fixtures/sdk: cookiesAfter). */
  const pcid = encodeURIComponent(JSON.stringify({ browserId: PIANO_ID, _t: 'ncppfjc1|mx1ai201' }));

  beforeAll(async () => {
    const sites = writeSitesFile({ '3': {}, '123456': {}, blog: { domains: ['blog.example.test'] } });
    const erasures = `${uniquePrefix('admin-forms')}:erasures`;
    t = await startTestApp({ ADMIN_TOKEN: TOKEN, SITES_FILE: sites, ERASURE_STREAM: erasures });
    [base, ops] = await t.listen();
    // Matomo: matomo.js's GET, the _id as its cookie holds it
    for (let i = 0; i < 3; i++) {
      const page = encodeURIComponent(`https://shop.example/p${i}`);
      const q = `idsite=3&rec=1&_id=${MATOMO_ID}&url=${page}&action_name=p${i}&rand=${i}`;
      expect((await fetch(`${base}/matomo.php?${q}&send_image=0`)).status).toBe(204);
    }
    await sendHits(base, PIANO_ID, 2);
    // Plausible: no visitor id on the wire, none in the record
    const plausible = await fetch(`${base}/api/event`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'https://blog.example.test' },
      body: JSON.stringify({ n: 'pageview', u: 'https://blog.example.test/', d: 'blog.example.test' }),
    });
    expect(plausible.status).toBe(202);
  });
  afterAll(async () => {
    await t.redis.del(t.config.erasureStream);
    await t.close();
  });

  it('Matomo: finds the visitor by the bare id, any case, whitespace, the _pk_id cookie value', async () => {
    for (const [idclient, readAs] of [
      [MATOMO_ID, 'id as given'],
      [MATOMO_ID.toUpperCase(), 'id, also in lower case'],
      [`  ${MATOMO_ID}\n`, 'id as given'],
      [`${MATOMO_ID}.1764000000.`, 'Matomo _pk_id cookie value'],
      [` ${MATOMO_ID.toUpperCase()}.1764000000. `, 'Matomo _pk_id cookie value'],
      [`${MATOMO_ID}.1600000000.42.1700000000.1690000000.`, 'Matomo _pk_id cookie value'],
    ]) {
      const a = await call('/admin/access', { site: '3', idclient });
      expect([a.records?.length, a.complete, a.outcome, a.readAs], idclient).toEqual([3, true, 'found', readAs]);
      expect(a.records!.every((r) => r.site === '3')).toBe(true);
    }
  });

  it('Piano SDK: finds the visitor by the bare id, upper case, whitespace, the _pcid cookie value', async () => {
    for (const [idclient, readAs] of [
      [PIANO_ID, 'id as given'],
      [PIANO_ID.toUpperCase(), 'id, also in lower case'],
      [`\t${PIANO_ID} `, 'id as given'],
      [pcid, 'Piano _pcid cookie value, URL-encoded'],
      [decodeURIComponent(pcid), 'Piano _pcid cookie value'],
      [`_pcid=${pcid}`, 'Piano _pcid cookie value, URL-encoded'],
    ]) {
      const a = await call('/admin/access', { site: '123456', idclient });
      expect([a.records?.length, a.complete, a.outcome, a.readAs], idclient).toEqual([2, true, 'found', readAs]);
    }
  });

  it('erases by the cookie value, then says plainly that nothing is left, without echoing the id', async () => {
    const matomo = await call('/admin/erase', { site: '3', idclient: ` ${MATOMO_ID.toUpperCase()}.1764000000.` });
    expect(matomo).toMatchObject({
      deleted: 3,
      complete: true,
      outcome: 'erased',
      readAs: 'Matomo _pk_id cookie value',
    });
    const piano = await call('/admin/erase', { site: '123456', idclient: pcid });
    expect(piano).toMatchObject({ deleted: 2, complete: true, outcome: 'erased' });
    expect((await t.records()).filter((r) => r.visitor !== undefined)).toEqual([]);

    const again = await call('/admin/erase', { site: '3', idclient: `${MATOMO_ID}.1764000000.` });
    expect(again).toMatchObject({ deleted: 0, complete: true, outcome: 'nothing_found' });
    expect(again.message).toMatch(/^nothing found for this id: no record of site 3 carries it .*nothing was deleted/);
    const access = await call('/admin/access', { site: '123456', idclient: PIANO_ID });
    expect(access).toMatchObject({ records: [], outcome: 'nothing_found' });
    expect(access.message).toMatch(/^nothing found for this id/);
  });

  it('Plausible: records carry no visitor, so no id finds them; the answer says nothing was found', async () => {
    const a = await call('/admin/access', { site: 'blog', idclient: MATOMO_ID });
    expect(a).toMatchObject({ records: [], complete: true, outcome: 'nothing_found' });
    expect((await t.records()).filter((r) => r.site === 'blog')).toHaveLength(1);
  });

  it('refuses a value that cannot be an id with 400, naming the field, never the value', async () => {
    for (const idclient of ['   ', '{"browserId":""}', 'x\u0001y']) {
      const res = await post('/admin/access', { site: '3', idclient });
      expect(res.status, idclient).toBe(400);
      expect(await res.json()).toMatchObject({ error: 'invalid_request', path: 'body.idclient' });
    }
  });

  it('never writes the id, in any form, to the logs or the answers', async () => {
    const everything = `${t.logs.join('\n')}\n${answers.join('\n')}`;
    for (const needle of [MATOMO_ID, MATOMO_ID.toUpperCase(), PIANO_ID, PIANO_ID.toUpperCase(), pcid, 'browserId']) {
      expect(everything, needle).not.toContain(needle);
    }
    expect(t.logs.some((l) => l.includes('"readAs":"Matomo _pk_id cookie value"'))).toBe(true);
  });
});

describe('admin routes are off without ADMIN_TOKEN', () => {
  it('answers 404', async () => {
    const t = await startTestApp();
    try {
      const res = await t.operator.inject({
        method: 'POST',
        url: '/admin/access',
        payload: { site: SITE, idclient: PERSON },
      });
      expect(res.statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});

describe('bearerMatches', () => {
  const expected = createHash('sha256').update(TOKEN).digest();
  it('accepts only the exact token', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, expected)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, expected)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN.slice(0, -1)}`, expected)).toBe(false);
    expect(bearerMatches(TOKEN, expected)).toBe(false);
    expect(bearerMatches(undefined, expected)).toBe(false);
    expect(bearerMatches('Bearer ', createHash('sha256').update('').digest())).toBe(false);
  });
});
