// What every hit route does once it knows the site and holds events in the Piano
// vocabulary, whoever sent them (the Piano SDK's /event, an adapted Matomo or Plausible
// request): the site's policy, the one-site check, the rate limit, the pipeline, one
// sink write for the whole request (2xx only once Redis has all of it, else 503), and
// the metrics. One place, so that the three routes give the same guarantees.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import type { CounterIncrement, RecordTracker, StreamEntry } from '../contract/record.js';
import { badRequest, forbidden, HttpError, unavailable } from '../errors.js';
import { privacyClaim, withClaim } from '../formats/claim.js';
import { FormatError, type AdaptedHit } from '../formats/types.js';
import { createTrustedProxies } from '../pipeline/client-ip.js';
import { createHitProcessor, type HitOutput } from '../pipeline/hit.js';
import { originRefusal } from '../pipeline/origin.js';
import type { Pseudonymiser } from '../pipeline/pseudonymise.js';
import type { HitEvent } from '../pipeline/validate.js';
import { rateLimited } from '../plugins/rate-limit.js';
import { SITE_ID_SHAPE, SITE_ID_SHAPE_TEXT, type SitePolicies, type SitePolicy } from '../policy/sites.js';
import type { TrackerCreation } from '../policy/tracker-lifetime.js';
import { SinkError } from '../sink/sink.js';

export interface IntakeOptions {
  config: Config;
  pseudonymiser: Pseudonymiser;
  sites: SitePolicies;
}

/** One hit: the events of one site and visitor, as the pipeline takes them. */
export interface IntakeHit {
  site: string;
  policy: SitePolicy;
  /** Raw visitor id: it must not outlive the request. */
  idclient: string | undefined;
  events: readonly HitEvent[];
  /** The source of the record ids. */
  rawBody: string;
  /** Absent for the Piano SDK. */
  tracker?: RecordTracker;
  /** The tracker's own creation time, as sent (Matomo `_idts`), for the 13-month rule. */
  trackerCreated?: TrackerCreation;
}

export interface Intake {
  /**
   * The site's policy; 400 for a site id without the shape when no sites file names the
   * sites, else 403 `unknown_site`.
   */
  policyOf(site: string): SitePolicy;
  /** 403 `origin_not_allowed` unless the request's Origin (or Referer) is one of the site's domains. */
  checkOrigin(policy: SitePolicy, req: FastifyRequest): void;
  /**
   * Runs the pipeline over every hit (a property it refuses: 400), takes each site's
   * events from its rate-limit bucket (429 with Retry-After), then writes all their
   * entries and counters in one sink write: resolves once Redis has all of them, else
   * throws the 503. Drops `req.body` before waiting. `gpc`: the request carries an
   * objection the site's `gpc` setting decides on.
   */
  store(req: FastifyRequest, hits: readonly IntakeHit[], gpc: boolean): Promise<void>;
}

