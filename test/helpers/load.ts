// The one load generator of the tests (and of bench/faults.ts): real SDK bodies (the
// captured exempt page.display), each hit made unique by its `page`, over keep-alive
// connections. Either a rate (open loop: `ratePerSecond` hits started per second, at
// most `concurrency` in flight) or a concurrency (closed loop: `concurrency` workers,
// each sending its next hit when the previous one was answered, so one worker's hits
// are one visitor's, in order). Always bounded in count AND time, and it stops by itself
// (or earlier, when `stop()` says so). Each outcome keeps its status, the headers a test
// checks, and the id its record gets if it is stored, for reconciliation with the stream.
import http from 'node:http';
import { createRecordIds } from '../../src/pipeline/record.js';
import { TEST_KEYS } from './app.js';
import { sdkRequest } from './fixtures.js';
import { DESKTOP_CHROME_UA } from './user-agents.js';

export interface LoadOptions {
  /** Base URL of the collector or of the load balancer. */
  url: string;
  /** Unique label of this run, part of every page name and visitor id (default: random). */
  label?: string;
  /** Open loop: hits started per second. Without it, a closed loop of `concurrency` workers. */
  ratePerSecond?: number;
  /** Workers (closed loop), or the bound of requests in flight (open loop). */
  concurrency: number;
  maxRequests: number;
  maxMs: number;
  /** Closed loop: pause of a worker between two hits. */
  pauseMs?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** The `s` query parameter (default: the fixture's site, 123456). */
  site?: string;
  /** Checked before each request: true stops sending (a load balancer that drained). */
  stop?: () => boolean;
}

export interface Outcome {
  index: number;
  /** The hit's `page`: unique in the run. */
  page: string;
  /** Its idclient. */
  visitor: string;
  /** ms since the load started, when it was sent. */
  sentAt: number;
  /** Response time, ms. */
  ms: number;
  status?: number;
  retryAfter?: string;
  connection?: string;
  /** The body of a non-2xx answer. */
  body?: string;
  /** ECONNRESET, ECONNREFUSED, 'client timeout'... */
  error?: string;
  /** The id its record gets if the hit is stored (record id of event 0). */
  recordId: string;
}

export interface LoadResult {
  outcomes: Outcome[];
  /** Date.now() when the load started. */
  startedAt: number;
  ms: number;
  /** Count by status (`204`, `503`, or `error` for a connection failure). */
  statuses: Record<string, number>;
  /** The outcomes answered 2xx: each of their records must be in the stream. */
  accepted: Outcome[];
  /** Per second of the run: [2xx, other], by the second the answer came. */
  timeline: [number, number][];
}

const template = sdkRequest('exempt');
const templateBody = JSON.parse(template.body) as { events: { data: Record<string, unknown> }[] };
if (templateBody.events.length !== 1) throw new Error('the exempt fixture must hold one event: a record id per hit');
const DEFAULT_SITE = template.query.s ?? '123456';

/** The collector's record ids under TEST_KEYS (every test process runs with them). */
const recordIds = createRecordIds(Buffer.from(TEST_KEYS.split(',')[0]!.split(':')[1]!, 'utf8'));

/** A 16-character visitor id made of the label and a number: the same pair, the same id. */
export const visitorOf = (label: string, n: number) =>
  `${label
    .replace(/[^a-z0-9]/gi, '')
    .slice(-8)
    .toLowerCase()}w${String(n).padStart(4, '0')}`.padEnd(16, '0');

/** The captured SDK body with its page set to `page`. */
function hitBody(page: string): string {
  const parsed = structuredClone(templateBody);
  parsed.events[0]!.data.page = page;
  return JSON.stringify(parsed);
}

/** The id the record of a hit gets (its first event), as the collector computes it. */
const recordIdOf = (site: string, idclient: string, body: string) => recordIds(site, idclient, body)(0);

/** One POST /event, resolving to its outcome fields (never rejects). */
function post(
  agent: http.Agent | undefined,
  url: URL,
  query: string,
  body: string,
  headers: Record<string, string>,
  o: Partial<Outcome>,
  opts: { localAddress?: string } = {},
): Promise<void> {
  return new Promise<void>((resolve) => {
    const t0 = performance.now();
    const done = () => ((o.ms = performance.now() - t0), resolve());
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: `/event?${query}`,
        agent,
        localAddress: opts.localAddress,
        headers: {
          'content-type': 'text/plain;charset=UTF-8',
          'content-length': Buffer.byteLength(body),
          origin: template.headers.origin ?? '',
          // a person's browser: a hit without a User-Agent is a robot's, set apart
          'user-agent': DESKTOP_CHROME_UA,
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          o.status = res.statusCode;
          o.retryAfter = res.headers['retry-after'];
          o.connection = res.headers.connection;
          if (!String(res.statusCode).startsWith('2')) o.body = Buffer.concat(chunks).toString();
          done();
        });
        res.on('error', (err: NodeJS.ErrnoException) => ((o.error = err.code ?? err.message), done()));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => ((o.error ??= err.code ?? err.message), done()));
    req.setTimeout(10_000, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'client timeout' })));
    req.end(body);
  });
}

