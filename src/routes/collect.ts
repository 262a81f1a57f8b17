// POST /event?s=<site>&idclient=<id> — the endpoint the Piano Analytics SDK posts to.
import type { FastifyInstance } from 'fastify';
import sjson from 'secure-json-parse';
import type { Config } from '../config/index.js';
import { badRequest, forbidden, unavailable } from '../errors.js';
import { originRefusal } from '../pipeline/origin.js';
import type { SitePolicies } from '../policy/sites.js';
import { createTrustedProxies } from '../pipeline/client-ip.js';
import { createHitProcessor } from '../pipeline/hit.js';
import { gpcRequested } from '../pipeline/privacy.js';
import type { Pseudonymiser } from '../pipeline/pseudonymise.js';
import { bodySchema, firstProblem, LIMITS, querySchema, rawQueryParams } from '../pipeline/validate.js';
import { SinkError } from '../sink/stream-sink.js';
import { rateLimited, siteQuotaGuard } from '../plugins/rate-limit.js';

/** JSON, whatever the content type says, refusing prototype-poisoning keys. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw badRequest('empty body');
  try {
    // secure-json-parse's checks can only match a body that holds one of these (a key
    // spelled with \u escapes holds a backslash-u): without them, plain JSON.parse is
    // the same parse, without two regex scans of the whole body
    if (text.charCodeAt(0) !== 0xfeff && !text.includes('__proto__') && !text.includes('constructor') && !text.includes('\\u')) {
      return JSON.parse(text);
    }
    return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    const message = (err as Error).message;
    if (/prototype|constructor/i.test(message)) throw badRequest('body holds a forbidden property name (__proto__ or constructor.prototype)');
    throw badRequest(`body is not valid JSON: ${message.slice(0, 120)}`);
  }
}

/** The privacy mode the hit claims, read before validation (only a metrics label). */
function claimedMode(json: unknown): string | undefined {
  const events = (json as { events?: unknown } | null)?.events;
  const mode = Array.isArray(events) ? (events[0] as { data?: { visitor_privacy_mode?: unknown } } | null)?.data?.visitor_privacy_mode : undefined;
  return typeof mode === 'string' ? mode : undefined;
}

/** What the content-type parser hands to the route: the text and its parse. */
interface ReceivedBody {
  raw: string;
  json: unknown;
}

const PREFLIGHT_HEADERS = {
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': 'Content-Type',
  'access-control-max-age': '86400',
};

export default async function collectRoutes(app: FastifyInstance, opts: { config: Config; pseudonymiser: Pseudonymiser; sites: SitePolicies }) {
  const { sites } = opts;
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

  // The SDK sends text/plain;charset=UTF-8 (sendBeacon, fetch and XHR alike).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['text/plain', 'application/json'], { parseAs: 'string', bodyLimit: LIMITS.bodyBytes }, (_req, body, done) => {
    try {
      done(null, { raw: body as string, json: parseJsonBody(body as string) } satisfies ReceivedBody);
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  // CORS on every answer of this route, errors included: the SDK's fetch fallback
  // resends a hit whose answer it cannot read.
  app.addHook('onRequest', (req, reply, done) => {
    const origin = req.headers.origin;
    reply.header('access-control-allow-origin', origin && origin !== 'null' ? origin : '*');
    reply.header('vary', 'Origin');
    done();
  });

  app.options('/event', async (_req, reply) => {
    reply.headers(PREFLIGHT_HEADERS).code(204).send();
  });

  // onRequest, before the body is read: a shed or rate-limited hit costs neither memory nor parsing
  const onRequest = [app.pressure.guard, siteQuotaGuard(app.rateLimit)];
  app.post<{ Body: ReceivedBody | undefined }>('/event', { bodyLimit: LIMITS.bodyBytes, onRequest }, async (req, reply) => {
    const query = querySchema.safeParse(rawQueryParams(req.url));
    if (!query.success) {
      const p = firstProblem(query.error);
      throw badRequest(p.message, `query.${p.path}`);
    }
    const site = query.data.s;
    const policy = sites.get(site);
    if (!policy) throw forbidden('unknown_site', `site ${site} is not configured on this collector`);
    const refusal = originRefusal(policy, req.headers.origin, req.headers.referer);
    if (refusal) throw forbidden('origin_not_allowed', refusal);
    if (!req.body) throw badRequest('empty body', 'body');
    req.hitMode = claimedMode(req.body.json);
    const body = bodySchema.safeParse(req.body.json);
    if (!body.success) {
      const p = firstProblem(body.error);
      throw badRequest(p.message, p.path ? `body.${p.path}` : 'body');
    }
    const wait = app.rateLimit.take(site, body.data.events.length);
    if (wait > 0) {
      app.metrics.rateLimited(body.data.events.length);
      throw rateLimited(site, wait);
    }
    const { entries, counters, mode, dropped, rules } = processHit({
      site,
      policy,
      idclient: query.data.idclient,
      events: body.data.events,
      rawBody: req.body.raw,
      peer: req.socket.remoteAddress,
      forwardedFor: req.headers['x-forwarded-for'],
      gpc: gpcRequested(req.headers['sec-gpc']),
      receivedAt: Date.now(),
    });
    req.hitMode = mode;
    // Only the encoded entries wait for Redis: the parsed body would otherwise live
    // through the wait, survive a scavenge and be copied by the garbage collector.
    req.body = undefined;
    try {
      await app.sink.write(entries, counters);
    } catch (err) {
      // the cause in the collector's words; Redis's own text is in the sink's log line
      if (err instanceof SinkError) throw unavailable(err.code.toLowerCase(), `hit not stored: ${err.publicMessage}`);
      throw err;
    }
    app.metrics.hitAccepted(mode, entries.length);
    app.metrics.privacyDropped(mode, dropped);
    app.metrics.exemptRules(rules);
    app.metrics.optoutCounted(counters.length);
    reply.code(204).send();
  });
}
