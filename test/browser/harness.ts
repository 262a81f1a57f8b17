// The real Piano Analytics SDK (piano-analytics-js, its own browser bundle) in a real
// headless Chromium, posting to the real collector, through a reverse proxy that
// plays the load balancer:
//
//   page  http://127.0.0.1:<pagePort>/site/article.html   (serves the HTML and the SDK bundle)
//     │  sendBeacon / fetch, cross-origin (another port), exactly as in production
//     ▼
//   proxy http://127.0.0.1:<proxyPort>   (= the SDK's collectDomain) appends
//     │  X-Forwarded-For: <public address>, and records what the SDK sent and got back
//     ▼
//   collector http://127.0.0.1:<port>    TRUST_PROXY=127.0.0.1, the suite's Redis
//
// Everything listens on 127.0.0.1 only; nothing is installed or downloaded at run time.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { DESKTOP_CHROME_UA } from '../helpers/user-agents.js';

const require = createRequire(import.meta.url);

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'];
/**
 * A visitor's browser context. Headless Chromium says so in its User-Agent (HeadlessChrome)
 * and the collector sets robots apart (src/pipeline/audience.ts): a real visitor's browser
 * is not headless, so the cases give it a current desktop Chrome's User-Agent.
 */
export const VISITOR_CONTEXT = { userAgent: DESKTOP_CHROME_UA } as const;
const PAGE_PATH = '/site/article.html';
const PAGE_TITLE = 'Browser Suite Page';

/** The SDK's own browser bundle (package.json `browser` field); defines window.pa. */
function sdkBundle(): { version: string; source: Buffer } {
  const pkgPath = require.resolve('piano-analytics-js/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string; browser?: string };
  const rel = pkg.browser ?? 'dist/browser/piano-analytics.umd.js';
  return { version: pkg.version, source: readFileSync(path.join(path.dirname(pkgPath), rel)) };
}

/** One request the SDK sent to its collectDomain, as the proxy saw it. */
interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The collector's answer (0 until it arrives; 502 when the collector was unreachable). */
  status: number;
  responseHeaders: http.IncomingHttpHeaders;
}

/** Rewrites the collector's answer headers on the way back (fault injection for one case). */
type AnswerRewrite = ((headers: http.IncomingHttpHeaders) => http.IncomingHttpHeaders) | undefined;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function pageHtml(pac: string | null): string {
  // Wraps sendBeacon and fetch only to observe which transport the SDK chose.
  return `<!doctype html><html><head><meta charset="utf-8"><title>${PAGE_TITLE}</title>
<script>
  window.__transport = [];
  (function () {
    var sb = navigator.sendBeacon && navigator.sendBeacon.bind(navigator);
    if (sb) navigator.sendBeacon = function (url, data) {
      var r = sb(url, data); window.__transport.push({ via: 'sendBeacon', url: String(url), returned: r }); return r;
    };
    var f = window.fetch.bind(window);
    window.fetch = function (url, init) {
      window.__transport.push({ via: 'fetch', url: String(url), keepalive: !!(init && init.keepalive) });
      return f(url, init);
    };
  })();
  ${pac ? `window._pac = ${pac};` : ''}
</script>
<script src="/sdk.js"></script></head><body><h1>browser suite</h1></body></html>`;
}

/** What a case's in-page script gets (it runs in the browser: no closure over Node values). */
interface PageArgs {
  collectDomain: string;
  site: string;
}

interface CaseOptions {
  /** `window._pac` set before the SDK loads (the consent v2 API needs `{ consentDefaultMode: 'opt-in' }`). */
  pac?: Record<string, unknown>;
  /** Requests the SDK is expected to send; the case waits for their answers (bounded). */
  requests: number;
  /** Records expected in the stream; the case polls Redis until they are there (bounded). */
  records: number;
  /** Rewrite the collector's answer headers on their way to the browser. */
  rewriteAnswer?: AnswerRewrite;
  /** Keep headless Chromium's own User-Agent (a robot's) instead of VISITOR_CONTEXT's. */
  headlessUserAgent?: boolean;
}

export interface CaseResult {
  /** What the SDK sent, in order, with the collector's answers. */
  requests: SeenRequest[];
  /** The events the SDK put on the wire, flattened over the requests. */
  sentEvents: { name: string; data: Record<string, unknown> }[];
  /** New stream records since the case started, parsed. */
  records: Record<string, unknown>[];
  /** Change of every opt-out and set-apart counter field (key → field → delta) since the case started. */
  counterDeltas: Record<string, Record<string, number>>;
  transport: { via: string; url: string; keepalive?: boolean; returned?: boolean }[];
  cookies: Record<string, string>;
  pageOrigin: string;
  pageErrors: string[];
}

export interface Harness {
  collector: TestApp;
  collectDomain: string;
  pageOrigin: string;
  sdkVersion: string;
  browserVersion: string;
  /** Opens the page in a fresh context, runs `script` in it after the SDK loaded, waits, reports. */
  runCase(script: (args: PageArgs) => void, args: PageArgs, opts: CaseOptions): Promise<CaseResult>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return true;
    await sleep(50);
  }
  return pred();
}

/** How long a case keeps listening after the expected traffic, to catch a resend. */
const SETTLE_MS = 600;
const WAIT_MS = 8000;