/** One POST /event through node:http, resolving to the status ('204') or 'error'. */
export async function postHit(
  url: string,
  query: string,
  payload: string,
  headers: Record<string, string> = {},
  opts: { localAddress?: string } = {},
): Promise<string> {
  const o: Partial<Outcome> = {};
  await post(undefined, new URL(url), query, payload, { connection: 'close', ...headers }, o, opts);
  return o.error ? 'error' : String(o.status);
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const label = opts.label ?? Math.random().toString(36).slice(2, 8);
  const site = opts.site ?? DEFAULT_SITE;
  const url = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const startedAt = Date.now();
  const result: LoadResult = { outcomes: [], startedAt, ms: 0, statuses: {}, accepted: [], timeline: [] };
  let sent = 0;
  const more = () => sent < opts.maxRequests && Date.now() - startedAt < opts.maxMs && !opts.stop?.();

  const one = async (visitorNo: number, page: string) => {
    const visitor = visitorOf(label, visitorNo);
    const body = hitBody(page);
    const o: Outcome = {
      index: sent++,
      page,
      visitor,
      sentAt: Date.now() - startedAt,
      ms: 0,
      recordId: recordIdOf(site, visitor, body),
    };
    result.outcomes.push(o);
    await post(agent, url, `s=${site}&idclient=${visitor}`, body, opts.headers ?? {}, o);
    const key = o.error ? 'error' : String(o.status);
    result.statuses[key] = (result.statuses[key] ?? 0) + 1;
    const second = Math.floor((Date.now() - startedAt) / 1000);
    while (result.timeline.length <= second) result.timeline.push([0, 0]);
    if (!o.error && String(o.status).startsWith('2')) {
      result.accepted.push(o);
      result.timeline[second]![0]++;
    } else {
      result.timeline[second]![1]++;
    }
  };

  try {
    if (opts.ratePerSecond) {
      const inFlight = new Set<Promise<void>>();
      while (more()) {
        const due = Math.min(opts.maxRequests, Math.floor(((Date.now() - startedAt) * opts.ratePerSecond) / 1000));
        while (sent < due && inFlight.size < opts.concurrency && more()) {
          const p: Promise<void> = one(sent % 997, `${label}-r-${sent}`).then(() => void inFlight.delete(p));
          inFlight.add(p);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await Promise.all(inFlight);
    } else {
      let seq = 0;
      const worker = async (w: number) => {
        while (more()) {
          await one(w, `${label}-${w}-${seq++}`);
          if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
        }
      };
      await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
    }
  } finally {
    agent.destroy();
  }
  result.ms = Date.now() - startedAt;
  return result;
}

type StreamReader = {
  xrange(key: string, start: string, end: string, count: 'COUNT', n: number): Promise<[string, string[]][]>;
};

/** Every record id in the given streams. */
export async function storedIds(redis: StreamReader, keys: readonly string[]): Promise<Set<string>> {
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

/** The hits answered 2xx whose record is not in the stream: must be none. */
export function lostHits(result: LoadResult, stored: ReadonlySet<string>): string[] {
  return result.accepted.filter((o) => !stored.has(o.recordId)).map((o) => o.page);
}

/** A one-line account of a run, for the message of a failed expectation. */
export function summary(name: string, r: LoadResult): string {
  return `${name}: ${r.outcomes.length} sent in ${r.ms} ms, ${r.accepted.length} 2xx, by status ${JSON.stringify(r.statuses)}, per second [2xx, other] ${JSON.stringify(r.timeline)}`;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export interface StatusPoller {
  samples: { at: number; status: number }[];
  stop(): Promise<void>;
  /** Date.now() of the first sample at or after `from` whose status matches. */
  firstAfter(from: number, match: (status: number) => boolean): number | undefined;
}

/** Polls a URL every `everyMs` and records each answer's status (0: no answer within 2 s). */
export function pollStatus(url: string, everyMs: number): StatusPoller {
  const samples: { at: number; status: number }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const status = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
        async (r) => (await r.arrayBuffer(), r.status),
        () => 0,
      );
      samples.push({ at: Date.now(), status });
      if (!stopped) await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await loop;
    },
    firstAfter: (from, match) => samples.find((s) => s.at >= from && match(s.status))?.at,
  };
}
