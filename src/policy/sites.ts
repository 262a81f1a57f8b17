// Site policy (SITES_FILE): which domains may send a site's hits, the most a site's
// hits may keep (maxMode), the names a site adds to the exempt allowlists, and
// whether the browser's Global Privacy Control counts as an objection, and whether robots
// are set apart (the default) or kept as audience (`bots: "keep"`, for a site's own tests).
// Validated once at start: a bad file stops the service with a message naming it.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RECORD_MODES, type RecordMode } from '../contract/modes.js';
import { BoundedCache } from '../bounded-cache.js';
import { ConfigError } from '../errors.js';
import { ALWAYS_ALLOWED_PROPERTIES, EXEMPT_EVENTS, EXEMPT_PROPERTIES } from './allowlists.js';
import { allowlistRefusal } from './names.js';
import { compilePathMask, type PathMask } from './exempt-values.js';

export interface SitePolicy {
  readonly site: string;
  /** Host names (`example.org`, `*.example.org`); empty: any origin. */
  readonly domains: readonly string[];
  /** `exempt`: no consent banner, an opt-in claim is treated as exempt. */
  readonly maxMode: RecordMode;
  /** Exempt allowlists: Piano's names plus the site's additions. */
  readonly exemptProperties: ReadonlySet<string>;
  readonly exemptEvents: ReadonlySet<string>;
  /** The site's own additions (for /privacy). */
  readonly additions: { readonly properties: readonly string[]; readonly events: readonly string[] };
  /** `Sec-GPC: 1` makes the hit an opt-out. */
  readonly gpcIsObjection: boolean;
  /** Events per second per process (0: no limit); undefined: SITE_RATE_LIMIT. */
  readonly rateLimit: number | undefined;
  /** Robots' hits are stored as audience (`bots: "keep"`); referrer spam is set apart all the same. */
  readonly keepRobots: boolean;
  /** URL path patterns whose `:name` segments become [id] in exempt records (`/users/:id`). */
  readonly masks: readonly PathMask[];
}

export interface SitePolicies {
  /** True when a sites file is in force (unknown sites are then refused). */
  readonly configured: boolean;
  get(site: string): SitePolicy | undefined;
  /** The sites of the sites file, in its order; empty without one (any site id is then taken). */
  list(): readonly SitePolicy[];
}

const hostPattern = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .refine(
    (s) =>
      /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(s) ||
      /^\[?[0-9a-f:.]+\]?$/.test(s),
    {
      message: 'a domain is a host name (example.org or *.example.org), without scheme, port or path',
    },
  );

// (what a name may not read as is checked in compilePolicy, which can name the site)
const propertyName = z.string().regex(/^[A-Za-z0-9_:.$-]{1,128}$/, 'not a property name');

const siteSchema = z
  .object({
    domains: z.array(hostPattern).default([]),
    maxMode: z.enum(RECORD_MODES).default('exempt'),
    allow: z
      .object({
        properties: z.array(propertyName).default([]),
        events: z.array(z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'not an event name')).default([]),
      })
      .strict()
      .default({ properties: [], events: [] }),
    gpc: z.enum(['optout', 'ignore']).default('optout'),
    rateLimit: z.number().int('rateLimit is a whole number of events per second').min(0).max(10_000_000).optional(),
    bots: z.enum(['set-apart', 'keep']).default('set-apart'),
    maskPaths: z
      .array(z.string().regex(/^\/[^?#;\s]{0,256}$/, 'a path pattern starts with / (/users/:id), no query'))
      .max(64)
      .default([]),
  })
  .strict();

const fileSchema = z
  .object({
    sites: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a site id is 1-64 letters, digits, _ . -'), siteSchema),
  })
  .strict();

export type SiteSettings = z.input<typeof siteSchema>;

/**
 * A site's settings compiled for the hot path. Refuses (ConfigError naming the site and the
 * name) an added property that reads as a user id, an e-mail address, a campaign parameter
 * or a server-owned field once its tracker prefix is removed and it is normalised
 * (names.ts): `plausible_prop_user_id`, `userId`, `utm.source`, `pk-campaign`, `e_mail`.
 */
export function compilePolicy(site: string, settings: SiteSettings = {}): SitePolicy {
  const s = siteSchema.parse(settings);
  for (const name of s.allow.properties) {
    const refusal = allowlistRefusal(name);
    if (refusal) {
      throw new ConfigError('SITES_FILE', `site ${site} may not allow the property "${name}": it ${refusal}`);
    }
  }
  return Object.freeze({
    site,
    domains: Object.freeze(s.domains),
    maxMode: s.maxMode,
    exemptProperties: new Set([...EXEMPT_PROPERTIES, ...ALWAYS_ALLOWED_PROPERTIES, ...s.allow.properties]),
    exemptEvents: new Set([...EXEMPT_EVENTS, ...s.allow.events]),
    additions: Object.freeze({ properties: Object.freeze(s.allow.properties), events: Object.freeze(s.allow.events) }),
    gpcIsObjection: s.gpc === 'optout',
    rateLimit: s.rateLimit,
    keepRobots: s.bots === 'keep',
    masks: Object.freeze(s.maskPaths.map(compilePathMask)),
  });
}

/**
 * The shape of a site id when no sites file names the sites: digits, as Piano and Matomo
 * number sites (Matomo's idsite is a 32-bit integer). Anything else (an address, a
 * visitor id) would become a record's site and a Redis key name: it is refused.
 */
export const SITE_ID_SHAPE = /^[0-9]{1,10}$/;
export const SITE_ID_SHAPE_TEXT = '1-10 digits';

/**
 * Without a sites file: every site whose id has the shape, with the exempt defaults (no
 * opt-in data, no additions, GPC honoured).
 */
function defaultPolicies(): SitePolicies {
  const cache = new BoundedCache<string, SitePolicy>(10_000);
  return {
    configured: false,
    list: () => [],
    get(site) {
      if (!SITE_ID_SHAPE.test(site)) return undefined;
      return cache.getOrCompute(site, compilePolicy);
    },
  };
}

export function parseSites(json: unknown): SitePolicies {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError('SITES_FILE', `${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`);
  }
  const policies = new Map(
    Object.entries(parsed.data.sites).map(([site, settings]) => [site, compilePolicy(site, settings)]),
  );
  const all = Object.freeze([...policies.values()]);
  return { configured: true, get: (site) => policies.get(site), list: () => all };
}

export function loadSites(file: string | undefined): SitePolicies {
  if (!file) return defaultPolicies();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('SITES_FILE', `cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('SITES_FILE', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseSites(json);
}
