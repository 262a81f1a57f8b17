// Matomo's tracking HTTP API (`GET`/`POST /matomo.php`, `/piwik.php`) → Piano events.
// Pure: one HTTP request in, hits out. The research behind every rule, with its source
// in matomo-org/matomo, is docs/trackers/research.md ("Matomo").
//
// What is read, and what it becomes: the tables of formats/matomo-params.ts, Matomo
// parameter → Piano property with its reader (every other parameter is ignored, whatever its
// name). This module reads the request's shape (GET, form body, bulk) and the hit's own
// fields: idsite → site (rec=1 required), _id (else cid) → visitorId, consent=1, ua, _idts.
import { checkEvents, isPlainObject, MAX_INPUT_BYTES, parseJson, refuseOversized } from './common.js';
import { actionEvents, hitProperties, isCanonicalParam, textParam, type Params } from './matomo-params.js';
import { FormatError, mediaType, type AdaptedHit } from './types.js';

export interface MatomoRequest {
  method: string;
  /** The raw query string, with or without its leading `?`. */
  query: string;
  contentType?: string;
  body?: string;
}

export interface MatomoParseResult {
  hits: AdaptedHit[];
  /**
   * Single request: Matomo answers 200 + a 1×1 GIF unless `send_image=0` (then 204).
   * Bulk: always false.
   */
  wantsImage: boolean;
  bulk: boolean;
  /**
   * Bulk only: Matomo answers 200 `{"status":"success","tracked":N,"invalid":0}` unless the
   * bulk body says `"send_image":0` (as matomo.js does), then 204.
   */
  bulkSummary: boolean;
}

/**
 * Most items in one bulk request. matomo.js cuts its queue into chunks of 50
 * (`arrayChunk(requests, 50)` in js/piwik.js), and 50 is the Piano path's events per
 * request: a larger bulk comes from a log importer, not from a browser.
 */
export const MATOMO_MAX_BULK_REQUESTS = 50;

/** Matomo's default answer to a request without `send_image=0`: its 1×1 transparent GIF (core/Tracker/Response.php). */
export const MATOMO_TRANSPARENT_GIF: Buffer = Buffer.from(
  'R0lGODlhAQABAIAAAAAAAAAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==',
  'base64',
);

/** The bulk answer Matomo gives when it sends one (plugins/BulkTracking/Tracker/Response.php). */
export function matomoBulkSummary(tracked: number): { status: 'success'; tracked: number; invalid: number } {
  return { status: 'success', tracked, invalid: 0 };
}

/**
 * Content types a tracking POST may carry (matomo.js: form-urlencoded for XHR, beacon and bulk;
 * matomo-tracker: JSON for bulk).
 */
const POST_TYPES = new Set(['application/x-www-form-urlencoded', 'text/plain', 'application/json']);

/**
 * `application/x-www-form-urlencoded` (WHATWG): `+` is a space, a malformed `%` stays as written, never throws.
 * A repeated name: the last wins, as PHP does.
 */
function parseForm(text: string): Params {
  const out: Params = new Map();
  for (const [k, v] of new URLSearchParams(text)) out.set(k, v);
  return out;
}

export function parseMatomoRequest(req: MatomoRequest): MatomoParseResult {
  const method = req.method.toUpperCase();
  if (method !== 'GET' && method !== 'POST')
    throw new FormatError(400, `method ${req.method.slice(0, 16)} is not a tracking request (GET or POST)`);
  refuseOversized(req.query, 'query string', 'query');
  const query = parseForm(req.query);
  const body = method === 'POST' ? (req.body ?? '') : '';

  if (body !== '') {
    refuseOversized(body, 'body', 'body');
    const type = mediaType(req.contentType);
    if (type !== undefined && !POST_TYPES.has(type)) {
      throw new FormatError(
        415,
        `content type ${type.slice(0, 64)} is not accepted ` +
          '(application/x-www-form-urlencoded, text/plain or application/json)',
        'body',
      );
    }
    // Matomo's BulkTracking plugin takes any body holding "requests" as a bulk, whatever
    // its content type (matomo.js sends its bulk JSON as form-urlencoded): here a body
    // whose first non-blank character is `{` is a bulk, anything else is a form body.
    if (body.trimStart().startsWith('{')) return parseBulk(body);
    if (type === 'application/json')
      throw new FormatError(400, 'a JSON body must be a bulk request {"requests": [...]}', 'body');
  }

  // $_GET + $_POST: a name present in both keeps the query string's value
  const params = body === '' ? query : new Map([...parseForm(body), ...query]);
  const hit = adaptOne(params, 'query');
  return { hits: [hit], wantsImage: params.get('send_image') !== '0', bulk: false, bulkSummary: false };
}

