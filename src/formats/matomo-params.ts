// What the Matomo adapter reads (formats/matomo.ts), and what it becomes: the tables below are
// the mapping, Matomo parameter → Piano property, each with its reader. Every other parameter
// is ignored, whatever its name. The research behind every rule, with its source in
// matomo-org/matomo, is docs/trackers/research.md ("Matomo"); docs/trackers/matomo.md says
// what an exempt record keeps of each.
//
// Read by the adapter itself, not mapped to a property:
//   idsite → site (rec=1 required)       _id (else cid) → visitorId
//   consent=1 → consent                  ua → userAgent (only for the robot check, never stored)
//   _idts → trackerCreated (the 13-month rule), besides cookie_creation_date below
//   ping=1, recMode=1 (heartbeat, bot-only request) → no event
// Never mapped: token_auth and what needs it (cip, cdt, cdo, country, region, city, lat,
// long), campaign parameters (_rcn, _rck, _ref, _refts, pk_*, mtm_*, utm_*), ecommerce
// (ec_*, _ects, _pk*, idgoal=0 carts and orders), lang, local time, plugins, timings.
import type { Properties, PropertyValue } from '../contract/record.js';
import { LIMITS } from '../contract/wire.js';
import { isPlainObject } from './common.js';
import { FormatError } from './types.js';

/** A request's parameters, by name. */
export type Params = Map<string, string>;

/**
 * Reads a parameter's value as sent: undefined when it holds nothing usable; throws a
 * FormatError at `path` past a limit.
 */
type Reader<T> = (raw: string, path: string) => T | undefined;

/** One parameter → one property. */
interface Field {
  readonly param: string;
  readonly property: string;
  readonly read: Reader<PropertyValue>;
}
/** Every parameter whose name matches → the property of the same name. */
interface Family {
  readonly params: RegExp;
  readonly read: Reader<PropertyValue>;
}
/** One parameter → several properties (`WxH`, a JSON object). */
interface Group {
  readonly param: string;
  readonly properties: string;
  readonly read: Reader<Properties>;
}
type Mapping = Field | Family | Group;

// ---- readers -------------------------------------------------------------------------

/** A non-empty string, bounded like every string property. */
const text: Reader<string> = (raw, path) => {
  if (raw === '') return undefined;
  if (raw.length > LIMITS.stringLength) {
    throw new FormatError(400, `string longer than ${LIMITS.stringLength} characters`, path);
  }
  return raw;
};

/** The same, blanks around it removed (names and labels a person typed). */
const trimmed: Reader<string> = (raw, path) => {
  const v = text(raw, path)?.trim();
  return v === '' ? undefined : v;
};

/** A string matching `re` as a whole, as sent. */
const matching =
  (re: RegExp): Reader<string> =>
  (raw) =>
    re.test(raw) ? raw : undefined;

/** A whole number matching `re` (digits only: no sign, no decimals). */
const integer =
  (re: RegExp): Reader<number> =>
  (raw) =>
    re.test(raw) ? Number(raw) : undefined;

/** A finite decimal number as Matomo's float parameters take it (`e_v`, `revenue`). */
const decimal: Reader<number> = (raw) => {
  if (!/^-?[0-9]{1,15}(\.[0-9]{1,15})?$/.test(raw.trim())) return undefined;
  const n = Number(raw.trim());
  return Number.isFinite(n) ? n : undefined;
};

/** Unix seconds (`_idts`, the visitor cookie's creation) → ISO date to the minute, as the Piano SDK sends it. */
const unixMinute: Reader<string> = (raw) => {
  if (!/^[0-9]{1,11}$/.test(raw)) return undefined;
  const ms = Number(raw) * 1000;
  if (ms <= 0 || ms > 8.64e15) return undefined;
  const d = new Date(ms);
  d.setUTCSeconds(0, 0);
  return d.toISOString();
};

/** `1920x1080` → the screen's width and height. */
const screenSize: Reader<Properties> = (raw) => {
  const m = /^([0-9]{1,5})x([0-9]{1,5})$/.exec(raw);
  return m ? { device_screen_width: Number(m[1]), device_screen_height: Number(m[2]) } : undefined;
};

/**
 * A bounded string holding JSON, read by `read`; malformed JSON is ignored, as Matomo ignores
 * a custom variable it cannot decode.
 */
const json =
  (read: (json: unknown) => Properties): Reader<Properties> =>
  (raw, path) => {
    const v = text(raw, path);
    if (v === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(v) as unknown;
    } catch {
      return undefined;
    }
    return read(parsed);
  };

