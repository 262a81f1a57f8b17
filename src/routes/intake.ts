// What every hit route does once it knows the site and holds events in the Piano
// vocabulary, whoever sent them (the Piano SDK's /event, an adapted Matomo or Plausible
// request): the site's policy, the one-site check, the rate limit, the pipeline, the
// audience check (robots and referrer spam set apart: counted, never stored), one sink
// write for the whole request (2xx only once Redis has all of it, else 503), and the
// metrics. One place, so that the three routes give the same guarantees.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config/index.js';
import { setApartCounterKey } from '../contract/keys.js';
import type { Tracker } from '../contract/modes.js';
import type { CounterIncrement, StreamEntry } from '../contract/record.js';
import { badRequest, ERROR_CODES, forbidden, HttpError, unavailable } from '../errors.js';
import { privacyClaim, withClaim } from '../formats/claim.js';
import { FormatError, type AdaptedHit } from '../formats/types.js';
import { type Audience, createAudienceCheck } from '../pipeline/audience.js';
import { createTrustedProxies } from '../pipeline/client-ip.js';
import { createHitProcessor, type HitOutput } from '../pipeline/hit.js';
import { originRefusal, type PageUrls } from '../pipeline/origin.js';
import type { Pseudonymiser } from '../pipeline/pseudonymise.js';
import type { HitEvent } from '../contract/wire.js';
import { rateLimited } from '../plugins/rate-limit.js';
import type { ReferrerSpamList } from '../policy/referrer-spam.js';
import { SITE_ID_SHAPE, SITE_ID_SHAPE_TEXT, type SitePolicies, type SitePolicy } from '../policy/sites.js';
import type { TrackerCreation } from '../policy/tracker-lifetime.js';
import { SinkError } from '../sink/sink.js';

export interface IntakeOptions {
  config: Config;
  pseudonymiser: Pseudonymiser;
  sites: SitePolicies;
  /** Read once at start (src/policy/referrer-spam.ts). */
  referrerSpam: ReferrerSpamList;
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
  tracker?: Tracker;
  /** The visitor's browser forwarded by a server-side tracker (Matomo `ua`): decides over the request's own. */
  userAgent?: string;
  /** The tracker's own creation time, as sent (Matomo `_idts`), for the 13-month rule. */
  trackerCreated?: TrackerCreation;
}

export interface Intake {
  /**
   * The site's policy; 400 for a site id without the shape when no sites file names the
   * sites, else 403 `unknown_site`.
   */
  policyOf(site: string): SitePolicy;
  /**
   * 403 `origin_not_allowed` unless the request's Origin (or Referer; without either,
   * every page URL of `pageUrls`) is one of the site's domains. `path`: where the hit is
   * in the request (a Matomo bulk's item), named in the refusal.
   */
  checkOrigin(policy: SitePolicy, req: FastifyRequest, pageUrls?: PageUrls, path?: string): void;
  /**
   * Runs the pipeline over every hit (a property it refuses: 400), takes each site's
   * events from its rate-limit bucket (429 with Retry-After), then writes all their
   * entries and counters in one sink write: resolves once Redis has all of them, else
   * throws the 503. Drops `req.body` before waiting. `gpc`: the request carries an
   * objection the site's `gpc` setting decides on.
   */
  store(req: FastifyRequest, hits: readonly IntakeHit[], gpc: boolean): Promise<void>;
}

/** The request's own header, when sent once (a repeated header is not a browser's). */
const headerOf = (value: string | string[] | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;

export function createIntake(app: FastifyInstance, opts: IntakeOptions): Intake {
  // An hour's counter is refreshed until that hour ends: retention − 1 h from the last
  // increment keeps every counted hit at most STREAM_RETENTION.
  const counterTtlSeconds = Math.max(60, Math.floor(opts.config.streamRetentionMs / 1000) - 3600);
  const audienceOf = createAudienceCheck(opts.referrerSpam);
  const processHit = createHitProcessor({
    geolocator: app.geolocator,
    pseudonymiser: opts.pseudonymiser,
    isTrustedProxy: createTrustedProxies(opts.config.trustProxy),
    recordIdSecret: opts.config.pseudonymKeys[0]!.secret,
    streamKeys: app.streamKeys,
    counterTtlSeconds,
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
      if (!policy) throw forbidden(ERROR_CODES.UNKNOWN_SITE, `site ${site} is not configured on this collector`);
      return policy;
    },

    checkOrigin(policy, req, pageUrls, path) {
      const refusal = originRefusal(policy, req.headers.origin, req.headers.referer, pageUrls);
      if (refusal)
        throw new HttpError({ statusCode: 403, code: ERROR_CODES.ORIGIN_NOT_ALLOWED, message: refusal, path });
    },

    async store(req, hits, gpc) {
      const receivedAt = Date.now();
      const entries: StreamEntry[] = [];
      const counters: CounterIncrement[] = [];
      // what each hit gave (undefined: no event, nothing to write), its tracker and who sent it
      const results: { out: HitOutput | undefined; tracker: Tracker | undefined; audience: Audience }[] = [];
      const requestUserAgent = headerOf(req.headers['user-agent']);
      const requestHints = headerOf(req.headers['sec-ch-ua']);
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
        // A robot's or a spammer's hit went through the same checks (the same 400 as a
        // person's): only now is it set apart, one anonymous count in place of its records
        // (or of its opt-out counts: a robot is not a person objecting).
        const audience: Audience = !out
          ? 'person'
          : audienceOf({
              // a forwarded browser decides; the sender's own hints are then not the visitor's
              userAgent: h.userAgent ?? requestUserAgent,
              clientHints: h.userAgent === undefined ? requestHints : undefined,
              events: h.events,
              keepRobots: h.policy.keepRobots,
            });
        results.push({ out, tracker: h.tracker, audience });
        if (!out) continue;
        if (audience === 'person') {
          entries.push(...out.entries);
          counters.push(...out.counters);
        } else {
          const key = setApartCounterKey(h.site, receivedAt);
          counters.push({ key, field: audience, ttlSeconds: counterTtlSeconds });
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
        if (err instanceof SinkError) throw unavailable(ERROR_CODES[err.code], `hit not stored: ${err.publicMessage}`);
        throw err;
      }
      for (const { out, tracker: adapted, audience } of results) {
        const tracker = adapted ?? 'piano';
        if (audience !== 'person') {
          app.metrics.hitAccepted(tracker, out?.mode, 0);
          app.metrics.hitSetApart(tracker, audience);
          continue;
        }
        app.metrics.hitAccepted(tracker, out?.mode, out?.entries.length ?? 0);
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
    const code = err.statusCode === 413 ? ERROR_CODES.BODY_TOO_LARGE : ERROR_CODES.UNSUPPORTED_MEDIA_TYPE;
    throw new HttpError({ statusCode: err.statusCode, code, message: err.message, path: err.path });
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
    ...(hit.userAgent !== undefined ? { userAgent: hit.userAgent } : {}),
    ...(hit.trackerCreated ? { trackerCreated: hit.trackerCreated } : {}),
  };
}
