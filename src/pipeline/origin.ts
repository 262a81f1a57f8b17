// CNIL (Piano guide 4.6): the tracker is limited to one site. A site that lists its
// domains only takes hits whose Origin (or, without one, Referer) is one of them,
// compared by host name whatever the scheme or port. A request with neither (a
// server-side tracker, an image from a page served with
// `Referrer-Policy: no-referrer`) is judged by the page URLs its hits name, as Matomo's
// own "only track visits on these URLs" does: every one of them must be on the site.
import { BoundedCache } from '../bounded-cache.js';
import type { SitePolicy } from '../policy/sites.js';

function hostOf(value: string | undefined): string | undefined {
  if (!value || value === 'null') return undefined;
  try {
    return new URL(value).hostname.toLowerCase().replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

// An Origin header is scheme://host[:port] and a site's visitors send few distinct
// ones: remember their host names (URL parsing was ~1.5 µs per hit). Referers carry
// paths and queries and are never cached.
const originHosts = new BoundedCache<string, string | undefined>(1024);

function hostOfOrigin(origin: string | undefined): string | undefined {
  return origin ? originHosts.getOrCompute(origin, hostOf) : undefined;
}

export function hostAllowed(host: string, domains: readonly string[]): boolean {
  for (const d of domains) {
    if (d.startsWith('*.')) {
      const base = d.slice(2);
      if (host === base || host.endsWith(`.${base}`)) return true;
    } else if (host === d.replace(/^\[|\]$/g, '')) {
      return true;
    }
  }
  return false;
}

/** The host of a page URL: http(s) only, a page is served by neither `file:` nor `data:`. */
function hostOfPage(url: string | undefined): string | undefined {
  if (!url || !/^https?:/i.test(url)) return undefined;
  return hostOf(url);
}

/**
 * The page URLs a request's hits name, one per event that would be stored (undefined for
 * an event naming none), for the check of a request without Origin or Referer. Lazy: a
 * browser's hit carries an Origin, and then nothing is read.
 */
export type PageUrls = () => readonly (string | undefined)[];

/**
 * undefined when the hit may come from there; otherwise why not. The Origin decides,
 * else the Referer, else (neither names a host) the page URLs: all of them on the
 * site's hosts, and at least one. An event without a page URL beside events that have
 * one is refused too: it would be stored on nobody's word, and a request is stored
 * whole or not at all.
 */
export function originRefusal(
  policy: SitePolicy,
  origin: string | undefined,
  referer: string | undefined,
  pageUrls?: PageUrls,
): string | undefined {
  if (policy.domains.length === 0) return undefined;
  const host = hostOfOrigin(origin) ?? hostOf(referer);
  if (host) {
    return hostAllowed(host, policy.domains) ? undefined : `site ${policy.site} does not list the domain ${host}`;
  }
  const pages = pageUrls?.() ?? [];
  if (pages.length === 0) {
    const why = 'the request has no Origin, Referer or page URL';
    return `site ${policy.site} only takes hits from its own domains, and ${why}`;
  }
  for (let i = 0; i < pages.length; i++) {
    const pageHost = hostOfPage(pages[i]);
    if (!pageHost) {
      const which = pages.length === 1 ? 'the hit has' : `event ${i + 1} of ${pages.length} has`;
      const why = `the request has no Origin or Referer and ${which} no http(s) page URL`;
      return `site ${policy.site} only takes hits from its own domains; ${why}`;
    }
    if (!hostAllowed(pageHost, policy.domains)) {
      return `site ${policy.site} does not list the domain ${pageHost} (page URL)`;
    }
  }
  return undefined;
}

/**
 * The page URLs of Piano events as a body holds them (before validation: only strings
 * are read): `page_url`, else the SDK's own `event_url_full`.
 */
export function pageUrlsOfEvents(events: unknown): (string | undefined)[] {
  if (!Array.isArray(events)) return [];
  return events.map((e: unknown) => {
    const data = typeof e === 'object' && e !== null ? (e as { data?: unknown }).data : undefined;
    if (typeof data !== 'object' || data === null) return undefined;
    const { page_url: pageUrl, event_url_full: eventUrl } = data as Record<string, unknown>;
    if (typeof pageUrl === 'string' && pageUrl !== '') return pageUrl;
    return typeof eventUrl === 'string' && eventUrl !== '' ? eventUrl : undefined;
  });
}

interface HostIndex {
  exact: Map<string, SitePolicy>;
  /** `*.base` entries, the longest base first. */
  wildcards: { base: string; policy: SitePolicy }[];
}
const hostIndexes = new WeakMap<readonly SitePolicy[], HostIndex>();

function hostIndex(sites: readonly SitePolicy[]): HostIndex {
  let index = hostIndexes.get(sites);
  if (index) return index;
  index = { exact: new Map(), wildcards: [] };
  for (const policy of sites) {
    for (const d of policy.domains) {
      if (d.startsWith('*.')) index.wildcards.push({ base: d.slice(2), policy });
      else {
        const host = d.replace(/^\[|\]$/g, '');
        if (!index.exact.has(host)) index.exact.set(host, policy); // listed twice: the first site in the file
      }
    }
  }
  // stable: sites of equal base length keep the file's order
  index.wildcards.sort((a, b) => b.base.length - a.base.length);
  hostIndexes.set(sites, index);
  return index;
}

/**
 * The site whose domains hold `host`, compared as the origin check compares host names:
 * a site listing the host itself first, then the most specific `*.` entry that covers
 * it; a host listed by two sites belongs to the first in the sites file. For trackers
 * that name their site by domain (Plausible's `d`) instead of by site id.
 */
export function siteForHost(sites: readonly SitePolicy[], host: string): SitePolicy | undefined {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  const index = hostIndex(sites);
  const exact = index.exact.get(h);
  if (exact) return exact;
  for (const w of index.wildcards) if (h === w.base || h.endsWith(`.${w.base}`)) return w.policy;
  return undefined;
}