/**
 * `{"1":["name","value"], ...}` → `cvar_<scope>_1: ["name", "value"]`: an array of strings,
 * a shape the exempt value rules can keep where a site adds the name. (No `matomo_` prefix
 * on these names: it is a campaign prefix, which a site may never add.)
 */
const customVariables =
  (scope: 'visit' | 'page' | 'event') =>
  (value: unknown): Properties => {
    const out: Properties = {};
    if (!isPlainObject(value)) return out;
    for (const index of Object.keys(value)) {
      if (!/^[1-9][0-9]{0,2}$/.test(index)) continue;
      const pair = value[index];
      if (!Array.isArray(pair) || pair.length !== 2) continue;
      if (typeof pair[0] !== 'string' || typeof pair[1] !== 'string') continue;
      if (pair[0] === '' || pair[1] === '') continue;
      out[`cvar_${scope}_${index}`] = [pair[0], pair[1]];
    }
    return out;
  };

const HINT_STRINGS: Record<string, string> = {
  model: 'ch_ua_model',
  platform: 'ch_ua_platform',
  platformVersion: 'ch_ua_platform_version',
  uaFullVersion: 'ch_ua_full_version',
  architecture: 'ch_ua_arch',
  bitness: 'ch_ua_bitness',
};

function brandList(v: unknown): PropertyValue[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const out: PropertyValue[] = [];
  for (const b of v.slice(0, 20)) {
    if (
      isPlainObject(b) &&
      typeof b.brand === 'string' &&
      typeof b.version === 'string' &&
      b.brand.length <= 256 &&
      b.version.length <= 256
    ) {
      out.push({ brand: b.brand, version: b.version });
    }
  }
  return out;
}

/** `uadata` (the client hints matomo.js collects) → the Piano SDK's `ch_ua*` names. */
function clientHints(value: unknown): Properties {
  const out: Properties = {};
  if (!isPlainObject(value)) return out;
  const brands = brandList(value.brands);
  if (brands) out.ch_ua = brands;
  const full = brandList(value.fullVersionList);
  if (full) out.ch_ua_full_version_list = full;
  if (typeof value.mobile === 'boolean') out.ch_ua_mobile = value.mobile;
  for (const [from, to] of Object.entries(HINT_STRINGS)) {
    const v = value[from];
    if (typeof v === 'string' && v.length <= 256) out[to] = v;
  }
  if (Array.isArray(value.formFactors)) {
    out.ch_ua_form_factors = value.formFactors
      .filter((f): f is string => typeof f === 'string' && f.length <= 64)
      .slice(0, 10);
  }
  return out;
}

/** `idgoal` naming a goal: a positive integer (0 is ecommerce, never mapped). */
const goalId = integer(/^[1-9][0-9]{0,8}$/);

// ---- the tables ----------------------------------------------------------------------

const field = (param: string, property: string, read: Reader<PropertyValue>): Field => ({ param, property, read });

/** `dimension1` ... `dimension999` (and `dimension0`). */
const DIMENSION_RE = /^dimension(0|[1-9][0-9]{0,2})$/;

/** Properties of every event of a hit, in this order. */
const HIT_PROPERTIES: readonly Mapping[] = [
  field('url', 'page_url', text),
  field('urlref', 'previous_url', text),
  { param: 'res', properties: 'device_screen_width, device_screen_height', read: screenSize },
  field('pv_id', 'pageview_id', matching(/^[A-Za-z0-9]{1,32}$/)),
  field('_idts', 'cookie_creation_date', unixMinute),
  field('uid', 'user_id', text), // dropped outside opt-in by the exempt rules
  { param: 'uadata', properties: 'ch_ua, ch_ua_mobile, ch_ua_platform, ...', read: json(clientHints) },
  { params: DIMENSION_RE, read: text }, // dimensionN → dimensionN
  { param: '_cvar', properties: 'cvar_visit_<i>', read: json(customVariables('visit')) },
  { param: 'cvar', properties: 'cvar_page_<i>', read: json(customVariables('page')) },
  { param: 'e_cvar', properties: 'cvar_event_<i>', read: json(customVariables('event')) },
];

/**
 * The event of a hit: the first action whose `required` parameters all read, with the hit's
 * properties, the required ones and the `optional` ones that read. An action with no event
 * ends the search with none. Matomo's precedence (core/Tracker/Action.php $factoryPriority):
 * download > link > event > site search > content > page view.
 */
type Action =
  | { readonly event: string; readonly required: readonly Field[]; readonly optional: readonly Field[] }
  | { readonly none: string; readonly when: (params: Params) => boolean };

