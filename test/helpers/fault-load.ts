// A bounded load generator: unique hits at a steady rate over keep-alive
// connections, stopping after maxRequests or durationMs (or when told to), and
// remembering what each request got, so that a test can reconcile by record id.
import http from 'node:http';
import { createRecordIds } from '../../src/pipeline/record.js';
import { TEST_KEYS } from './app.js';

export interface Outcome {
  index: number;
  /** ms since the load started */
  sentAt: number;
  ms: number;
  status?: number;
  retryAfter?: string;
  connection?: string;
  body?: string;
  /** ECONNRESET, ECONNREFUSED, socket hang up... */
  error?: string;
  /** The id the record gets if the hit is stored. */
  recordId: string;
}

export interface LoadOptions {
  base: string;
  ratePerSecond: number;
  durationMs: number;
  maxRequests: number;
  concurrency: number;
  site?: string;
  /** Checked before each request: true stops sending (a load balancer that drained). */
  stop?: () => boolean;
}

const recordIds = createRecordIds(Buffer.from(TEST_KEYS.split(',')[0]!.split(':')[1]!, 'utf8'));

export function hitBody(index: number, runId: string): string {
  return JSON.stringify({
    events: [
      {
        name: 'page.display',
        data: {
          page: 'load',
          pageview_id: `${runId}-${index}`,
          visitor_privacy_mode: 'exempt',
          visitor_privacy_consent: false,
          device_timestamp_utc: Date.now() / 1000,
        },
      },
    ],
  });
}

export async function runLoad(opts: LoadOptions): Promise<{ outcomes: Outcome[]; startedAt: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const url = new URL(opts.base);
  const site = opts.site ?? 'load';
  const runId = Math.random().toString(36).slice(2, 8);
  const outcomes: Outcome[] = [];
  const startedAt = Date.now();
  let inFlight = 0;
  let sent = 0;
  const pending = new Set<Promise<void>>();

  const one = (index: number) => {
    const idclient = `v${index % 997}`;
    const body = hitBody(index, runId);
    const o: Outcome = { index, sentAt: Date.now() - startedAt, ms: 0, recordId: `${recordIds(site, idclient, body)(0)}` };
    outcomes.push(o);
    const t0 = performance.now();
    inFlight++;
    const p = new Promise<void>((resolve) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: `/event?s=${site}&idclient=${idclient}`,
          agent,
          headers: { 'content-type': 'text/plain;charset=UTF-8', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            o.status = res.statusCode;
            o.retryAfter = res.headers['retry-after'];
            o.connection = res.headers.connection;
            o.body = Buffer.concat(chunks).toString();
            resolve();
          });
          res.on('error', (err: NodeJS.ErrnoException) => ((o.error = err.code ?? err.message), resolve()));
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        o.error = err.code ?? err.message;
        resolve();
      });
      req.setTimeout(10_000, () => req.destroy(new Error('client timeout')));
      req.end(body);
    }).then(() => {
      o.ms = performance.now() - t0;
      inFlight--;
      pending.delete(p);
    });
    pending.add(p);
  };

  const tickMs = 10;
  while (sent < opts.maxRequests && Date.now() - startedAt < opts.durationMs && !opts.stop?.()) {
    const due = Math.min(opts.maxRequests, Math.floor(((Date.now() - startedAt) * opts.ratePerSecond) / 1000));
    while (sent < due && inFlight < opts.concurrency && !opts.stop?.()) one(sent++);
    await new Promise((r) => setTimeout(r, tickMs));
  }
  await Promise.all(pending);
  agent.destroy();
  return { outcomes, startedAt };
}

/** Every record id in the given streams. */
export async function storedIds(redis: { xrange(key: string, start: string, end: string, count: 'COUNT', n: number): Promise<[string, string[]][]> }, keys: readonly string[]): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const key of keys) {
    let start = '-';
    for (;;) {
      const page = await redis.xrange(key, start, '+', 'COUNT', 5000);
      for (const [, fields] of page) ids.add((JSON.parse(fields[fields.indexOf('hit') + 1]!) as { id: string }).id);
      if (page.length < 5000) break;
      start = `(${page[page.length - 1]![0]}`;
    }
  }
  return ids;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Polls a URL and records when its status changes. */
export function pollStatus(url: string, everyMs: number): { samples: { at: number; status: number }[]; stop(): void } {
  const samples: { at: number; status: number }[] = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const status = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
        async (r) => (await r.arrayBuffer(), r.status),
        () => 0,
      );
      samples.push({ at: Date.now(), status });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return { samples, stop: () => void (stopped = true) };
}