export function createIntake(app: FastifyInstance, opts: IntakeOptions): Intake {
  const processHit = createHitProcessor({
    geolocator: app.geolocator,
    pseudonymiser: opts.pseudonymiser,
    isTrustedProxy: createTrustedProxies(opts.config.trustProxy),
    recordIdSecret: opts.config.pseudonymKeys[0]!.secret,
    streamKeys: app.streamKeys,
    // An hour's counter is refreshed until that hour ends: retention − 1 h from the last
    // increment keeps every counted hit at most STREAM_RETENTION.
    counterTtlSeconds: Math.max(60, Math.floor(opts.config.streamRetentionMs / 1000) - 3600),
  });

  /** Takes each site's events from its rate-limit bucket, or 429 with Retry-After. */
  function takeQuota(hits: readonly IntakeHit[]): void {
    const perSite = new Map<string, number>();
    for (const h of hits) perSite.set(h.site, (perSite.get(h.site) ?? 0) + h.events.length);
    // all or nothing: a Matomo bulk naming several sites takes no site's tokens when one is short
    const short = app.rateLimit.takeAll(perSite);
    if (short) {
      // (every event of the request is refused, not only the short site's)
      let events = 0;
      for (const n of perSite.values()) events += n;
      app.metrics.rateLimited(events);
      throw rateLimited(short.site, short.wait);
    }
  }

  return {
    policyOf(site) {
      if (!opts.sites.configured && !SITE_ID_SHAPE.test(site)) {
        const message = `a site id is ${SITE_ID_SHAPE_TEXT} when no sites file (SITES_FILE) names the sites`;
        throw badRequest(message, 'query.s');
      }
      const policy = opts.sites.get(site);
      if (!policy) throw forbidden('unknown_site', `site ${site} is not configured on this collector`);
      return policy;
    },

    checkOrigin(policy, req) {
      const refusal = originRefusal(policy, req.headers.origin, req.headers.referer);
      if (refusal) throw forbidden('origin_not_allowed', refusal);
    },

    async store(req, hits, gpc) {
      const receivedAt = Date.now();
      const entries: StreamEntry[] = [];
      const counters: CounterIncrement[] = [];
      // what each hit gave (undefined: no event, nothing to write), and its tracker
      const results: { out: HitOutput | undefined; tracker: RecordTracker | undefined }[] = [];
      for (const h of hits) {
        // a heartbeat, an ecommerce request: nothing to write
        const out =
          h.events.length === 0
            ? undefined
            : processHit({
                site: h.site,
                policy: h.policy,
                idclient: h.idclient,
                events: h.events,
                rawBody: h.rawBody,
                peer: req.socket.remoteAddress,
                forwardedFor: req.headers['x-forwarded-for'],
                gpc,
                receivedAt,
                ...(h.tracker ? { tracker: h.tracker } : {}),
                ...(h.trackerCreated ? { trackerCreated: h.trackerCreated } : {}),
              });
        if (out && 'problem' in out) throw badRequest(out.problem.message, `body.${out.problem.path.join('.')}`);
        results.push({ out, tracker: h.tracker });
        if (out) {
          entries.push(...out.entries);
          counters.push(...out.counters);
        }
      }
      takeQuota(hits);
      req.hitMode = results.find((r) => r.out)?.out?.mode;
      // Only the encoded entries wait for Redis: the parsed body (and `hits`, not read
      // after this line) would otherwise live through the wait, survive a scavenge and
      // be copied by the garbage collector.
      (req as { body: unknown }).body = undefined;
      try {
        await app.sink.write(entries, counters);
      } catch (err) {
        // the cause in the collector's words; Redis's own text is in the sink's log line
        if (err instanceof SinkError) throw unavailable(err.code.toLowerCase(), `hit not stored: ${err.publicMessage}`);
        throw err;
      }
      for (const { out, tracker } of results) {
        app.metrics.hitAccepted(out?.mode, out?.entries.length ?? 0, tracker);
        if (!out) continue;
        app.metrics.privacyDropped(out.mode, out.dropped);
        app.metrics.exemptRules(out.rules);
        app.metrics.optoutCounted(out.counters.length);
      }
    },
  };
}

/** Runs a tracker adapter (src/formats): its FormatError becomes the usual JSON refusal. */
export function adapt<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof FormatError)) throw err;
    if (err.statusCode === 400) throw badRequest(err.message, err.path);
    throw new HttpError(err.statusCode, err.statusCode === 413 ? 'body_too_large' : 'unsupported_media_type', err.message, err.path);
  }
}

/**
 * An adapted hit as the pipeline takes it: its privacy claim set in the SDK's words
 * (src/formats/claim.ts), its raw visitor id as `idclient`, and a record-id source that
 * is the hit's own text when a resend can be told from a new hit by it, else that text
 * and a random part (AdaptedHit.replayable). `objection`: an opt-out signal the route
 * honours whatever the site's `gpc` setting (Matomo's opt-out cookie).
 */
export function intakeHitOf(hit: Omit<AdaptedHit, 'site'>, policy: SitePolicy, objection: boolean): IntakeHit {
  const claim = privacyClaim(hit, policy.maxMode, objection);
  return {
    site: policy.site,
    policy,
    idclient: hit.visitorId,
    events: hit.events.length === 0 ? [] : withClaim(hit.events, claim),
    rawBody: hit.replayable ? hit.rawBody : `${hit.rawBody}\n${randomBytes(12).toString('base64url')}`,
    tracker: hit.tracker,
    ...(hit.trackerCreated ? { trackerCreated: hit.trackerCreated } : {}),
  };
}
