// What "strictly necessary" means, as data (docs/privacy.md; Piano's CNIL guide 4.8).
// Nothing else in the code decides which properties or events an exempt hit keeps:
// privacy.ts applies these lists, and a site can only add names (SITES_FILE).
//
// Source: Piano's documented exempt allowlist, identical to the default
// configuration of piano-analytics-js 6.17.0 (privacy.modes.exempt), copied in
// test/fixtures/sdk/sdk-exempt-allowlist.json, which a test compares with this file.
import type { Mode } from '../contract/modes.js';

/** Piano's 93 exempt properties. */
export const EXEMPT_PROPERTIES: readonly string[] = Object.freeze([
  'app_crash',
  'app_crash_class',
  'app_crash_screen',
  'app_version',
  'browser',
  'browser_cookie_acceptance',
  'browser_group',
  'browser_version',
  'click',
  'click_chapter1',
  'click_chapter2',
  'click_chapter3',
  'click_full_name',
  'connection_monitor',
  'connection_organisation',
  'cookie_creation_date',
  'date',
  'date_day',
  'date_daynumber',
  'date_month',
  'date_monthnumber',
  'date_week',
  'date_year',
  'date_yearofweek',
  'device_brand',
  'device_display_height',
  'device_display_width',
  'device_name',
  'device_name_tech',
  'device_screen_diagonal',
  'device_screen_height',
  'device_screen_width',
  'device_type',
  'event_collection_platform',
  'event_collection_version',
  'event_hour',
  'event_id',
  'event_minute',
  'event_position',
  'event_second',
  'event_time',
  'event_time_utc',
  'event_url',
  'event_url_domain',
  'event_url_full',
  'exclusion_cause',
  'exclusion_type',
  'geo_city',
  'geo_continent',
  'geo_country',
  'geo_metro',
  'geo_region',
  'goal_type',
  'hit_time_utc',
  'os',
  'os_group',
  'os_version',
  'os_version_name',
  'page',
  'page_chapter1',
  'page_chapter2',
  'page_chapter3',
  'page_duration',
  'page_full_name',
  'page_position',
  'page_title_html',
  'page_url',
  'pageview_id',
  'previous_url',
  'privacy_status',
  'site',
  'site_env',
  'site_id',
  'site_platform',
  'src',
  'src_detail',
  'src_direct_access',
  'src_organic',
  'src_organic_detail',
  'src_portal_domain',
  'src_portal_site',
  'src_portal_site_id',
  'src_portal_url',
  'src_referrer_site_domain',
  'src_referrer_site_url',
  'src_referrer_url',
  'src_se',
  'src_se_category',
  'src_se_country',
  'src_type',
  'src_url',
  'src_url_domain',
  'src_webmail',
]);

/**
 * The client hints the SDK sends (Piano's `ch_ua*` entry in privacy.modes["*"]), by
 * their exact names: a prefix would let `ch_ua_user_id` or `ch_ua_page_url` through.
 */
export const CLIENT_HINT_PROPERTIES: readonly string[] = Object.freeze([
  'ch_ua',
  'ch_ua_arch',
  'ch_ua_bitness',
  'ch_ua_full_version',
  'ch_ua_full_version_list',
  'ch_ua_mobile',
  'ch_ua_model',
  'ch_ua_platform',
  'ch_ua_platform_version',
]);

/** Allowed in every mode that keeps properties (Piano's privacy.modes["*"]), plus event_name. */
export const ALWAYS_ALLOWED_PROPERTIES: readonly string[] = Object.freeze([
  'connection_type',
  'device_timestamp_utc',
  'visitor_privacy_consent',
  'visitor_privacy_mode',
  ...CLIENT_HINT_PROPERTIES,
  'event_name',
]);

/** Piano's exempt events. */
export const EXEMPT_EVENTS: readonly string[] = Object.freeze([
  'page.display',
  'click.exit',
  'click.navigation',
  'click.download',
  'click.action',
]);

/**
 * URL-valued properties: in exempt mode they lose their query string, fragment, path
 * parameters (`;jsessionid=`) and `user:password@`, in arrays too (exempt/url.ts).
 */
export const URL_PROPERTIES: readonly string[] = Object.freeze([
  'event_url',
  'event_url_full',
  'page_url',
  'previous_url',
  'src_portal_url',
  'src_referrer_site_url',
  'src_referrer_url',
  'src_url',
]);

/**
 * Fields the collector owns: where the hit comes from (geolocation), which site and which
 * visitor it belongs to, and when it happened are the record's own `geo`, `site`,
 * `visitor` and `ts`. A client value under one of these names is dropped in every mode,
 * opt-in included (names/server-owned.ts): a page could otherwise store a position finer
 * than the city beside the collector's own, name another site or visitor, or set a time
 * that links records. Compared once normalised (case, `.`, `-`, `_`, camelCase): any name
 * whose first word is `geo`, and the names below.
 */