const ACTIONS: readonly Action[] = [
  { none: 'heartbeat', when: (p) => p.get('ping') === '1' }, // only extends the visit in Matomo
  { none: 'bot-only request (not a visit)', when: (p) => p.get('recMode') === '1' },
  // click = the URL as sent: the exempt value rules cut its query, as for page_url
  { event: 'click.download', required: [field('download', 'click', text)], optional: [] },
  { event: 'click.exit', required: [field('link', 'click', text)], optional: [] },
  {
    event: 'matomo.event',
    required: [field('e_c', 'event_category', trimmed), field('e_a', 'event_action', trimmed)],
    optional: [field('e_n', 'event_label', trimmed), field('e_v', 'event_value', decimal)],
  },
  {
    event: 'internal_search_result.display',
    required: [field('search', 'ise_keyword', trimmed)],
    optional: [
      field('search_cat', 'ise_category', trimmed),
      field('search_count', 'ise_result_count', integer(/^[0-9]{1,9}$/)),
    ],
  },
  {
    event: 'matomo.content',
    required: [field('c_n', 'content_name', trimmed)],
    optional: [
      field('c_p', 'content_piece', trimmed),
      field('c_t', 'content_target', trimmed),
      field('c_i', 'content_interaction', trimmed),
    ],
  },
  {
    none: 'ecommerce order or cart (idgoal=0), or an unreadable goal',
    when: (p) => {
      const idgoal = p.get('idgoal');
      return idgoal !== undefined && idgoal !== '' && idgoal !== '-1' && goalId(idgoal, 'idgoal') === undefined;
    },
  },
  {
    event: 'matomo.goal',
    required: [field('idgoal', 'goal_id', goalId)],
    optional: [field('revenue', 'goal_revenue', decimal)],
  },
  // ca=1 marks "not a page view" (crash analytics, media analytics, ...)
  { none: 'not a page view (ca=1)', when: (p) => p.get('ca') === '1' },
  { event: 'page.display', required: [], optional: [field('action_name', 'page', trimmed)] },
];

// ---- reading a request by the tables -------------------------------------------------

/** The value of `f` in `params`, or undefined. */
function readField(params: Params, f: Field, where: string): PropertyValue | undefined {
  const raw = params.get(f.param);
  return raw === undefined ? undefined : f.read(raw, `${where}.${f.param}`);
}

/** A non-empty string parameter, bounded like every string property (`url`, `ua`). */
export function textParam(params: Params, name: string, where: string): string | undefined {
  const raw = params.get(name);
  return raw === undefined ? undefined : text(raw, `${where}.${name}`);
}

/** The properties every event of a hit carries. */
export function hitProperties(params: Params, where: string): Properties {
  const out: Properties = {};
  for (const m of HIT_PROPERTIES) {
    if ('params' in m) {
      for (const [k, raw] of params) {
        if (!m.params.test(k)) continue;
        const v = m.read(raw, `${where}.${k}`);
        if (v !== undefined) out[k] = v;
      }
    } else if ('property' in m) {
      const v = readField(params, m, where);
      if (v !== undefined) out[m.property] = v;
    } else {
      const raw = params.get(m.param);
      if (raw !== undefined) Object.assign(out, m.read(raw, `${where}.${m.param}`));
    }
  }
  return out;
}

/** The hit's event (none, or one), its properties `common` and those of its action. */
export function actionEvents(params: Params, common: Properties, where: string): { name: string; data: Properties }[] {
  for (const action of ACTIONS) {
    if ('none' in action) {
      if (action.when(params)) return [];
      continue;
    }
    // every required parameter is read (and checked) before the action is passed over
    const required = action.required.map((f) => [f.property, readField(params, f, where)] as const);
    if (required.some(([, v]) => v === undefined)) continue;
    const data: Properties = { ...common };
    for (const [property, v] of required) if (v !== undefined) data[property] = v;
    for (const f of action.optional) {
      const v = readField(params, f, where);
      if (v !== undefined) data[f.property] = v;
    }
    return [{ name: action.event, data }];
  }
  return [];
}

/**
 * Parameters the record id is derived from: those the tables and the adapter read, and
 * those that tell two real hits apart (`r`, `rand`, the local time `h`/`m`/`s`).
 */
const CANONICAL_PARAMS: ReadonlySet<string> = new Set([
  ...['idsite', 'rec', '_id', 'cid', 'consent', 'ping', 'recMode', 'ca', 'r', 'rand', 'h', 'm', 's'],
  ...HIT_PROPERTIES.flatMap((m) => ('param' in m ? [m.param] : [])),
  ...ACTIONS.flatMap((a) => ('event' in a ? [...a.required, ...a.optional].map((f) => f.param) : [])),
]);

/** Is `name` one of the parameters the record id is derived from? */
export const isCanonicalParam = (name: string): boolean => CANONICAL_PARAMS.has(name) || DIMENSION_RE.test(name);
