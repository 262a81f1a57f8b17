// A bounded load: real SDK bodies (the captured exempt page.display), each request
// marked with a unique `page` so a test can check that every 2xx hit is in the stream.
// Bounded in count AND time; it stops by itself.
import http from 'node:http';
import { sdkRequest } from './fixtures.js';

export interface LoadOptions {
  /** Base URL of the collector or of the load balancer. */
  url: string;
  /** Unique label of this run, part of every page name. */
  label: string;
  concurrency: number;
  maxRequests: number;
  maxMs: number;
  /** Pause between two requests of one worker. */
  pauseMs?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

export interface LoadResult {
  sent: number;
  /** Pages of the hits answered 2xx: each must be in the stream. */
  accepted: string[];
  /** Count by status (`204`, `503`, `error` for a connection failure). */
  statuses: Record<string, number>;
  ms: number;
  /** Per second: [2xx, other] — shows when the service was unavailable. */
  timeline: [number, number][];
}

const template = sdkRequest('exempt');

/** Visitor id of worker `w`: a worker's hits are sequential, so one visitor's order is known. */
export const visitorOf = (label: string, w: number) =>
  `${label.replace(/[^a-z0-9]/gi, '').slice(-8).toLowerCase()}w${String(w).padStart(4, '0')}`.padEnd(16, '0');

function body(page: string): string {
  const parsed = JSON.parse(template.body) as { events: { data: Record<string, unknown> }[] };
  parsed.events[0]!.data.page = page;
  return JSON.stringify(parsed);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One POST /event through node:http (keep-alive), resolving to the status or 'error'. */
export function postHit(url: string, query: string, payload: string, headers: Record<string, string> = {}, opts: { localAddress?: string } = {}): Promise<string> {
  return new Promise((resolve) => {
    const u = new URL(`/event?${query}`, url);
    const req = http.request(
      u,
      {
        method: 'POST',
        agent: opts.localAddress ? undefined : agent,
        localAddress: opts.localAddress,
        headers: { 'content-type': 'text/plain;charset=UTF-8', origin: template.headers.origin ?? '', ...headers },
        timeout: 5000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
        res.on('error', () => resolve('error'));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve('error'));
    req.end(payload);
  });
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const result: LoadResult = { sent: 0, accepted: [], statuses: {}, ms: 0, timeline: [] };
  let seq = 0;
  const worker = async (w: number) => {
    const visitor = visitorOf(opts.label, w);
    while (seq < opts.maxRequests && Date.now() - started < opts.maxMs) {
      const page = `${opts.label}-${w}-${seq++}`;
      result.sent++;
      const status = await postHit(opts.url, `s=123456&idclient=${visitor}`, body(page), opts.headers);
      result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      const second = Math.floor((Date.now() - started) / 1000);
      while (result.timeline.length <= second) result.timeline.push([0, 0]);
      if (status.startsWith('2')) {
        result.accepted.push(page);
        result.timeline[second]![0]++;
      } else {
        result.timeline[second]![1]++;
      }
      if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, w) => worker(w)));
  result.ms = Date.now() - started;
  return result;
}

/** Pages accepted (2xx) but absent from the stored records. */
export function lostHits(result: LoadResult, records: readonly { props?: unknown }[]): string[] {
  const stored = new Set(records.map((r) => (r.props as Record<string, unknown> | undefined)?.page));
  return result.accepted.filter((p) => !stored.has(p));
}

/** A one-line summary for the test output (the figures the issue asks for). */
export function summary(name: string, r: LoadResult, lost: number): string {
  const other = Object.entries(r.statuses)
    .filter(([s]) => !s.startsWith('2'))
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
  return `${name}: ${r.sent} sent in ${r.ms} ms, ${r.accepted.length} 2xx, other [${other || 'none'}], 2xx lost: ${lost}`;
}
