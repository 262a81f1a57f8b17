// CNIL (Piano guide 4.6): the tracker is limited to one site. A site that lists its
// domains only takes hits whose Origin (or, without one, Referer) is one of them,
// compared by host name whatever the scheme or port.
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
const ORIGIN_CACHE_MAX = 1024;
const originHosts = new Map<string, string | undefined>();

function hostOfOrigin(origin: string | undefined): string | undefined {
  if (!origin) return undefined;
  if (originHosts.has(origin)) return originHosts.get(origin);
  const host = hostOf(origin);
  if (originHosts.size >= ORIGIN_CACHE_MAX) originHosts.clear();
  originHosts.set(origin, host);
  return host;
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

/** undefined when the hit may come from there; otherwise why not. */
export function originRefusal(policy: SitePolicy, origin: string | undefined, referer: string | undefined): string | undefined {
  if (policy.domains.length === 0) return undefined;
  const host = hostOfOrigin(origin) ?? hostOf(referer);
  if (!host) return `site ${policy.site} only takes hits from its own domains, and the request has no Origin or Referer`;
  if (hostAllowed(host, policy.domains)) return undefined;
  return `site ${policy.site} does not list the domain ${host}`;
}
