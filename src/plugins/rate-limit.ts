// Per-site rate limit: events per second per site and process (the site's `rateLimit`
// in SITES_FILE, else SITE_RATE_LIMIT; 0 = none). Above it, hits get 429 with
// Retry-After and nothing of them is stored. One token bucket per site, in memory:
// a flood on one site empties that site's bucket only, and costs no Redis round trip.
//
// Why not @fastify/rate-limit: it counts requests per key in fixed windows (bursty at
// window edges), decides in a hook before the body is read (the events of a request
// are not known yet), and its Redis store, the only one shared by replicas, would add
// a round trip per hit. A per-process bucket of events is a few lines; with N replicas
// behind a balancer, a site's limit is about N × its rate.
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { ERROR_CODES, HttpError } from '../errors.js';
import type { SitePolicies } from '../policy/sites.js';

declare module 'fastify' {
  interface FastifyInstance {
    rateLimit: SiteRateLimiter;
  }
}

/** A bucket holds this many seconds of a site's rate: short bursts pass, floods do not. */
export const BURST_SECONDS = 2;
/** Buckets kept at most (any site id is accepted without a sites file). */
const MAX_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class SiteRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #rateOf: (site: string) => number;
  readonly #now: () => number;

  /** `rateOf(site)`: events per second, 0 for no limit. */
  constructor(rateOf: (site: string) => number, now: () => number = performance.now.bind(performance)) {
    this.#rateOf = rateOf;
    this.#now = now;
  }

  #bucket(site: string, rate: number): Bucket {
    const now = this.#now();
    let b = this.#buckets.get(site);
    if (!b) {
      if (this.#buckets.size >= MAX_BUCKETS) this.#prune(now);
      b = { tokens: rate * BURST_SECONDS, at: now };
      this.#buckets.set(site, b);
    } else {
      b.tokens = Math.min(rate * BURST_SECONDS, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
    }
    return b;
  }

  /**
   * Forgets the buckets that would be full by now (they hold no state); when that is not
   * room enough, the fullest of the others. An emptied bucket (a flooding site's) goes
   * last: forgetting it would hand the flood a full bucket again. Not the oldest first:
   * the flood's bucket, made first and kept empty, would be the oldest.
   */
  #prune(now: number): void {
    const notFull: [site: string, fill: number][] = [];
    for (const [site, b] of this.#buckets) {
      const rate = this.#rateOf(site);
      const fill = rate === 0 ? 1 : (b.tokens + ((now - b.at) / 1000) * rate) / (rate * BURST_SECONDS);
      if (fill >= 1) this.#buckets.delete(site);
      else notFull.push([site, fill]);
    }
    if (this.#buckets.size < MAX_BUCKETS) return;
    // a tenth of the table at once, so that a table full of live buckets is not sorted for every new site
    notFull.sort((a, b) => b[1] - a[1]);
    for (const [site] of notFull.slice(0, MAX_BUCKETS / 10)) this.#buckets.delete(site);
  }

  /**
   * Takes `events` tokens from the site's bucket. Returns 0 when they were there, else
   * the seconds after which they will be (nothing is taken then). A request with more
   * events than a whole bucket passes when the bucket is full and leaves it in debt:
   * otherwise a site with a low limit could never send the SDK's larger batches.
   */
  take(site: string, events: number): number {
    const wait = this.#waitFor(site, events);
    if (wait === 0) this.#deduct(site, events);
    return wait;
  }

  /**
   * Takes every site's events of one request (a Matomo bulk may name several sites), or
   * none: the first site short of tokens and its wait, and no bucket touched.
   */
  takeAll(demand: ReadonlyMap<string, number>): { site: string; wait: number } | undefined {
    for (const [site, events] of demand) {
      const wait = this.#waitFor(site, events);
      if (wait > 0) return { site, wait };
    }
    for (const [site, events] of demand) this.#deduct(site, events);
    return undefined;
  }

  /** Seconds until the site's bucket holds `events` tokens (0: it does now); takes nothing. */
  #waitFor(site: string, events: number): number {
    const rate = this.#rateOf(site);
    if (rate === 0 || events <= 0) return 0;
    const b = this.#bucket(site, rate);
    const needed = Math.min(events, rate * BURST_SECONDS);
    return b.tokens >= needed ? 0 : Math.max(1, Math.ceil((needed - b.tokens) / rate));
  }

  #deduct(site: string, events: number): void {
    const rate = this.#rateOf(site);
    if (rate === 0 || events <= 0) return;
    this.#bucket(site, rate).tokens -= events;
  }

  /** Seconds until the site has a token at all, or 0: the check before a body is read. */
  emptyFor(site: string): number {
    const rate = this.#rateOf(site);
    if (rate === 0) return 0;
    const b = this.#bucket(site, rate);
    return b.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / rate));
  }
}

export const rateLimited = (site: string, retryAfterSeconds: number) =>
  new HttpError({
    statusCode: 429,
    code: ERROR_CODES.RATE_LIMITED,
    message: `site ${site} sends more events than this collector takes for it; retry later`,
    headers: { 'retry-after': String(retryAfterSeconds) },
  });

export default fp(
  async (app, opts: { config: Config; sites: SitePolicies }) => {
    const fallback = opts.config.siteRateLimit;
    const limiter = new SiteRateLimiter((site) => opts.sites.get(site)?.rateLimit ?? fallback);
    app.decorate('rateLimit', limiter);
  },
  { name: 'rate-limit' },
);

/** The site of a Piano SDK hit: the `s` query parameter. */
const siteParam = (req: FastifyRequest): unknown => (req.query as Record<string, unknown> | undefined)?.s;

/**
 * onRequest hook for a hit route whose site can be read from the request line (the
 * Piano SDK's `s` query parameter by default; Matomo's `idsite`): a site whose bucket
 * is empty gets its 429 before its body is read or parsed.
 */
export function siteQuotaGuard(limiter: SiteRateLimiter, siteOf: (req: FastifyRequest) => unknown = siteParam) {
  return (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    const site = siteOf(req);
    if (typeof site === 'string') {
      const wait = limiter.emptyFor(site);
      if (wait > 0) return done(rateLimited(site, wait));
    }
    done();
  };
}
