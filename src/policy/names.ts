// Property names read as a person reads them: `userId`, `user.id`, `User-ID` and
// `plausible_prop_user_id` all say "user id". Two rules use this reading:
// - server-owned fields (geo, site, visitor, time) are dropped from what a client sends,
//   in every mode (allowlists.ts SERVER_OWNED_*);
// - the sites file may not allowlist a name that reads as a user id, an e-mail address,
//   a campaign parameter or click identifier, or a server-owned field (sites.ts).
import { BoundedCache } from '../bounded-cache.js';
import {
  CAMPAIGN_PARAMETER_PREFIXES,
  CAMPAIGN_PARAMETERS,
  SERVER_OWNED_FIRST_WORDS,
  SERVER_OWNED_PROPERTIES,
} from './allowlists.js';

/**
 * The words of a name, lower case: split at camelCase humps and at anything that is not
 * a letter or a digit (`.`, `-`, `_`, `:`, `$`). `userId` and `user.id` → [user, id];
 * `GCLID` → [gclid]; `e_mail` → [e, mail].
 */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

/**
 * What trackers put before a name they take from a page (src/formats): Plausible's custom
 * props, Matomo's custom variables. Removed before a sites-file name is read.
 */
const TRACKER_NAME_PREFIXES: readonly string[] = Object.freeze([
  'plausible_prop_',
  'cvar_visit_',
  'cvar_page_',
  'cvar_event_',
]);

const collapse = (words: readonly string[]) => words.join('');
const SERVER_OWNED = new Set(SERVER_OWNED_PROPERTIES.map((n) => collapse(nameWords(n))));
const SERVER_OWNED_FIRST = new Set(SERVER_OWNED_FIRST_WORDS);

// The walk asks for every property of every hit: answers are remembered, a few thousand at most.
const serverOwnedCache = new BoundedCache<string, boolean>(4096);

/** A field the collector owns (geo, site, visitor, time), under any spelling of its name. */
export function isServerOwned(name: string): boolean {
  return serverOwnedCache.getOrCompute(name, readsAsServerOwned);
}

function readsAsServerOwned(name: string): boolean {
  const words = nameWords(name);
  return (words.length > 0 && SERVER_OWNED_FIRST.has(words[0]!)) || SERVER_OWNED.has(collapse(words));
}

/** Names that are a person's identifier under another word than `user`. */
const USER_ID_NAMES = new Set([
  'uid',
  'userid',
  'username',
  'userlogin',
  'login',
  'customerid',
  'memberid',
  'accountid',
  'personid',
  'subscriberid',
  'contactid',
  'visitorid',
  'clientid',
  'idclient',
  'cid',
  'pcid',
]);
const EMAIL_WORDS = new Set(['email', 'mail', 'courriel', 'emailaddress']);
const CAMPAIGN_EXACT = new Set(CAMPAIGN_PARAMETERS.map((n) => collapse(nameWords(n))));
const CAMPAIGN_FIRST_WORDS = new Set(CAMPAIGN_PARAMETER_PREFIXES.map((p) => p.replace(/_$/, '')));

/**
 * Why a site may not add `name` to its exempt allowlist, or undefined. Read after the
 * tracker prefix is removed and the name normalised (nameWords), so that no spelling
 * gets a user id, an e-mail address or campaign data into exempt records.
 */
export function allowlistRefusal(name: string): string | undefined {
  const lower = name.toLowerCase();
  const prefix = TRACKER_NAME_PREFIXES.find((p) => lower.startsWith(p) && lower.length > p.length);
  const words = nameWords(prefix ? name.slice(prefix.length) : name);
  const read = words.join('_');
  const collapsed = collapse(words);
  if (words[0] === 'user' || words[0] === 'usr' || USER_ID_NAMES.has(collapsed)) {
    return `reads as a user id (${read}): identifying a person is never allowed outside opt-in`;
  }
  if (words.some((w) => EMAIL_WORDS.has(w)) || collapsed.includes('email')) {
    return `reads as an e-mail address (${read}): it identifies a person`;
  }
  if (CAMPAIGN_EXACT.has(collapsed) || (words.length > 1 && CAMPAIGN_FIRST_WORDS.has(words[0]!))) {
    const why = 'marketing measurement is outside the exemption';
    return `reads as a campaign parameter or click identifier (${read}): ${why}`;
  }
  if (isServerOwned(name) || (prefix !== undefined && isServerOwned(name.slice(prefix.length)))) {
    return `is a field the collector fills itself (${read}): a client value for it is always dropped`;
  }
  return undefined;
}
