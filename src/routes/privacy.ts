// GET /privacy?s=<site> — a machine-readable statement of what the collector does
// for one site, mapped to the CNIL conditions (docs/privacy.md) and the active settings.
// No secret in it: the key id is named, never the key. A site owner can link it
// from their privacy policy.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { SET_APART_REASONS } from '../contract/keys.js';
import { badRequest, ERROR_CODES, HttpError } from '../errors.js';
import {
  ALWAYS_ALLOWED_PROPERTIES,
  BRAND_LIST_PROPERTIES,
  CAMPAIGN_PARAMETER_PREFIXES,
  CAMPAIGN_PARAMETERS,
  DAY_PRECISION_PROPERTIES,
  EXEMPT_EVENTS,
  EXEMPT_PROPERTIES,
  REDACTION_MARKERS,
  SDK_ID_PROPERTIES,
  SERVER_OWNED_FIRST_WORDS,
  SERVER_OWNED_PROPERTIES,
  SHARED_VISITOR_IDS,
  TRACKER_LIFETIME_DAYS,
  URL_PROPERTIES,
} from '../policy/allowlists.js';
import { EXEMPT_VALUE_RULES } from '../policy/exempt-values.js';
import { ROBOT_CHECK } from '../pipeline/audience.js';
import { OTHER_EVENT } from '../pipeline/privacy.js';
import { IPV4_PREFIX_BITS, IPV6_PREFIX_BITS } from '../pipeline/anonymise-ip.js';
import { PSEUDONYM_BYTES, type Pseudonymiser } from '../pipeline/pseudonymise.js';
import { querySchema, rawQueryParams } from '../contract/wire.js';
import type { ReferrerSpamList } from '../policy/referrer-spam.js';
import { SITE_ID_SHAPE, SITE_ID_SHAPE_TEXT, type SitePolicies, type SitePolicy } from '../policy/sites.js';

const DAY_MS = 86_400_000;

