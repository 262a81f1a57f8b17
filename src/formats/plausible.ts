// Plausible's event API (`POST /api/event`) → Piano events. Pure: one body in, one hit out.
// The research behind every rule, with its source in plausible/analytics and
// plausible/plausible-tracker, is docs/trackers/research.md ("Plausible").
//
//   n|name      required; "pageview" → page.display; "engagement" → no event;
//               "Outbound Link: Click" → click.exit, "File Download" → click.download
//               (click = props.url without query); anything else → plausible.<name>
//               (sanitised) with the original in plausible_event_name
//   u|url       required → page_url; its path → page ("#route" added when h=1)
//   d|domain    required; comma-separated, trimmed, lower-cased, "www." dropped → domains
//   r|referrer  → previous_url          w → device_display_width (window.innerWidth)
//   h|hashMode  1 → the URL fragment is part of the page, as Plausible counts it
//   i|interactive  boolean → plausible_interactive
//   p|props (also m|meta)  object or JSON string → plausible_prop_<key>, at most 30
// No visitor id, ever: Plausible sends none, and none is derived here from IP or User-Agent.
import type { Properties } from '../contract/record.js';
import { canonicalReading, rebuildUrl } from '../policy/exempt-values.js';
import { LIMITS, safeDecode, type HitEvent } from '../contract/wire.js';
import { checkEvents, isPlainObject, parseJson, refuseOversized, sanitiseName } from './common.js';
import { FormatError, type AdaptedHit } from './types.js';

export interface PlausibleRequest {
  /** Unused: the body is read as JSON whatever it says (plausible-tracker sends text/plain). */
  contentType?: string;
  body: string;
}

export interface PlausibleParseResult {
  /** The sites the hit is for, as the tracker named them; the route resolves each to a site. */
  domains: string[];
  event: Omit<AdaptedHit, 'site'>;
}

/** Plausible keeps the first 30 props of an event (lib/plausible/ingestion/request.ex @max_props). */
export const PLAUSIBLE_MAX_PROPS = 30;
/** Plausible refuses a prop key over 300 bytes or a value over 2000 (lib/plausible/props.ex). */
const PLAUSIBLE_MAX_PROP_KEY_BYTES = 300;
const PLAUSIBLE_MAX_PROP_VALUE_BYTES = 2000;
/** Plausible refuses an event name over 120 characters (lib/plausible/ingestion/request.ex). */
const PLAUSIBLE_MAX_NAME_LENGTH = 120;
/** Our bound on `d`: a roll-up sends two or three; ten is generous. */
const PLAUSIBLE_MAX_DOMAINS = 10;

const PROP_PREFIX = 'plausible_prop_';
const HOST_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** `body.n ?? body.name`, as Plausible's `request_body["n"] || request_body["name"]` (nil and false fall through). */
function field(body: Record<string, unknown>, short: string, long: string): unknown {
  const v = Object.hasOwn(body, short) ? body[short] : undefined;
  if (v !== undefined && v !== null && v !== false) return v;
  return Object.hasOwn(body, long) ? body[long] : undefined;
}

function boundedString(v: unknown, path: string): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (v.length > LIMITS.stringLength)
    throw new FormatError(400, `string longer than ${LIMITS.stringLength} characters`, path);
  return v;
}

export function parsePlausibleRequest(req: PlausibleRequest): PlausibleParseResult {
  if (req.body.length === 0) throw new FormatError(400, 'empty body', 'body');
  refuseOversized(req.body, 'body', 'body');
  const body = parseJson(req.body, 'body');
  if (!isPlainObject(body)) throw new FormatError(400, 'the body is a JSON object {"n", "u", "d", ...}', 'body');

  const rawName = field(body, 'n', 'name');
  const name = typeof rawName === 'number' && Number.isInteger(rawName) ? String(rawName) : rawName;
  if (typeof name !== 'string' || name.trim() === '')
    throw new FormatError(400, 'the event name (n) is required', 'body.n');
  if (name.length > PLAUSIBLE_MAX_NAME_LENGTH) {
    throw new FormatError(400, `the event name (n) is longer than ${PLAUSIBLE_MAX_NAME_LENGTH} characters`, 'body.n');
  }

  const url = boundedString(field(body, 'u', 'url'), 'body.u');
  if (url === undefined || url === '') throw new FormatError(400, 'the page URL (u) is required', 'body.u');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FormatError(400, 'the page URL (u) is not a URL', 'body.u');
  }
  if (parsed.protocol === 'data:' || parsed.protocol === 'javascript:')
    throw new FormatError(400, 'the page URL (u) scheme is not allowed', 'body.u');

  const domains = domainsOf(field(body, 'd', 'domain'));
  const referrer = boundedString(field(body, 'r', 'referrer'), 'body.r');
  const hashMode = field(body, 'h', 'hashMode');
  // read as booleans on their own: `i: false` is what the tracker sends, and `false || nil` in
  // Plausible's Elixir would lose it
  const interactive = typeof body.i === 'boolean' ? body.i : body.interactive;
  const width = body.w;

  const common: Properties = {
    page_url: url,
    page: pageOf(parsed, hashMode === 1 || hashMode === '1' || hashMode === true),
  };
  if (referrer !== undefined && referrer !== '') common.previous_url = referrer;
  if (typeof width === 'number' && Number.isInteger(width) && width > 0 && width <= 100_000)
    common.device_display_width = width;
  // Plausible reads only a boolean here (false: the event does not count against bounce)
  if (interactive === true || interactive === false) common.plausible_interactive = interactive;
  const props = propsOf(field(body, 'm', 'meta') ?? field(body, 'p', 'props'));

  const events = checkEvents(eventsOf(name, common, props), 'body');
  return {
    domains,
    event: {
      tracker: 'plausible',
      pageUrl: url,
      events,
      consent: false,
      optout: false,
      rawBody: req.body,
      replayable: false,
    },
  };
}