export async function startHarness(opts: {
  clientIp: string;
  /** The `sites` object of SITES_FILE (written to a temporary file). */
  sites?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
}): Promise<Harness> {
  const sdk = sdkBundle();
  let sitesDir: string | undefined;
  const env: Record<string, string | undefined> = { TRUST_PROXY: '127.0.0.1', LOG_LEVEL: 'debug', ...opts.env };
  if (opts.sites) {
    sitesDir = mkdtempSync(path.join(tmpdir(), 'browser-sites-'));
    env.SITES_FILE = path.join(sitesDir, 'sites.json');
    writeFileSync(env.SITES_FILE, JSON.stringify({ sites: opts.sites }, null, 2));
  }
  const collector = await startTestApp(env);
  const collectorUrl = new URL(await collector.app.listen({ port: 0, host: '127.0.0.1' }));

  let seen: SeenRequest[] = [];
  let rewrite: AnswerRewrite;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const proxy = http.createServer((req, res) => {
    const entry: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: '',
      status: 0,
      responseHeaders: {},
    };
    seen.push(entry);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      entry.body = body.toString('utf8');
      const headers: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
      // What a load balancer does: append the address it received the connection from.
      const prior = req.headers['x-forwarded-for'];
      headers['x-forwarded-for'] = prior ? `${String(prior)}, ${opts.clientIp}` : opts.clientIp;
      const upstream = http.request(
        { host: collectorUrl.hostname, port: collectorUrl.port, method: req.method, path: req.url, headers, agent },
        (answer) => {
          const out = rewrite ? rewrite({ ...answer.headers }) : answer.headers;
          entry.responseHeaders = out;
          const h: http.OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(out)) if (!HOP_BY_HOP.has(k) && v !== undefined) h[k] = v;
          res.writeHead(answer.statusCode ?? 502, h);
          answer.pipe(res);
          answer.on('end', () => {
            entry.status = answer.statusCode ?? 502;
          });
        },
      );
      upstream.on('error', () => {
        entry.status = 502;
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  const collectDomain = await listen(proxy);

  const pageServer = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (u.pathname === '/sdk.js') {
      res.writeHead(200, { 'content-type': 'application/javascript; charset=utf-8', 'cache-control': 'no-store' });
      return res.end(sdk.source);
    }
    if (u.pathname === PAGE_PATH) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return res.end(pageHtml(u.searchParams.get('pac')));
    }
    res.writeHead(404).end();
  });
  const pageOrigin = await listen(pageServer);

  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, timeout: 30_000 });
  } catch (err) {
    await Promise.all([close(proxy), close(pageServer), collector.close()]);
    if (sitesDir) rmSync(sitesDir, { recursive: true, force: true });
    throw new Error(
      `cannot start Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium): ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }

  const counters = async (): Promise<Record<string, Record<string, number>>> => {
    const out: Record<string, Record<string, number>> = {};
    const keys: string[] = [];
    for (const pattern of ['optout:*', 'setapart:*']) {
      let cursor = '0';
      do {
        const [next, batch] = await collector.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        keys.push(...batch);
      } while (cursor !== '0');
    }
    for (const k of keys) {
      const h = await collector.redis.hgetall(k);
      out[k] = Object.fromEntries(Object.entries(h).map(([f, v]) => [f, Number(v)]));
    }
    return out;
  };

  return {
    collector,
    collectDomain,
    pageOrigin,
    sdkVersion: sdk.version,
    browserVersion: browser.version(),

    async runCase(script, args, caseOpts) {
      const recordsBefore = (await collector.records()).length;
      const countersBefore = await counters();
      seen = [];
      rewrite = caseOpts.rewriteAnswer;
      let context: BrowserContext | undefined;
      try {
        context = await browser.newContext(caseOpts.headlessUserAgent ? {} : VISITOR_CONTEXT);
        const page: Page = await context.newPage();
        const pageErrors: string[] = [];
        page.on('pageerror', (e) => pageErrors.push(e.message));
        const url = `${pageOrigin}${PAGE_PATH}${caseOpts.pac ? `?pac=${encodeURIComponent(JSON.stringify(caseOpts.pac))}` : ''}`;
        await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
        await page.waitForFunction(
          () => typeof (window as { pa?: { sendEvent?: unknown } }).pa?.sendEvent === 'function',
          null,
          {
            timeout: 10_000,
          },
        );
        await page.evaluate(script, args);
        const answered = () => seen.filter((r) => r.status !== 0).length;
        await until(() => answered() >= caseOpts.requests, WAIT_MS);
        await sleep(SETTLE_MS); // a resend (non-2xx, CORS failure) would come now
        await until(() => seen.every((r) => r.status !== 0), WAIT_MS);
        await until(async () => (await collector.records()).length - recordsBefore >= caseOpts.records, WAIT_MS);
        const transport =
          (await page.evaluate(() => (window as unknown as { __transport: CaseResult['transport'] }).__transport)) ??
          [];
        const cookies = Object.fromEntries((await context.cookies()).map((c) => [c.name, c.value]));
        const records = (await collector.records()).slice(recordsBefore);
        const countersAfter = await counters();
        const counterDeltas: CaseResult['counterDeltas'] = {};
        for (const [k, fields] of Object.entries(countersAfter)) {
          for (const [f, n] of Object.entries(fields)) {
            const d = n - (countersBefore[k]?.[f] ?? 0);
            if (d !== 0) (counterDeltas[k] ??= {})[f] = d;
          }
        }
        const requests = [...seen];
        const sentEvents = requests
          .filter((r) => r.method === 'POST')
          .flatMap((r) => (JSON.parse(r.body) as { events: CaseResult['sentEvents'] }).events);
        return { requests, sentEvents, records, counterDeltas, transport, cookies, pageOrigin, pageErrors };
      } finally {
        rewrite = undefined;
        await context?.close();
      }
    },

    async close() {
      await browser.close().catch(() => {});
      await Promise.all([close(proxy), close(pageServer)]);
      agent.destroy();
      await collector.close();
      if (sitesDir) rmSync(sitesDir, { recursive: true, force: true });
    },
  };
}
