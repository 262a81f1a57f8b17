// POST /api/event — Plausible's event API, as plausible-tracker and Plausible's script
// send it. The adapter (src/formats/plausible.ts) turns the body into Piano events; the
// site is the one whose domains hold the hit's domain `d`; from there on it is the
// Piano path (intake.ts). What Plausible answers and where we differ:
// docs/trackers/plausible.md.
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES, forbidden } from '../errors.js';
import { parsePlausibleRequest } from '../formats/plausible.js';
import { siteForHost } from '../pipeline/origin.js';
import { gpcRequested } from '../pipeline/privacy.js';
import { LIMITS } from '../contract/wire.js';
import type { SitePolicy } from '../policy/sites.js';
import { answerCors } from './cors.js';
import { adapt, createIntake, intakeHitOf, type IntakeOptions } from './intake.js';

const PLAUSIBLE_PATH = '/api/event';

export default async function plausibleRoutes(app: FastifyInstance, opts: IntakeOptions) {
  const intake = createIntake(app, opts);
  const { sites } = opts;

  /**
   * The site of the first of the hit's domains that one lists (Plausible drops a leading `www.` from `d`:
   * either form matches).
   */
  const siteOf = (domains: readonly string[]): SitePolicy => {
    for (const d of domains) {
      const policy = siteForHost(sites.list(), d) ?? siteForHost(sites.list(), `www.${d}`);
      if (policy) return policy;
    }
    throw forbidden(ERROR_CODES.UNKNOWN_SITE, `no site of this collector lists the domain ${domains.join(', ')}`);
  };

  // The body is JSON whatever its type says (plausible-tracker sends text/plain).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: LIMITS.bodyBytes }, (_req, body, done) =>
    done(null, body),
  );

  answerCors(app, { paths: [PLAUSIBLE_PATH], methods: 'POST, OPTIONS' });

  // No rate-limit check before the body: the site is named inside it.
  app.post<{ Body: string | undefined }>(
    PLAUSIBLE_PATH,
    { bodyLimit: LIMITS.bodyBytes, onRequest: [app.pressure.guard], config: { tracker: 'plausible' } },
    async (req, reply) => {
      if (!sites.configured) {
        throw forbidden(
          ERROR_CODES.UNKNOWN_SITE,
          'Plausible hits name their site by domain (d), not by site id: ' +
            'this collector needs a sites file (SITES_FILE) with a site whose domains list it',
        );
      }
      const parsed = adapt(() =>
        parsePlausibleRequest({ contentType: req.headers['content-type'], body: req.body ?? '' }),
      );
      const policy = siteOf(parsed.domains);
      intake.checkOrigin(policy, req, () => [parsed.event.pageUrl]);
      const hit = intakeHitOf(parsed.event, policy, false);
      await intake.store(req, [hit], gpcRequested(req.headers['sec-gpc']));
      // what Plausible answers, and what its trackers expect
      reply.code(202).header('content-type', 'text/plain; charset=utf-8').send('ok');
    },
  );
}
