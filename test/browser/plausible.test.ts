// The official plausible-tracker (npm, its own ES module build, unmodified and
// unbundled: the browser loads its files) in Debian's Chromium, on a page served from
// 127.0.0.1, pointed at the collector with `apiHost` — the one line a site changes.
// Checked in the stream: a record per page view, `tracker: "plausible"`, no visitor, no
// query string, props dropped unless the site adds them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Rec } from '../helpers/trackers.js';
import { VISITOR_CONTEXT } from './harness.js';
import { startTrackerPage, type TrackerPage } from './tracker-page.js';

const require = createRequire(import.meta.url);
const trackerDir = path.join(path.dirname(require.resolve('plausible-tracker/package.json')), 'build/module');
const trackerVersion = (
  JSON.parse(readFileSync(require.resolve('plausible-tracker/package.json'), 'utf8')) as { version: string }
).version;

// The first site owns the page's host name; the second is named by the `domain` option
// (both pages are on 127.0.0.1) and adds a goal and one prop.
const SITES = {
  'pl-a': { domains: ['127.0.0.1'] },
  'pl-b': {
    domains: ['b.example.test', '127.0.0.1'],
    allow: { events: ['plausible.Signup'], properties: ['plausible_prop_plan'] },
  },
};
const PAGE = '/shop/article.html?utm_source=newsletter&email=jane.doe%40example.com#reviews';
const REFERRER = 'https://search.example.test/results?q=shoes&email=jane.doe%40example.com';

/** The page: loads the package's ES module entry; its extensionless imports are served below. */
const html = `<!doctype html><html><head><meta charset="utf-8"><title>Plausible page</title>
<script type="module">import Plausible from '/plausible-tracker/index.js'; window.Plausible = Plausible;</script>
</head><body><a id="out" href="https://partner.example.test/offer?ref=shop&amp;email=jane.doe%40example.com">partner</a></body></html>`;