function eventsOf(name: string, common: Properties, props: Map<string, string>): HitEvent[] {
  const propData: Properties = {};
  for (const [k, v] of props) {
    const key = sanitiseName(PROP_PREFIX, k);
    if (!Object.hasOwn(propData, key)) propData[key] = v; // two keys sanitised alike: the first wins
  }
  switch (name) {
    case 'pageview':
      return [{ name: 'page.display', data: { ...common, ...propData } }];
    case 'engagement':
      // scroll depth and time on page of the last page view (tracker/src/engagement.js): not mapped
      return [];
    case 'Outbound Link: Click':
    case 'File Download': {
      const data: Properties = { ...common, ...propData };
      const target = props.get('url');
      if (target !== undefined) data.click = target;
      return [{ name: name === 'File Download' ? 'click.download' : 'click.exit', data }];
    }
    default:
      return [
        {
          name: sanitiseName('plausible.', name, LIMITS.eventNameLength).replace(/[$]/g, '_'),
          data: { ...common, ...propData, plausible_event_name: name },
        },
      ];
  }
}

/**
 * The URL's path, decoded as Plausible records it, taken from the URL as the exempt
 * rules rebuild it (no `;jsessionid=`, no `%3F…` or `%23…` decoded into the page, token
 * segments as [id]); in hash mode the fragment route too, unless it looks like parameters.
 */
function pageOf(url: URL, hashMode: boolean): string {
  const rebuilt = rebuildUrl(canonicalReading(url.href) ?? '', []);
  const path = rebuilt === undefined ? '/' : new URL(rebuilt.replace(/^[^/]*\/\/[^/]*/, 'http://h')).pathname;
  let page = safeDecode(path).trimEnd() || '/';
  if (hashMode && url.hash.length > 1) {
    const route = safeDecode(url.hash.slice(1)).split('?', 1)[0]!;
    // `#access_token=...&state=...` is not a route: keep it out of a property that no step strips
    if (route !== '' && !/[=&]/.test(route)) page += `#${route}`;
  }
  return page.slice(0, LIMITS.stringLength);
}

function domainsOf(raw: unknown): string[] {
  if (typeof raw !== 'string' || raw.trim() === '')
    throw new FormatError(400, 'the site domain (d) is required', 'body.d');
  if (raw.length > 4096) throw new FormatError(400, 'the site domain (d) is too long', 'body.d');
  const out: string[] = [];
  for (const part of raw.split(',')) {
    let d = part.trim().toLowerCase();
    if (d.startsWith('www.')) d = d.slice(4);
    if (d.length === 0 || d.length > 253 || !HOST_RE.test(d)) {
      throw new FormatError(
        400,
        `the site domain (d) ${JSON.stringify(part.trim().slice(0, 64))} is not a host name`,
        'body.d',
      );
    }
    if (!out.includes(d)) out.push(d);
  }
  if (out.length > PLAUSIBLE_MAX_DOMAINS)
    throw new FormatError(400, `more than ${PLAUSIBLE_MAX_DOMAINS} site domains (d)`, 'body.d');
  return out;
}

/**
 * Props as Plausible keeps them (lib/plausible/ingestion/request.ex put_props): an object,
 * or a JSON string of one (plausible-tracker sends `p` as a string); list and object values
 * and blank keys or values are dropped; the rest become strings; the first 30 are kept.
 */
function propsOf(raw: unknown): Map<string, string> {
  let obj: unknown = raw;
  if (typeof raw === 'string') {
    if (raw.length > LIMITS.bodyBytes) throw new FormatError(400, 'props are too long', 'body.p');
    try {
      obj = parseJson(raw, 'body.p');
    } catch {
      obj = undefined; // Plausible falls back to no props
    }
  }
  const out = new Map<string, string>();
  if (!isPlainObject(obj)) return out;
  for (const k of Object.keys(obj)) {
    if (out.size >= PLAUSIBLE_MAX_PROPS) break;
    const v = obj[k];
    if (v === null || v === undefined || typeof v === 'object') continue;
    const value = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
    if (value === undefined || value.trimStart() === '' || k.trimStart() === '') continue;
    if (
      Buffer.byteLength(k) > PLAUSIBLE_MAX_PROP_KEY_BYTES ||
      Buffer.byteLength(value) > PLAUSIBLE_MAX_PROP_VALUE_BYTES
    ) {
      throw new FormatError(
        400,
        `props keys hold at most ${PLAUSIBLE_MAX_PROP_KEY_BYTES} bytes and values ${PLAUSIBLE_MAX_PROP_VALUE_BYTES}`,
        'body.p',
      );
    }
    out.set(k, value);
  }
  return out;
}
