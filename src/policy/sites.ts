// Site policy (SITES_FILE): which domains may send a site's hits, the most a site's
// hits may keep (maxMode), the names a site adds to the exempt allowlists, and
// whether the browser's Global Privacy Control counts as an objection.
// Validated once at start: a bad file stops the service with a message naming it.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { ALWAYS_ALLOWED_PROPERTIES, EXEMPT_EVENTS, EXEMPT_PROPERTIES } from './allowlists.js';
import { compilePathMask, isCampaignName, isUserProperty, type PathMask } from './exempt-values.js';

export interface SitePolicy {
  readonly site: string;
  /** Host names (`example.org`, `*.example.org`); empty: any origin. */
  readonly domains: readonly string[];
  /** `exempt`: no consent banner, an opt-in claim is treated as exempt. */
  readonly maxMode: 'optin' | 'exempt';
  /** Exempt allowlists: Piano's names plus the site's additions. */
  readonly exemptProperties: ReadonlySet<string>;
  readonly exemptEvents: ReadonlySet<string>;
  /** The site's own additions (for /privacy). */
  readonly additions: { readonly properties: readonly string[]; readonly events: readonly string[] };
  /** `Sec-GPC: 1` makes the hit an opt-out. */
  readonly gpcIsObjection: boolean;
  /** Events per second per process (0: no limit); undefined: SITE_RATE_LIMIT. */
  readonly rateLimit: number | undefined;
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
  .refine((s) => /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(s) || /^\[?[0-9a-f:.]+\]?$/.test(s), {
    message: 'a domain is a host name (example.org or *.example.org), without scheme, port or path',
  });

const propertyName = z
  .string()
  .regex(/^[A-Za-z0-9_:.$-]{1,128}$/, 'not a property name')
  .refine((n) => !isUserProperty(n), 'user_* properties (in any letter case) can never be allowed outside opt-in')
  .refine((n) => !isCampaignName(n), 'campaign parameters and click identifiers (utm_*, at_*, gclid, ...) are outside the exemption and can never be allowed');

const siteSchema = z
  .object({
    domains: z.array(hostPattern).default([]),
    maxMode: z.enum(['optin', 'exempt']).default('exempt'),
    allow: z
      .object({
        properties: z.array(propertyName).default([]),
        events: z.array(z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'not an event name')).default([]),
      })
      .strict()
      .default({ properties: [], events: [] }),
    gpc: z.enum(['optout', 'ignore']).default('optout'),
    rateLimit: z.number().int('rateLimit is a whole number of events per second').min(0).max(10_000_000).optional(),
    maskPaths: z.array(z.string().regex(/^\/[^?#;\s]{0,256}$/, 'a path pattern starts with / (/users/:id), no query')).max(64).default([]),
  })
  .strict();

const fileSchema = z
  .object({
    sites: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a site id is 1-64 letters, digits, _ . -'), siteSchema),
  })
  .strict();

export type SiteSettings = z.input<typeof siteSchema>;

export function compilePolicy(site: string, settings: SiteSettings = {}): SitePolicy {
  const s = siteSchema.parse(settings);
  return Object.freeze({
    site,
    domains: Object.freeze(s.domains),
    maxMode: s.maxMode,
    exemptProperties: new Set([...EXEMPT_PROPERTIES, ...ALWAYS_ALLOWED_PROPERTIES, ...s.allow.properties]),
    exemptEvents: new Set([...EXEMPT_EVENTS, ...s.allow.events]),
    additions: Object.freeze({ properties: Object.freeze(s.allow.properties), events: Object.freeze(s.allow.events) }),
    gpcIsObjection: s.gpc === 'optout',
    rateLimit: s.rateLimit,
    masks: Object.freeze(s.maskPaths.map(compilePathMask)),
  });
}

/** Without a sites file: every site, exempt defaults (no opt-in data, no additions, GPC honoured). */
export function defaultPolicies(): SitePolicies {
  const cache = new Map<string, SitePolicy>();
  return {
    configured: false,
    list: () => [],
    get(site) {
      let p = cache.get(site);
      if (!p) {
        if (cache.size > 10_000) cache.clear();
        cache.set(site, (p = compilePolicy(site)));
      }
      return p;
    },
  };
}

export function parseSites(json: unknown): SitePolicies {
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError('SITES_FILE', `${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`);
  }
  const policies = new Map(Object.entries(parsed.data.sites).map(([site, settings]) => [site, compilePolicy(site, settings)]));
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