function privacyStatement(
  policy: SitePolicy,
  config: Config,
  pseudonymiser: Pseudonymiser,
  siteConfigured: boolean,
  referrerSpam: ReferrerSpamList,
) {
  return {
    site: policy.site,
    statementVersion: 3,
    framework:
      'CNIL consent exemption for audience measurement (deliberation 2020-091, guidelines of 17 September 2020); ' +
      'Piano Analytics CNIL configuration guide',
    siteConfigured,
    conditions: {
      ipTruncation: {
        guide: '4.3',
        rule: 'the IP address is truncated before any processing and never stored',
        ipv4PrefixBits: IPV4_PREFIX_BITS,
        ipv6PrefixBits: IPV6_PREFIX_BITS,
        ipv6CarryingIpv4:
          'IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses ' +
          'are truncated as the IPv4 address they carry',
      },
      geolocation: {
        guide: '4.3',
        level: 'city',
        fields: ['country', 'region', 'city'],
        enabled: config.geoipDbs.length > 0,
        neverKept: ['latitude', 'longitude', 'postal code', 'accuracy radius', 'metro code', 'ASN'],
      },
      visitorPseudonym: {
        guide: '4.2, 4.7',
        scheme: `HMAC-SHA256(secret key, site ‖ visitor id), truncated to ${PSEUDONYM_BYTES * 8} bits`,
        scope: 'per site: the same browser on two sites gets two unrelated pseudonyms',
        activeKeyId: pseudonymiser.activeKeyId,
        sharedIdsNeverPseudonymised: SHARED_VISITOR_IDS,
        rawIdNeverStored:
          `in every mode: ids the SDK makes from the visitor id's creation time (${SDK_ID_PROPERTIES.join(', ')}) ` +
          'are stored keyed, never as sent, and the raw visitor id ' +
          '(or either 8-character half of an SDK-made id: its creation time, its random part) ' +
          `inside any stored string becomes "${REDACTION_MARKERS.visitorId}", in any letter case, ` +
          'also partly percent-encoded or sent as a number; ' +
          'an id of 4 to 7 characters only as a whole word, a shorter one is not searched for',
      },
      userId: {
        guide: '4.2, 4.7',
        rule: 'user_* properties, in any letter case, are dropped in every mode but explicit opt-in',
      },
      modes: {
        guide: '4.8, 4.9',
        maxMode: policy.maxMode,
        optin:
          policy.maxMode === 'optin'
            ? 'every property (within size limits), user_* kept, pseudonym, city-level geolocation'
            : 'treated as exempt (this site caps its mode at exempt)',
        exempt:
          'exempt allowlists only, no user_*, every kept value checked by the exempt value rules, ' +
          'pseudonym (none for no-storage), city-level geolocation',
        optout: 'no record: anonymous counters per site, UTC hour and event only',
        untrustedClaims:
          'a mode claimed by the client never widens what the site allows; missing or unknown modes are exempt; ' +
          'of several events in one request, the most restrictive claim applies to all',
      },
      exemptAllowlists: {
        guide: '4.8',
        properties: [...EXEMPT_PROPERTIES, ...ALWAYS_ALLOWED_PROPERTIES],
        events: EXEMPT_EVENTS,
        siteAdditions: policy.additions,
        neverAllowed:
          'a site can never add a name that reads as a user id, an e-mail address, a campaign parameter or ' +
          'click identifier, or a server-owned field, once a tracker prefix (plausible_prop_, cvar_<scope>_) ' +
          'is removed and case, ., -, _ and camelCase are normalised (user.id, userId, utm.source, pk-campaign)',
      },
      serverOwnedFields: {
        rule:
          "the record's site, visitor, time (ts) and geolocation are the collector's: " +
          'a client property naming them is dropped, in every mode, opt-in included',
        namesStartingWith: SERVER_OWNED_FIRST_WORDS.map((w) => `${w}_`),
        names: SERVER_OWNED_PROPERTIES,
        spelling: 'compared once normalised: case, ., -, _ and camelCase (geo_city, geoCity, GEO.city)',
      },
      clientChosenIds: {
        properties: SDK_ID_PROPERTIES,
        matomo: 'pv_id is stored as pageview_id',
        rule:
          'stored keyed, never as sent: with a visitor, keyed with its pseudonym and the UTC day (the events ' +
          'of one page view group together; nothing is linked that the pseudonym does not already link); ' +
          "without one, keyed with the request's own record id (a value sent on every hit links no two requests)",
      },
      siteIds: siteConfigured
        ? 'the sites file names every site: any other site id is refused (403)'
        : `no sites file: a site id is ${SITE_ID_SHAPE_TEXT} (as Piano and Matomo number sites), anything else ` +
          'is refused (400) and touches no key; Plausible hits, named by domain, need a sites file',
      exemptValueRules: {
        guide: '4.8',
        rules: EXEMPT_VALUE_RULES,
        urlProperties: URL_PROPERTIES,
        structuredProperties: BRAND_LIST_PROPERTIES,
        dayPrecisionProperties: DAY_PRECISION_PROPERTIES,
        campaignParameters: { prefixes: CAMPAIGN_PARAMETER_PREFIXES, names: CAMPAIGN_PARAMETERS },
        markers: REDACTION_MARKERS,
        built:
          'each kept string is read once (the reading rule) and the stored value is rebuilt from that reading: ' +
          'a URL from its scheme, host and path, a text without what the rules remove; ' +
          'it is never searched in the form the client sent',
        maskedPaths:
          policy.masks.length > 0
            ? policy.masks.map((m) => `/${m.map((s) => s ?? ':id').join('/')}`)
            : 'none declared by this site',
        notCaught:
          'personal data written as plain words (a name, a phone number, a postal address); ' +
          'identifiers that look like words or short codes in a path (a site declares them in maskPaths); ' +
          'an IPv4 address as one number outside a URL host; ' +
          'identifiers reversed, split over array items or in an encoding of their own; ' +
          'tokens shorter than the lengths the url rule gives',
        optin:
          'opt-in records keep what the visitor consented to: ' +
          'the value rules do not apply (the raw visitor id rule does)',
      },
      optoutCounters: {
        guide: '4.9',
        key: 'per site and UTC hour',
        fields: [...policy.exemptEvents, OTHER_EVENT],
        rule:
          `an event on the site's event list is counted under its name, any other under "${OTHER_EVENT}": ` +
          'a client never chooses a field; no page, no id, no geolocation',
      },
      audience: {
        rule:
          "audience means people: a robot's hit or a referrer spammer's is answered as any other, " +
          'never stored, only counted per site and UTC hour by reason',
        robots: policy.keepRobots
          ? 'kept as audience on this site (bots: "keep", for its tests); referrer spam is still set apart'
          : `set apart: a User-Agent the robot check (${ROBOT_CHECK}) names a robot's (crawlers, HTTP ` +
            'libraries, headless browsers, monitors), no User-Agent at all, or client hints naming a ' +
            "headless browser; Matomo's forwarded ua decides when sent",
        referrerSpam:
          "set apart: a referrer whose host or a parent domain is on Matomo's public referrer-spam list " +
          `(${referrerSpam.size} hosts${referrerSpam.version ? `, ${referrerSpam.version}` : ''})`,
        counters: { key: 'per site and UTC hour', fields: SET_APART_REASONS, rule: 'no page, no id, no User-Agent' },
        userAgent: 'read for the check only: never stored, never logged',
      },
      oneSite: {
        guide: '4.6',
        allowedDomains: policy.domains.length > 0 ? policy.domains : 'any (no domains listed for this site)',
        check: "Origin, or Referer without Origin, or without either every hit's own page URL, compared by host name",
      },
      globalPrivacyControl: policy.gpcIsObjection
        ? 'Sec-GPC: 1 is an objection: the hit is counted as opt-out'
        : 'ignored',
      trackers: {
        rule:
          'Matomo and Plausible requests become the same events and go through the same steps; ' +
          'their records say which tracker sent them',
        matomo: {
          endpoints: ['/matomo.php', '/piwik.php'],
          site: 'idsite',
          visitorId:
            '_id (else cid), pseudonymised as above; never uid, never derived from the IP address or User-Agent',
          optin:
            policy.maxMode === 'optin'
              ? 'consent=1 claims opt-in'
              : 'never: consent=1 is ignored (this site caps its mode at exempt)',
          optout: `${
            policy.gpcIsObjection
              ? 'Sec-GPC: 1 and DNT: 1 (X-Do-Not-Track: 1)'
              : 'neither Sec-GPC nor DNT (this site ignores them)'
          }; Matomo's opt-out cookie (matomo_ignore, piwik_ignore) always`,
          neverRead:
            'token_auth and what it unlocks (cip, cdt, country, region, city, lat, long), ' +
            'campaign parameters, ecommerce',
          bulk:
            'a bulk request names one site: a bulk naming several is refused (400), ' +
            "so that two sites' records are never written side by side",
        },
        plausible: {
          endpoint: '/api/event',
          site: "the site whose domains hold the hit's domain (d)",
          visitorId: 'none: no visitor, never derived from the IP address or User-Agent',
          optout: policy.gpcIsObjection ? 'Sec-GPC: 1' : 'none (this site ignores Sec-GPC)',
        },
      },
      trackerLifetime: {
        days: TRACKER_LIFETIME_DAYS,
        rule:
          "the tracker's age is read from cookie_creation_date, from an SDK-made visitor id's own creation time " +
          "(in any letter case or encoding) and from Matomo's _idts (whole unix seconds); " +
          'older than this, an age that cannot be read, or one in the future, and the hit is kept without visitor',
      },
      retention: {
        days: Math.round(config.streamRetentionMs / DAY_MS),
        maximumMonths: 25,
        optoutCountersDays: Math.round(config.streamRetentionMs / DAY_MS),
      },
      rateLimit: {
        eventsPerSecondPerProcess: policy.rateLimit ?? config.siteRateLimit,
        over: '429 with Retry-After; nothing of the refused hit is stored',
      },
      noImport: { guide: '4.4', rule: 'the collector has no data import path' },
      noExport: { guide: '4.5', rule: 'records carry only the pseudonym; reports are aggregated downstream' },
      dataSubjectRights: {
        access: 'POST /admin/access',
        erasure: 'POST /admin/erase',
        enabled: config.adminToken !== undefined,
        listener: "the operator's (ADMIN_PORT), never the public one",
      },
    },
  };
}

export default async function privacyRoutes(
  app: FastifyInstance,
  opts: { config: Config; pseudonymiser: Pseudonymiser; sites: SitePolicies; referrerSpam: ReferrerSpamList },
) {
  app.get('/privacy', async (req, reply) => {
    const q = querySchema.safeParse(rawQueryParams(req.url));
    if (!q.success) throw badRequest('site (s) is missing or malformed', 'query.s');
    if (!opts.sites.configured && !SITE_ID_SHAPE.test(q.data.s)) {
      throw badRequest(`a site id is ${SITE_ID_SHAPE_TEXT}`, 'query.s');
    }
    const policy = opts.sites.get(q.data.s);
    if (!policy)
      throw new HttpError({
        statusCode: 404,
        code: ERROR_CODES.UNKNOWN_SITE,
        message: `site ${q.data.s} is not configured on this collector`,
      });
    reply.header('access-control-allow-origin', '*');
    reply.header('cache-control', 'public, max-age=300');
    return privacyStatement(policy, opts.config, opts.pseudonymiser, opts.sites.configured, opts.referrerSpam);
  });
}
