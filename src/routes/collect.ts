// POST /event?s=<site>&idclient=<id> — the endpoint the Piano Analytics SDK posts to.
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../errors.js';
import { pageUrlsOfEvents } from '../pipeline/origin.js';
import { gpcRequested } from '../pipeline/privacy.js';
import {
  bodySchema,
  envelopeSchema,
  firstProblem,
  LIMITS,
  querySchema,
  rawQueryParams,
  readJson,
} from '../contract/wire.js';
import { siteQuotaGuard } from '../plugins/rate-limit.js';
import { answerCors } from './cors.js';
import { createIntake, type IntakeOptions } from './intake.js';

/** JSON, whatever the content type says, refusing prototype-poisoning keys. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw badRequest('empty body');
  const read = readJson(text);
  if (!read.ok) throw badRequest(read.problem);
  return read.value;
}

/** The privacy mode the hit claims, read before validation (only a metrics label). */
function claimedMode(json: unknown): string | undefined {
  const events = (json as { events?: unknown } | null)?.events;
  const mode = Array.isArray(events)
    ? (events[0] as { data?: { visitor_privacy_mode?: unknown } } | null)?.data?.visitor_privacy_mode
    : undefined;
  return typeof mode === 'string' ? mode : undefined;
}

/** What the content-type parser hands to the route: the text and its parse. */
interface ReceivedBody {
  raw: string;
  json: unknown;
}

export default async function collectRoutes(app: FastifyInstance, opts: IntakeOptions) {
  const intake = createIntake(app, opts);

  // The SDK sends text/plain;charset=UTF-8 (sendBeacon, fetch and XHR alike).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    ['text/plain', 'application/json'],
    { parseAs: 'string', bodyLimit: LIMITS.bodyBytes },
    (_req, body, done) => {
      try {
        done(null, { raw: body as string, json: parseJsonBody(body as string) } satisfies ReceivedBody);
      } catch (err) {
        done(err as Error, undefined);
      }
    },
  );

  answerCors(app, { paths: ['/event'], methods: 'POST, OPTIONS' });

  // onRequest, before the body is read: a shed or rate-limited hit costs neither memory nor parsing
  const onRequest = [app.pressure.guard, siteQuotaGuard(app.rateLimit)];
  // config.tracker: its refusals are counted as the Piano SDK's (src/app.ts)
  const options = { bodyLimit: LIMITS.bodyBytes, onRequest, config: { tracker: 'piano' as const } };
  app.post<{ Body: ReceivedBody | undefined }>('/event', options, async (req, reply) => {
    const query = querySchema.safeParse(rawQueryParams(req.url));
    if (!query.success) {
      const p = firstProblem(query.error);
      throw badRequest(p.message, `query.${p.path}`);
    }
    const site = query.data.s;
    const policy = intake.policyOf(site);
    // without Origin or Referer (a site's back end), the events' page URLs decide
    intake.checkOrigin(policy, req, () => pageUrlsOfEvents((req.body?.json as { events?: unknown } | null)?.events));
    if (!req.body) throw badRequest('empty body', 'body');
    req.hitMode = claimedMode(req.body.json);
    // the envelope here; every property in the pipeline's one walk (same problems)
    const body = envelopeSchema.safeParse(req.body.json);
    if (!body.success) {
      const p = firstProblem(bodySchema.safeParse(req.body.json).error ?? body.error);
      throw badRequest(p.message, p.path ? `body.${p.path}` : 'body');
    }
    const hit = { site, policy, idclient: query.data.idclient, events: body.data.events, rawBody: req.body.raw };
    await intake.store(req, [hit], gpcRequested(req.headers['sec-gpc']));
    reply.code(204).send();
  });
}