export const SERVER_OWNED_FIRST_WORDS: readonly string[] = Object.freeze(['geo']);
export const SERVER_OWNED_PROPERTIES: readonly string[] = Object.freeze([
  // where: finer than the city, or a second, client-chosen place
  'latitude',
  'longitude',
  'lat',
  'lng',
  'postal_code',
  'postcode',
  'zip_code',
  'zipcode',
  // which site, which visitor
  'site',
  'site_id',
  'visitor_id',
  'idclient',
  // when: Piano's processing derives these from the hit's time, which is the collector's
  'hit_time_utc',
  'event_time',
  'event_time_utc',
  'event_hour',
  'event_minute',
  'event_second',
  'date',
  'date_day',
  'date_daynumber',
  'date_month',
  'date_monthnumber',
  'date_week',
  'date_year',
  'date_yearofweek',
]);

/** User ID properties: kept only under explicit opt-in (guide 4.2, 4.7); any letter case. */
export const USER_PROPERTY_PREFIX = 'user_';

// ---------------------------------------------------------------------------------
// What an exempt *value* may hold. An allowlisted name is not enough: a page script
// can set any property to anything (SDK 6.14+). The functions that apply these lists
// are in exempt/, one module per rule.

/**
 * The only structured values an exempt record keeps: the client-hint brand lists,
 * arrays of `{brand, version}` strings. Every other object, and every array holding
 * an object or an array, is dropped.
 */
export const BRAND_LIST_PROPERTIES: readonly string[] = Object.freeze(['ch_ua', 'ch_ua_full_version_list']);

/** Kept to the UTC day: the time of day narrows a visitor down and outlives a key rotation. */
export const DAY_PRECISION_PROPERTIES: readonly string[] = Object.freeze(['cookie_creation_date']);

/**
 * Ids the SDK generates with the visitor id's own base-36 creation time as their first
 * characters (`pageview_id` "mx1ai3fs5saqoq44" beside visitor "mx1ai3fsjp7z2jhr").
 * Stored as sent they would tie records to the raw cookie without the key: they are
 * kept only keyed, like the visitor (pseudonymise.ts).
 */
export const SDK_ID_PROPERTIES: readonly string[] = Object.freeze(['pageview_id']);

/**
 * Campaign parameters and click identifiers. Marketing measurement is outside the
 * exemption: a `name=value` (or `name: value`) with one of these names is removed from
 * every kept string, wherever it appears, and a site can never allowlist such a name.
 * Prefixes end with `_`; case is ignored.
 */
export const CAMPAIGN_PARAMETER_PREFIXES: readonly string[] = Object.freeze([
  'utm_',
  'at_',
  'pk_',
  'mtm_',
  'matomo_',
  'piwik_',
  'hsa_',
]);
export const CAMPAIGN_PARAMETERS: readonly string[] = Object.freeze([
  // AT Internet / Piano campaigns
  'xtor',
  // click identifiers of ad platforms
  'gclid',
  'gclsrc',
  'gbraid',
  'wbraid',
  'dclid',
  'fbclid',
  'msclkid',
  'yclid',
  'ttclid',
  'twclid',
  'li_fat_id',
  'igshid',
  'epik',
  'sccid',
  'rdt_cid',
  'srsltid',
  'irclickid',
  'cjevent',
  's_kwcid',
  'ef_id',
  // e-mail and marketing-automation tracking
  'mc_cid',
  'mc_eid',
  '_hsenc',
  '_hsmi',
  'mkt_tok',
  'vero_id',
  'oly_enc_id',
  'oly_anon_id',
  'ml_subscriber',
  'ml_subscriber_hash',
  'ss_email_id',
  '_kx',
  'trk_contact',
  'trk_msg',
  '_branch_match_id',
  'wickedid',
  // cross-domain linkers carry client ids
  '_ga',
  '_gl',
]);

/**
 * What replaces an e-mail address, an IP address or the raw visitor id inside a kept
 * string, and a URL path segment that is a token (or one a site masks).
 */
export const REDACTION_MARKERS = Object.freeze({
  email: '[email]',
  ip: '[ip]',
  id: '[id]',
  visitorId: '[visitor-id]',
});

/** Shared, non-identifying visitor ids the SDK sends: never pseudonymised. */
export const SHARED_VISITOR_IDS: readonly string[] = Object.freeze(['OPT-OUT', 'no-consent', 'no-storage']);

/** The tracker lifetime: Piano's _pcid lives 395 days (13 months) and may not be extended. */
export const TRACKER_LIFETIME_DAYS = 395;

/**
 * Wire modes (visitor_privacy_mode) → what the server applies.
 * Anything not listed (custom, missing, unknown) is exempt.
 */
export const MODE_OF_WIRE: Readonly<Record<string, Mode>> = Object.freeze({
  optin: 'optin',
  exempt: 'exempt',
  custom: 'exempt',
  'no-storage': 'exempt',
  optout: 'optout',
  'extended-optout': 'optout',
  'no-consent': 'optout',
});
