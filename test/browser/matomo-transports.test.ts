// The transports matomo.js uses (js/piwik.js: sendBeacon with an empty Blob, the 1×1
// image, the XHR sent withCredentials, the bulk), made by Chromium itself from a page on
// 127.0.0.1 with the fixtures' parameters: the browser must accept the collector's
// answers as matomo.js needs them (a readable 204 under CORS with credentials, an image
// that loads), or the tracker would resend. matomo.js itself is served by a Matomo
// server and ships in no package (docs/trackers/research.md §5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matomoRequests, type Rec } from '../helpers/trackers.js';
import { VISITOR_CONTEXT } from './harness.js';
import { startTrackerPage, type TrackerPage } from './tracker-page.js';

const [beacon] = matomoRequests('transports');
const [bulk] = matomoRequests('bulk');
/** The fixture's page view for a page on `origin`, with its own cache buster. */
const query = (origin: string, r: number, sendImage: 0 | 1) =>
  beacon!.rawQueryString
    .replaceAll('https%3A%2F%2Fwww.example.org', encodeURIComponent(origin))
    .replace('r=482913', `r=${r}`)
    .replace('send_image=0', `send_image=${sendImage}`);

describe('matomo.js transports made by Chromium against the collector', () => {
  let p: TrackerPage;
  beforeAll(async () => {
    p = await startTrackerPage({ '3': { domains: ['127.0.0.1'] } }, (_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>page</title><p>page</p>'),
    );
  });
  afterAll(() => p?.close());

  it('sendBeacon, image, XHR withCredentials and bulk: answers the browser accepts, one page-view record each', async () => {
    const before = (await p.collector.records()).length;
    const context = await p.browser.newContext(VISITOR_CONTEXT);
    try {
      const page = await context.newPage();
      const sent: { method: string; contentType: string | undefined; origin: string | undefined; url: string }[] = [];
      page.on('request', async (req) => {
        if (!req.url().includes('/matomo.php')) return;
        const h = await req.allHeaders();
        sent.push({ method: req.method(), contentType: h['content-type'], origin: h.origin, url: req.url() });
      });
      await page.goto(`${p.pageOrigin}/blog/article.html`, { waitUntil: 'load' });
      const url = `${p.collectorUrl}/matomo.php`;
      const result = await page.evaluate(
        async ({ url, q1, q2, q3, bulkBody }) => {
          const form = 'application/x-www-form-urlencoded; charset=UTF-8';
          // sendPostRequestViaSendBeacon(): a short request goes in the URL, the Blob is empty
          const beaconQueued = navigator.sendBeacon(`${url}?${q1}`, new Blob([], { type: form }));
          // getImage(): the fallback, send_image=1
          const image = await new Promise<{ loaded: boolean; width: number }>((resolve) => {
            const img = new Image(1, 1);
            img.onload = () => resolve({ loaded: true, width: img.naturalWidth });
            img.onerror = () => resolve({ loaded: false, width: 0 });
            img.src = `${url}?${q2}`;
          });
          // sendXmlHttpRequest(): withCredentials, the form type; status 0 would make matomo.js resend as an image
          const xhr = (body: string) =>
            new Promise<{ status: number; credentials: string | null }>((resolve) => {
              const x = new XMLHttpRequest();
              x.open('POST', url, true);
              x.withCredentials = true;
              x.setRequestHeader('Content-Type', form);
              x.onreadystatechange = () => {
                if (x.readyState === 4)
                  resolve({ status: x.status, credentials: x.getResponseHeader('access-control-allow-credentials') });
              };
              x.send(body);
            });
          return { beaconQueued, image, form: await xhr(q3), bulk: await xhr(bulkBody) };
        },
        {
          url,
          q1: query(p.pageOrigin, 700001, 0),
          q2: query(p.pageOrigin, 700002, 1),
          q3: query(p.pageOrigin, 700003, 0),
          bulkBody: bulk!.body
            .replaceAll('https%3A%2F%2Fwww.example.org', encodeURIComponent(p.pageOrigin))
            .replace('r=482913', 'r=700004'),
        },
      );
      expect(result.beaconQueued).toBe(true);
      expect(result.image).toEqual({ loaded: true, width: 1 }); // the GIF decodes as a 1×1 image
      expect(result.form.status).toBe(204); // readable: no resend
      expect(result.bulk.status).toBe(204);
      const end = Date.now() + 8000;
      let records: Rec[] = [];
      while (Date.now() < end) {
        records = (await p.collector.records()).slice(before) as Rec[];
        if (records.length >= 4) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(records).toHaveLength(4);
      for (const rec of records) {
        expect(rec).toMatchObject({
          site: '3',
          event: 'page.display',
          tracker: 'matomo',
          props: { page_url: `${p.pageOrigin}/blog/article.html` },
        });
      }
      // what Chromium put on the wire: the beacon carries the Blob's type (lower-cased by Blob) although it is empty
      const beaconSent = sent.find((s) => s.url.includes('r=700001'));
      expect(beaconSent).toMatchObject({
        method: 'POST',
        contentType: 'application/x-www-form-urlencoded; charset=utf-8',
        origin: p.pageOrigin,
      });
      console.info(
        `Chromium ${p.browser.version()}: ${JSON.stringify(sent.map((s) => [s.method, s.contentType ?? '-', s.origin ?? '-']))}`,
      );
    } finally {
      await context.close();
    }
  });
});

// A page served with `Referrer-Policy: no-referrer`: its image request carries neither
// Origin (an image never does) nor Referer (the policy), so the hit's own page URL
// (`url`) is all that says which site it is on.
describe('matomo.js on a page served with Referrer-Policy: no-referrer', () => {
  let p: TrackerPage;
  beforeAll(async () => {
    p = await startTrackerPage({ '3': { domains: ['127.0.0.1'] } }, (_req, res) =>
      res
        .writeHead(200, { 'content-type': 'text/html', 'referrer-policy': 'no-referrer' })
        .end('<!doctype html><title>page</title><p>page</p>'),
    );
  });
  afterAll(() => p?.close());

  it('its image hit (no Origin, no Referer) is stored by its page URL; one naming another host is not', async () => {
    const before = (await p.collector.records()).length;
    // a desktop browser's User-Agent: headless Chromium's own says HeadlessChrome, which a robot filter sets apart
    const userAgent =
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
    const context = await p.browser.newContext({ userAgent });
    try {
      const page = await context.newPage();
      const sent: { method: string; referer: string | undefined; origin: string | undefined; url: string }[] = [];
      page.on('request', async (req) => {
        if (!req.url().includes('/matomo.php')) return;
        const h = await req.allHeaders();
        sent.push({ method: req.method(), referer: h.referer, origin: h.origin, url: req.url() });
      });
      await page.goto(`${p.pageOrigin}/blog/article.html`, { waitUntil: 'load' });
      const url = `${p.collectorUrl}/matomo.php`;
      const loaded = await page.evaluate(
        async ({ url, own, foreign, beaconQuery }) => {
          // getImage(): what matomo.js falls back to, and all it sends where neither sendBeacon nor XHR is used
          const image = (q: string) =>
            new Promise<boolean>((resolve) => {
              const img = new Image(1, 1);
              img.onload = () => resolve(true);
              img.onerror = () => resolve(false);
              img.src = `${url}?${q}`;
            });
          // sendPostRequestViaSendBeacon(): under this policy too it carries the page's Origin
          const form = new Blob([], { type: 'application/x-www-form-urlencoded' });
          const beacon = navigator.sendBeacon(`${url}?${beaconQuery}`, form);
          return { own: await image(own), foreign: await image(foreign), beacon };
        },
        {
          url,
          own: query(p.pageOrigin, 710001, 1),
          // the same hit claiming a page on another host (localhost is not listed)
          foreign: query(p.pageOrigin.replace('127.0.0.1', 'localhost'), 710002, 1),
          beaconQuery: query(p.pageOrigin, 710003, 0),
        },
      );
      expect(loaded).toEqual({ own: true, foreign: false, beacon: true });
      // what Chromium sent: neither header, so only the page URL could decide
      // (the listener reads the headers asynchronously)
      const seenBy = Date.now() + 2000;
      while (sent.length < 3 && Date.now() < seenBy) await new Promise((r) => setTimeout(r, 20));
      expect(sent).toHaveLength(3);
      // (Playwright shows the withheld Referer as an empty string)
      const images = sent.filter((s) => s.method === 'GET');
      expect(images).toHaveLength(2);
      for (const s of images) expect([s.referer || undefined, s.origin]).toEqual([undefined, undefined]);
      // the beacon names its page's origin: there the Origin decides
      expect(sent.find((s) => s.method === 'POST')?.origin).toBe(p.pageOrigin);
      const end = Date.now() + 8000;
      let records: Rec[] = [];
      while (Date.now() < end) {
        records = (await p.collector.records()).slice(before) as Rec[];
        if (records.length >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 200)); // a refused hit that had been stored would show by now
      records = (await p.collector.records()).slice(before) as Rec[];
      expect(records).toHaveLength(2); // the own image and the beacon; not the foreign image
      const pageUrl = `${p.pageOrigin}/blog/article.html`;
      for (const rec of records) {
        expect(rec).toMatchObject({ site: '3', event: 'page.display', tracker: 'matomo' });
        expect(rec.props.page_url).toBe(pageUrl);
      }
    } finally {
      await context.close();
    }
  });
});