function parseBulk(body: string): MatomoParseResult {
  const json = parseJson(body, 'body');
  if (!isPlainObject(json)) throw new FormatError(400, 'a bulk body is a JSON object {"requests": [...]}', 'body');
  const requests = Object.hasOwn(json, 'requests') ? json.requests : undefined;
  if (!Array.isArray(requests))
    throw new FormatError(400, 'requests must be an array of query strings', 'body.requests');
  if (requests.length === 0) throw new FormatError(400, 'no request in the bulk', 'body.requests');
  if (requests.length > MATOMO_MAX_BULK_REQUESTS) {
    throw new FormatError(400, `more than ${MATOMO_MAX_BULK_REQUESTS} requests in one bulk`, 'body.requests');
  }
  const hits = requests.map((item, i) => adaptOne(bulkItemParams(item, `body.requests.${i}`), `body.requests.${i}`));
  // Records of two sites written from one request would share its millisecond and its
  // address, side by side in the stream: the two sites' pseudonyms of one person could be
  // joined. matomo.js and matomo-tracker send one bulk per tracker, and a tracker has one
  // site; a bulk naming several comes from something else, and is refused.
  const other = hits.findIndex((h) => h.site !== hits[0]!.site);
  if (other !== -1) {
    throw new FormatError(
      400,
      `a bulk request names one site: this one names ${hits[0]!.site} and ${hits[other]!.site} ` +
        '(send one bulk per site)',
      `body.requests.${other}.idsite`,
    );
  }
  const sendImage = Object.hasOwn(json, 'send_image') ? json.send_image : undefined;
  // PHP: !!getRequestVar('send_image', true, 'string'): "0", 0, "" and false say no summary
  const bulkSummary = !(sendImage === 0 || sendImage === '0' || sendImage === '' || sendImage === false);
  return { hits, wantsImage: false, bulk: true, bulkSummary };
}

/**
 * A bulk item: a URL or query string holding `?` (only what follows the first `?` is read),
 * or an object of parameters.
 */
function bulkItemParams(item: unknown, path: string): Params {
  if (typeof item === 'string') {
    refuseOversized(item, 'bulk request', path);
    const q = item.indexOf('?');
    if (q === -1) throw new FormatError(400, 'a bulk request is a query string beginning with ?', path);
    const hash = item.indexOf('#', q);
    return parseForm(item.slice(q + 1, hash === -1 ? undefined : hash));
  }
  if (isPlainObject(item)) {
    const out: Params = new Map();
    for (const k of Object.keys(item)) {
      const v = item[k];
      if (typeof v === 'string') out.set(k, v);
      else if (typeof v === 'number' && Number.isFinite(v)) out.set(k, String(v));
      // other values (arrays, objects, booleans, null) are ignored
    }
    return out;
  }
  throw new FormatError(400, 'a bulk request is a query string or an object of parameters', path);
}

/**
 * The text the record id is derived from: the parameters read (and `r`, `rand`, h/m/s),
 * sorted by name. `send_image` is left out, so the GET image fallback matomo.js sends when
 * its POST failed (same request, `send_image=1`) yields the same ids; `token_auth` and
 * every parameter not read are left out, so they exist nowhere in the output.
 */
