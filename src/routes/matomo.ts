// GET and POST /matomo.php and /piwik.php — Matomo's tracking HTTP API, as matomo.js,
// the Matomo SDKs and the npm matomo-tracker send it. The adapter (src/formats/matomo.ts)
// turns the request into Piano events; from there on it is the Piano path (intake.ts).
// What Matomo's server answers and where we differ: docs/trackers/matomo.md.
import type { FastifyInstance } from 'fastify';
import {
  doNotTrackRequested,
  MATOMO_TRANSPARENT_GIF,
  matomoBulkSummary,
  matomoIgnoreCookie,
  matomoSiteOfQuery,
  parseMatomoRequest,
} from '../formats/matomo.js';
import { gpcRequested } from '../pipeline/privacy.js';
import { LIMITS } from '../contract/wire.js';
import { siteQuotaGuard } from '../plugins/rate-limit.js';
import { answerCors } from './cors.js';
import { adapt, createIntake, intakeHitOf, type IntakeOptions } from './intake.js';

const MATOMO_PATHS = ['/matomo.php', '/piwik.php'] as const;

const queryOf = (url: string) => {
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q + 1);
};

export default async function matomoRoutes(app: FastifyInstance, opts: IntakeOptions) {
  const intake = createIntake(app, opts);

  // matomo.js posts form-urlencoded (XHR, sendBeacon, and its JSON bulk too); the Matomo
  // SDKs and matomo-tracker post JSON bulks. Anything else: 415, before the body is read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['application/x-www-form-urlencoded', 'text/plain', 'application/json'],
    { parseAs: 'string', bodyLimit: LIMITS.bodyBytes },
    (_req, body, done) => done(null, body),
  );

  // matomo.js's XHR is sent withCredentials: the answer must name the page's origin and
  // allow credentials, or the browser hides it and the tracker resends the hit as an image.
  answerCors(app, {
    paths: MATOMO_PATHS,
    methods: 'GET, POST, OPTIONS',
    credentials: true,
    echoRequestedHeaders: true,
  });

  const onRequest = [app.pressure.guard, siteQuotaGuard(app.rateLimit, (req) => matomoSiteOfQuery(queryOf(req.url)))];
  for (const path of MATOMO_PATHS) {
    app.route<{ Body: string | undefined }>({
      method: ['GET', 'POST'],
      url: path,
      bodyLimit: LIMITS.bodyBytes,
      onRequest,
      config: { tracker: 'matomo' },
      handler: async (req, reply) => {
        const parsed = adapt(() =>
          parseMatomoRequest({
            method: req.method,
            query: queryOf(req.url),
            contentType: req.headers['content-type'],
            body: req.body,
          }),
        );
        // Matomo's own opt-out cookie is the visitor's objection on this very tracker:
        // honoured whatever the site's `gpc` setting. DNT is a browser-wide signal, like GPC.
        const optedOut = matomoIgnoreCookie(req.headers.cookie);
        // every hit of a bulk is checked before any is stored: one hit on another site refuses the request
        const hits = parsed.hits.map((h, i) => {
          const policy = intake.policyOf(h.site);
          intake.checkOrigin(policy, req, () => [h.pageUrl], parsed.bulk ? `body.requests.${i}.url` : undefined);
          return intakeHitOf(h, policy, optedOut);
        });
        const objection =
          gpcRequested(req.headers['sec-gpc']) || doNotTrackRequested(req.headers.dnt, req.headers['x-do-not-track']);
        await intake.store(req, hits, objection);

        if (parsed.bulk) {
          if (parsed.bulkSummary) return reply.code(200).send(matomoBulkSummary(hits.length));
          return reply.code(204).send();
        }
        if (parsed.wantsImage) {
          return reply
            .code(200)
            .header('content-type', 'image/gif')
            .header('cache-control', 'no-store')
            .send(MATOMO_TRANSPARENT_GIF);
        }
        return reply.code(204).send();
      },
    });
  }
}
