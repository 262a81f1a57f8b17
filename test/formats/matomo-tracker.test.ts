// The Matomo organisation's Node client (npm matomo-tracker) pointed at a local recorder:
// its requests are ones the adapter accepts, so it can drive a later end-to-end test.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMatomoRequest } from '../../src/formats/matomo.js';
import { MatomoTracker } from '../helpers/trackers.js';
import { expectValidEvents } from './helpers.js';

interface Recorded {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

let server: http.Server;
let base: string;
const recorded: Recorded[] = [];
const waiters: (() => void)[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      recorded.push({
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      });
      // Matomo's answers: 204 for a single request here, the JSON summary for a bulk
      if (req.method === 'POST')
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","tracked":2,"invalid":0}');
      else res.writeHead(204).end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function next(count: number): Promise<Recorded[]> {
  const deadline = Date.now() + 5000;
  while (recorded.length < count && Date.now() < deadline) {
    await new Promise<void>((resolve) => {
      waiters.push(resolve);
      setTimeout(resolve, 100);
    });
  }
  expect(recorded.length).toBe(count);
  return recorded.splice(0, count);
}

const toRequest = (r: Recorded) => {
  const q = r.url.indexOf('?');
  return { method: r.method, query: q === -1 ? '' : r.url.slice(q + 1), contentType: r.contentType, body: r.body };
};

describe('matomo-tracker (npm) against a local recorder', () => {
  it('accepts an arbitrary URL ending in matomo.php (or any URL with noURLValidation)', () => {
    expect(() => new MatomoTracker(3, `${base}/matomo.php`)).not.toThrow();
    expect(() => new MatomoTracker(3, `${base}/collect`)).toThrow(/matomo\.php/);
    expect(() => new MatomoTracker(3, `${base}/collect`, true)).not.toThrow();
  });

  it('track(): a GET with the options as the query string, idsite and rec=1 added', async () => {
    const t = new MatomoTracker(3, `${base}/matomo.php`);
    t.on('error', (err) => {
      throw new Error(`matomo-tracker error ${String(err)}`);
    });
    t.track({
      url: 'https://www.example.org/a?b=1',
      action_name: 'Home page',
      _id: '0123456789abcdef',
      res: '1280x720',
      token_auth: 'not-to-be-kept',
      cip: '203.0.113.9',
    });
    const [r] = await next(1);
    expect(r).toMatchObject({ method: 'GET', contentType: undefined, body: '' });
    expect(r!.url).toMatch(
      /^\/matomo\.php\?url=https%3A%2F%2Fwww\.example\.org%2Fa%3Fb%3D1&action_name=Home%20page&.*&idsite=3&rec=1$/,
    );
    const out = parseMatomoRequest(toRequest(r!));
    expect(out.wantsImage).toBe(true); // no send_image=0: Matomo would answer with its GIF
    const h = out.hits[0]!;
    expect(h).toMatchObject({ site: '3', visitorId: '0123456789abcdef' });
    expect(h.events).toEqual([
      {
        name: 'page.display',
        data: {
          page: 'Home page',
          page_url: 'https://www.example.org/a?b=1',
          device_screen_width: 1280,
          device_screen_height: 720,
        },
      },
    ]);
    expect(JSON.stringify(out)).not.toMatch(/not-to-be-kept|203\.0\.113\.9/);
  });

  it('trackBulk(): a POST of application/json {"requests": ["?...", ...]}', async () => {
    const t = new MatomoTracker('3', `${base}/matomo.php`);
    let answer: string | undefined;
    t.trackBulk(
      [
        { url: 'https://www.example.org/a', action_name: 'A' },
        { url: 'https://www.example.org/b', e_c: 'Video', e_a: 'Play' },
      ],
      (body) => {
        answer = body;
      },
    );
    const [r] = await next(1);
    expect(r).toMatchObject({ method: 'POST', url: '/matomo.php', contentType: 'application/json' });
    expect(JSON.parse(r!.body)).toEqual({
      requests: [
        '?url=https%3A%2F%2Fwww.example.org%2Fa&action_name=A&idsite=3&rec=1',
        '?url=https%3A%2F%2Fwww.example.org%2Fb&e_c=Video&e_a=Play&idsite=3&rec=1',
      ],
    });
    const out = parseMatomoRequest(toRequest(r!));
    expect(out).toMatchObject({ bulk: true, wantsImage: false, bulkSummary: true });
    expect(out.hits.map((h) => h.events[0]!.name)).toEqual(['page.display', 'matomo.event']);
    for (const h of out.hits) expectValidEvents(h.events);
    const deadline = Date.now() + 2000;
    while (answer === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(JSON.parse(answer ?? 'null')).toEqual({ status: 'success', tracked: 2, invalid: 0 });
  });
});
