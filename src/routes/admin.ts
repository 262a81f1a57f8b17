// Data-subject requests (GDPR Art. 15 access, Art. 17 erasure) from a cookie id.
// Records hold only pseudonyms, so only the collector, which holds the keys, can turn
// a person's cookie id back into their records: the pseudonym is computed under every
// key of PSEUDONYM_KEYS (records made before a rotation are found too).
//
//   POST /admin/access {"site","idclient"[,"cursor"]} → 200 {records, scanned, complete[, cursor]}
//   POST /admin/erase  {"site","idclient"[,"cursor"]} → 200 {deleted, scanned, complete[, cursor]}
//   GET  /admin/report?site=&from=&to=                 → 200 the HTML report of the reference
//                                                        aggregator (npm run report --format html)
//
// `idclient` is the id as the person holds it: a Matomo `_pk_id` or Piano `_pcid` cookie
// value, any letter case, whitespace around it (src/policy/visitor-id-forms.ts); the
// answer says how it was read (`readAs`) and, plainly, when nothing was found.
//
// Ids travel in bodies, never in URLs (proxies log URLs). Bearer token compared in
// constant time. Every call is logged with the site and the outcome, never the id
// nor its pseudonyms. Registered only when ADMIN_TOKEN is set.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config/index.js';
import { ERROR_CODES, HttpError } from '../errors.js';
import type { Pseudonymiser } from '../pipeline/pseudonymise.js';
import { firstProblem, querySchema } from '../contract/wire.js';
import { visitorIdsHeldAs, type HeldVisitorId } from '../policy/visitor-id-forms.js';
import { tombstoneFields } from '../contract/record.js';
import { InvalidCursorError, scanVisitor, type ScanResult } from '../sink/visitor-scan.js';
import { CONTENT_SECURITY_POLICY, reportHtml } from '../aggregate/report-html.js';
import { ReportQueryError } from '../aggregate/report.js';

const invalidRequest = (message: string, path: string) =>
  new HttpError({ statusCode: 400, code: ERROR_CODES.INVALID_REQUEST, message, path });

const requestSchema = z.strictObject({
  site: querySchema.shape.s,
  // a cookie value, URL-encoded: longer than the id it holds; read by visitorIdsHeldAs
  idclient: z
    .string('idclient is missing')
    .min(1, 'idclient is empty')
    .max(2048, 'idclient longer than 2048 characters'),
  cursor: z.string().max(64).optional(),
});

/** What one call found, in words: never the id, only how it was read. */
function outcomeOf(action: 'access' | 'erase', site: string, held: HeldVisitorId, r: ScanResult, resumed: boolean) {
  const read = `idclient read as: ${held.readAs}`;
  if (r.records.length > 0) {
    return { outcome: action === 'erase' ? 'erased' : 'found', readAs: held.readAs };
  }
  if (!r.complete) {
    return {
      outcome: 'not_found_yet',
      readAs: held.readAs,
      message:
        `nothing found so far for this id on site ${site} (${read}); ` +
        'the scan stopped at its bound: call again with the cursor',
    };
  }
  const where = resumed ? 'in the rest of the streams' : 'in the streams';
  const done =
    action === 'erase'
      ? 'nothing was deleted (tombstones were still published for the aggregates)'
      : 'no record to give';
  return {
    outcome: 'nothing_found',
    readAs: held.readAs,
    message: `nothing found for this id: no record of site ${site} carries it ${where} (${read}); ${done}`,
  };
}

type Answer = ScanResult & ReturnType<typeof outcomeOf>;

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time check of `Authorization: Bearer <token>` (hashing equalises lengths). */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = header ? /^Bearer[ ]+(\S+)\s*$/i.exec(header) : null;
  const given = digest(m?.[1] ?? '');
  return timingSafeEqual(given, expected) && m !== null;
}