function canonical(params: Params): string {
  return [...params]
    .filter(([k]) => isCanonicalParam(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

function adaptOne(params: Params, where: string): AdaptedHit {
  if (params.size === 0) {
    throw new FormatError(
      400,
      'empty request: this endpoint takes Matomo tracking requests (idsite, rec=1, url, ...)',
      where,
    );
  }
  const site = siteOf(params.get('idsite'), where);
  if (params.get('rec') !== '1') {
    throw new FormatError(400, "'rec' parameter not found: a tracking request carries rec=1", `${where}.rec`);
  }

  const common = hitProperties(params, where);
  const events = checkEvents(actionEvents(params, common, where), where);
  const visitorId = visitorIdOf(params);
  // a server-side tracker (matomo-tracker, the PHP SDK) forwards its visitor's browser here
  const userAgent = textParam(params, 'ua', where);
  const idts = params.get('_idts');
  return {
    tracker: 'matomo',
    site,
    ...(visitorId !== undefined ? { visitorId } : {}),
    ...(typeof common.page_url === 'string' ? { pageUrl: common.page_url } : {}),
    ...(userAgent !== undefined ? { userAgent } : {}),
    // read by the 13-month rule, whatever it holds: an unreadable one gets no pseudonym
    ...(idts !== undefined ? { trackerCreated: { format: 'unix-seconds' as const, raw: idts } } : {}),
    events,
    consent: params.get('consent') === '1',
    // matomo.js sends nothing once the visitor opted out (js/piwik.js: no request without
    // configHasConsent); the only opt-out signals are headers (DNT, Sec-GPC), the route's job
    optout: false,
    rawBody: canonical(params),
    replayable: nonEmpty(params.get('r')) || nonEmpty(params.get('rand')),
  };
}

const nonEmpty = (v: string | undefined): boolean => v !== undefined && v !== '';

function siteOf(raw: string | undefined, where: string): string {
  if (raw === undefined || raw === '')
    throw new FormatError(400, 'Invalid idSite: idsite is missing', `${where}.idsite`);
  if (!/^[0-9]{1,10}$/.test(raw) || Number(raw) < 1 || Number(raw) > 2_147_483_647) {
    throw new FormatError(
      400,
      `Invalid idSite: ${JSON.stringify(raw.slice(0, 32))} (a positive integer)`,
      `${where}.idsite`,
    );
  }
  return String(Number(raw)); // Matomo reads "007" as 7
}

/** `_id` as Matomo reads it (its first 16 characters, hex), else `cid` (exactly 16 hex characters). */
function visitorIdOf(params: Params): string | undefined {
  const id = params.get('_id');
  if (id !== undefined && /^[0-9a-fA-F]{16}/.test(id)) return id.slice(0, 16).toLowerCase();
  const cid = params.get('cid');
  if (cid !== undefined && /^[0-9a-fA-F]{16}$/.test(cid)) return cid.toLowerCase();
  return undefined;
}

/**
 * The site of a tracking request whose query string holds it (`idsite` and `rec=1`: a
 * GET, matomo.js's sendBeacon), canonical; undefined otherwise (a form body, a bulk).
 * For the rate limit's check before the body is read.
 */
export function matomoSiteOfQuery(query: string): string | undefined {
  if (query.length * 3 > MAX_INPUT_BYTES) return undefined;
  const params = parseForm(query);
  if (params.get('rec') !== '1') return undefined;
  try {
    return siteOf(params.get('idsite'), 'query');
  } catch {
    return undefined;
  }
}

/**
 * Do Not Track as Matomo's server reads it when its DNT support is on
 * (plugins/PrivacyManager/DoNotTrackHeaderChecker.php): `DNT` starting with `1`, or
 * `X-Do-Not-Track: 1`. (Matomo ignores it from MSIE/Trident user agents, which sent it
 * by default; those browsers are gone, and no User-Agent is read here.)
 */
export function doNotTrackRequested(
  dnt: string | string[] | undefined,
  xDoNotTrack: string | string[] | undefined,
): boolean {
  const first = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h)?.trim();
  return first(dnt)?.startsWith('1') === true || first(xDoNotTrack) === '1';
}

/**
 * Matomo's opt-out cookie, set by its opt-out form on the tracker's host
 * (core/Tracker/IgnoreCookie.php, named by `ignore_visits_cookie_name`: `matomo_ignore`
 * in Matomo 4 and 5, `piwik_ignore` before). Present under either name: the visitor
 * opted out on the Matomo this collector replaces (same host name).
 */
const MATOMO_IGNORE_COOKIES: readonly string[] = Object.freeze(['matomo_ignore', 'piwik_ignore']);

export function matomoIgnoreCookie(cookieHeader: string | undefined): boolean {
  if (!cookieHeader) return false;
  for (const pair of cookieHeader.split(';')) {
    const eq = pair.indexOf('=');
    const name = (eq === -1 ? pair : pair.slice(0, eq)).trim();
    if (MATOMO_IGNORE_COOKIES.includes(name)) return true;
  }
  return false;
}
