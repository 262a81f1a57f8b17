// A data-subject request names the visitor by the id the person (or the site's support
// desk) can read, which is rarely the exact text a tracker sent: a cookie's whole value,
// URL-encoded JSON, upper case, a space or a line break around it. This turns what they
// hold into the ids the collector saw at ingestion, which are what it pseudonymised:
// - Matomo: `_id` reduced to its 16 hex characters in lower case (src/formats/matomo.ts);
//   the `_pk_id.<site>.<hash>` cookie holds `<16 hex>.<created>.` (Matomo 4, 5), and
//   older trackers added visit counts and times after it (`<16 hex>.<created>.<n>.<ts>.<ts>.`).
// - Piano SDK: `idclient` as sent, the browserId of the `_pcid` cookie, which the browser
//   stores as URL-encoded JSON `{"browserId":"<16 base-36>","_t":"…"}`; an id the site set
//   with setVisitorId() is sent instead, and kept in the `pa_vid` cookie as a JSON string.
// - Plausible sends no visitor id: there is nothing to look up.
// Pure: no I/O, and the value never appears in what is returned to be logged (`readAs`).

/** How a value was read: said back to the operator and logged, never the value itself. */
type VisitorIdForm =
  | 'id as given'
  | 'id, also in lower case'
  | 'Matomo _pk_id cookie value'
  | 'Piano _pcid cookie value'
  | 'Piano _pcid cookie value, URL-encoded'
  | 'Piano pa_vid cookie value'
  | 'Piano pa_vid cookie value, URL-encoded';

export interface HeldVisitorId {
  /** The ids a tracker may have sent for this person, the most literal first; never empty. */
  ids: string[];
  readAs: VisitorIdForm;
}

/** A value that cannot be any visitor id; the message does not quote it. */
export interface VisitorIdProblem {
  problem: string;
}

/** The longest id looked up (the Piano path's limit on `idclient`). */
const MAX_VISITOR_ID_LENGTH = 256;

/** What a tracker generates: Matomo's 16 hex, the Piano SDK's 16 base-36 (with `-NO` when it could not store it). */
const GENERATED_ID = /^([0-9a-z]{16})(-no)?$/i;
/**
 * A Matomo `_pk_id` value: the id, the cookie's creation in unix seconds, then older
 * trackers' counters (the trailing dot may be lost in a copy).
 */
const MATOMO_COOKIE = /^([0-9a-f]{16})\.[0-9]{1,11}(?:\.[0-9.]*)?$/i;
/** A whole cookie pasted as `name=value` (from a Cookie header or devtools): the value is read. */
const NAMED_COOKIE = /^(?:_pk_id(?:\.[^=;\s]*)?|_pcid|pa_vid)\s*=(.*)$/is;

const CONTROL = /[\u0000-\u001f\u007f]/;

/** The id the collector saw for `value` as its holder has it, or why it cannot be one. */
export function visitorIdsHeldAs(value: string): HeldVisitorId | VisitorIdProblem {
  let v = value.trim();
  const named = NAMED_COOKIE.exec(v);
  if (named) v = named[1]!.trim();
  if (v === '') return { problem: 'idclient is empty' };

  const matomo = MATOMO_COOKIE.exec(v);
  if (matomo) return { ids: [matomo[1]!.toLowerCase()], readAs: 'Matomo _pk_id cookie value' };

  const encoded = /^%7b|^%22/i.test(v);
  const text = encoded ? safeDecode(v) : v;
  if (text.startsWith('{')) {
    const browserId = jsonField(text, 'browserId');
    if (browserId === undefined) {
      return { problem: 'idclient looks like a Piano _pcid cookie value (JSON) but holds no browserId' };
    }
    const readAs = encoded ? 'Piano _pcid cookie value, URL-encoded' : 'Piano _pcid cookie value';
    return checked(generatedForms(browserId), readAs);
  }
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    const id = jsonString(text);
    if (id === undefined) {
      return { problem: 'idclient looks like a Piano pa_vid cookie value (a JSON string) but is not one' };
    }
    return checked([id], encoded ? 'Piano pa_vid cookie value, URL-encoded' : 'Piano pa_vid cookie value');
  }
  const ids = generatedForms(v);
  return checked(ids, ids.length > 1 ? 'id, also in lower case' : 'id as given');
}

/**
 * The id as written, and, when it has the shape of a tracker-made id, in the lower case
 * trackers write it (Matomo's are lower-cased at ingestion). An id a site made itself
 * (setVisitorId) keeps its case: two such ids differing only by case are two people.
 */
function generatedForms(id: string): string[] {
  const m = GENERATED_ID.exec(id);
  if (!m) return [id];
  const lower = `${m[1]!.toLowerCase()}${m[2] ? '-NO' : ''}`;
  return lower === id ? [id] : [id, lower];
}

function checked(ids: string[], readAs: VisitorIdForm): HeldVisitorId | VisitorIdProblem {
  for (const id of ids) {
    if (id === '') return { problem: 'idclient holds an empty id' };
    if (id.length > MAX_VISITOR_ID_LENGTH) {
      return { problem: `idclient longer than ${MAX_VISITOR_ID_LENGTH} characters` };
    }
    if (CONTROL.test(id)) return { problem: 'idclient holds control characters' };
  }
  return { ids, readAs };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function jsonField(text: string, name: string): string | undefined {
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
    const v: unknown = Object.hasOwn(json, name) ? (json as Record<string, unknown>)[name] : undefined;
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  } catch {
    return undefined;
  }
}

function jsonString(text: string): string | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'string' && v !== '' ? v : undefined;
  } catch {
    return undefined;
  }
}