export default async function adminRoutes(
  app: FastifyInstance,
  opts: { config: Config; pseudonymiser: Pseudonymiser },
) {
  const { config, pseudonymiser } = opts;
  const expected = digest(config.adminToken ?? '');
  const bounds = { maxEntries: config.admin.scanMaxEntries, timeMs: config.admin.scanTimeMs };
  let busy = false; // one scan at a time per replica: the scan is the expensive part

  app.addHook('onRequest', async (req, reply) => {
    if (!config.adminToken || !bearerMatches(req.headers.authorization, expected)) {
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError({
        statusCode: 401,
        code: ERROR_CODES.UNAUTHORIZED,
        message: 'a valid bearer token is required',
      });
    }
  });

  const parse = (body: unknown) => {
    const r = requestSchema.safeParse(body);
    if (!r.success) {
      const p = firstProblem(r.error);
      throw invalidRequest(p.message, p.path ? `body.${p.path}` : 'body');
    }
    return r.data;
  };

  async function run(action: 'access' | 'erase', body: unknown, log: FastifyInstance['log']): Promise<Answer> {
    const { site, idclient, cursor } = parse(body);
    const held = visitorIdsHeldAs(idclient);
    if ('problem' in held) throw invalidRequest(held.problem, 'body.idclient');
    if (busy) {
      const message = 'another access or erasure request is running';
      throw new HttpError({ statusCode: 429, code: ERROR_CODES.ADMIN_BUSY, message, headers: { 'retry-after': '5' } });
    }
    busy = true;
    const started = performance.now();
    let result: ScanResult | undefined;
    let done = false;
    try {
      // every form the id may have had at ingestion, under every key
      const visitors = [...new Set(held.ids.flatMap((id) => pseudonymiser.allPseudonyms(site, id)))];
      try {
        result = await scanVisitor(app.redis, app.streamKeys, site, visitors, bounds, {
          erase: action === 'erase',
          cursor,
        });
      } catch (err) {
        if (err instanceof InvalidCursorError) throw invalidRequest('invalid cursor', 'body.cursor');
        throw err;
      }
      if (action === 'erase') {
        // Always published (also when nothing was left in the streams): aggregates
        // may still hold this visitor from records already trimmed.
        const ts = Date.now();
        for (const visitor of visitors) {
          await app.redis.xadd(config.erasureStream, '*', ...tombstoneFields({ site, visitor, ts }));
        }
      }
      log.info(
        {
          admin: action,
          site,
          readAs: held.readAs,
          pseudonyms: visitors.length,
          found: result.records.length,
          deleted: result.deleted,
          scanned: result.scanned,
          complete: result.complete,
          ms: Math.round(performance.now() - started),
        },
        `admin ${action}`,
      );
      done = true;
      return { ...result, ...outcomeOf(action, site, held, result, cursor !== undefined) };
    } finally {
      busy = false;
      app.metrics.adminRequest(
        action,
        !done ? 'failed' : result!.complete ? 'complete' : 'partial',
        result?.scanned ?? 0,
      );
    }
  }

  const tail = (r: Answer) => ({
    scanned: r.scanned,
    complete: r.complete,
    ...(r.cursor ? { cursor: r.cursor } : {}),
    outcome: r.outcome,
    readAs: r.readAs,
    ...(r.message ? { message: r.message } : {}),
  });

  app.post('/admin/access', { bodyLimit: 4096 }, async (req) => {
    const r = await run('access', req.body, req.log);
    return { records: r.records, ...tail(r) };
  });

  app.post('/admin/erase', { bodyLimit: 4096 }, async (req) => {
    const r = await run('erase', req.body, req.log);
    return { deleted: r.deleted, ...tail(r) };
  });

  // The same page as `npm run report -- --format html`, from the same aggregates and
  // the same suppression (counts only: no pseudonym, no cell below REPORT_MIN_COUNT).
  app.get('/admin/report', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    let html: string;
    try {
      html = await reportHtml(app.redis, {
        prefix: config.report.prefix,
        minCount: config.report.minCount,
        site: q.site,
        from: q.from,
        to: q.to,
      } as Parameters<typeof reportHtml>[1]);
    } catch (err) {
      if (err instanceof ReportQueryError) throw invalidRequest(err.message, `query.${err.field}`);
      throw err;
    }
    req.log.info({ admin: 'report', site: q.site }, 'admin report');
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff');
    return html;
  });
}