describe(`plausible-tracker@${trackerVersion} in Chromium against the collector`, () => {
  let p: TrackerPage;

  beforeAll(async () => {
    p = await startTrackerPage(SITES, (req, res) => {
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (u.pathname.startsWith('/plausible-tracker/')) {
        // the package's own files; `./lib/tracker` is imported without its .js
        const rel = u.pathname.slice('/plausible-tracker/'.length).replace(/\.js$/, '');
        if (!/^[a-z/]+$/.test(rel)) return res.writeHead(404).end();
        try {
          const source = readFileSync(path.join(trackerDir, `${rel}.js`));
          return res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(source);
        } catch {
          return res.writeHead(404).end();
        }
      }
      if (u.pathname === '/shop/article.html')
        return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
      res.writeHead(404).end();
    });
    console.info(
      `plausible-tracker@${trackerVersion}, Chromium ${p.browser.version()}; page ${p.pageOrigin}, apiHost ${p.collectorUrl}`,
    );
  });
  afterAll(() => p?.close());

  /** Opens the page, runs `script` with the tracker loaded, waits for `requests` answers; returns them and the new records. */
  async function runCase(script: (args: { apiHost: string }) => void, requests: number) {
    const before = (await p.collector.records()).length;
    const context = await p.browser.newContext(VISITOR_CONTEXT);
    try {
      const page: Page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const answers: { status: number; body: string; request: string; contentType: string | undefined }[] = [];
      page.on('response', async (res) => {
        if (!res.url().endsWith('/api/event')) return;
        answers.push({
          status: res.status(),
          body: await res.text().catch(() => ''),
          request: res.request().postData() ?? '',
          contentType: res.request().headers()['content-type'],
        });
      });
      await page.goto(`${p.pageOrigin}${PAGE}`, { waitUntil: 'load', referer: REFERRER, timeout: 15_000 });
      await page.waitForFunction(() => typeof (window as { Plausible?: unknown }).Plausible === 'function', null, {
        timeout: 10_000,
      });
      await page.evaluate(script, { apiHost: p.collectorUrl });
      const end = Date.now() + 8000;
      while (answers.length < requests && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 300)); // nothing more is sent
      const records = (await p.collector.records()).slice(before) as Rec[];
      return { answers, records, errors };
    } finally {
      await context.close();
    }
  }

  it('trackPageview() and a custom event: 202 "ok"; one page-view record, no visitor, no query string; the goal dropped', async () => {
    const r = await runCase(({ apiHost }) => {
      const plausible = (
        window as unknown as {
          Plausible: (o: object) => { trackPageview(): void; trackEvent(n: string, o?: object): void };
        }
      ).Plausible({ apiHost, trackLocalhost: true });
      plausible.trackPageview();
      plausible.trackEvent('Signup', { props: { plan: 'pro', email: 'jane.doe@example.com' } });
    }, 2);
    expect(r.errors).toEqual([]);
    expect(r.answers.map((a) => [a.status, a.body])).toEqual([
      [202, 'ok'],
      [202, 'ok'],
    ]);
    // (two XHRs: their answers may come back in either order)
    const pageview = r.answers.find((a) => (JSON.parse(a.request) as { n?: string }).n === 'pageview')!;
    expect(pageview.contentType).toBe('text/plain');
    const sent = JSON.parse(pageview.request) as Record<string, unknown>;
    expect(sent).toMatchObject({ n: 'pageview', u: `${p.pageOrigin}${PAGE}`, d: '127.0.0.1', r: REFERRER }); // what the tracker put on the wire
    expect(r.records).toHaveLength(1); // Signup is not on the site's event list
    const rec = r.records[0]!;
    expect(rec).toMatchObject({ site: 'pl-a', event: 'page.display', mode: 'exempt', tracker: 'plausible' });
    expect(rec).not.toHaveProperty('visitor');
    expect(rec.props).toMatchObject({
      page_url: `${p.pageOrigin}/shop/article.html`,
      page: '/shop/article.html',
      previous_url: 'https://search.example.test/results',
    });
    expect(typeof rec.props.device_display_width).toBe('number');
    expect(JSON.stringify(r.records)).not.toMatch(/\?|#|utm_|newsletter|jane|shoes|plan/);
  });

  it('the site named by `domain` adds the Signup goal and the plan prop: those are kept, the other props dropped', async () => {
    const r = await runCase(({ apiHost }) => {
      const plausible = (
        window as unknown as {
          Plausible: (o: object) => {
            trackPageview(d?: object, o?: object): void;
            trackEvent(n: string, o?: object): void;
          };
        }
      ).Plausible({
        apiHost,
        trackLocalhost: true,
        domain: 'b.example.test',
      });
      plausible.trackPageview({}, { props: { plan: 'pro', author: 'jane.doe@example.com' } });
      plausible.trackEvent('Signup', { props: { plan: 'team', seats: 3, email: 'jane.doe@example.com' } });
    }, 2);
    expect(r.answers.map((a) => a.status)).toEqual([202, 202]);
    expect(r.records.map((x) => [x.site, x.event, x.tracker])).toEqual([
      ['pl-b', 'page.display', 'plausible'],
      ['pl-b', 'plausible.Signup', 'plausible'],
    ]);
    expect(r.records[0]!.props.plausible_prop_plan).toBe('pro');
    expect(r.records[1]!.props.plausible_prop_plan).toBe('team');
    for (const rec of r.records) {
      expect(rec).not.toHaveProperty('visitor');
      expect(Object.keys(rec.props).filter((k) => k.startsWith('plausible_'))).toEqual(['plausible_prop_plan']);
    }
    expect(JSON.stringify(r.records)).not.toMatch(/jane|seats|author/);
  });

  it('enableAutoOutboundTracking(): the click is a click.exit record, the link without its query', async () => {
    const r = await runCase(({ apiHost }) => {
      const plausible = (
        window as unknown as { Plausible: (o: object) => { enableAutoOutboundTracking(): void } }
      ).Plausible({ apiHost, trackLocalhost: true });
      plausible.enableAutoOutboundTracking();
      const a = document.getElementById('out') as HTMLAnchorElement;
      a.addEventListener('click', (e) => e.preventDefault()); // stay on the page
      a.click();
    }, 1);
    expect(r.answers.map((a) => a.status)).toEqual([202]);
    expect(r.records).toMatchObject([
      {
        site: 'pl-a',
        event: 'click.exit',
        tracker: 'plausible',
        props: { click: 'https://partner.example.test/offer' },
      },
    ]);
    expect(JSON.stringify(r.records)).not.toMatch(/ref=shop|jane/);
  });
});
