// Where visits come from: the referrer's host, as the aggregator keeps it, and what the
// report calls it. Data first (search engines and social networks, by host), then the
// two small functions that use it: `sourceOfHit` (aggregator: a hit's properties → the
// field it counts, never more than a host) and `classifySource` (report: that field →
// a kind and a name).
//
// The referrer is `previous_url` (the Piano SDK's document.referrer; the Matomo and
// Plausible adapters map `urlref` and `r` to it), else Piano's documented
// `src_referrer_url`. The page is `page_url` (Matomo, Plausible), else the SDK's
// `event_url_full` / `event_url`.

export type SourceKind = 'search' | 'social' | 'website' | 'direct' | 'internal';

/** The kinds in the order the report shows them. */
export const SOURCE_KINDS: readonly SourceKind[] = ['search', 'social', 'website', 'direct', 'internal'];

/** Stored for a hit without a referrer. */
const DIRECT = '(direct)';
/** Stored for a referrer on the page's own site (its host, or one of them below the other). */
const INTERNAL = '(internal)';
/** Stored for a referrer that is not a web address the aggregator can read a host from. */
const UNREADABLE = '(unreadable)';

interface Known {
  name: string;
  kind: 'search' | 'social';
  /** Hosts matched with their subdomains (`bing.com` matches `cn.bing.com`). */
  hosts?: readonly string[];
  /** For names spread over country domains (`google.fr`, `google.co.uk`). */
  pattern?: RegExp;
}

// Webmail, maps, news and shopping subdomains of the same companies are not search:
// only the search hosts are listed. Android apps send `android-app://<package>/`.
const KNOWN: readonly Known[] = [
  {
    name: 'Google',
    kind: 'search',
    pattern: /^(www\.)?google\.(com?\.)?[a-z]{2,3}$/,
    hosts: ['com.google.android.googlequicksearchbox'],
  },
  { name: 'Bing', kind: 'search', hosts: ['bing.com'] },
  { name: 'DuckDuckGo', kind: 'search', hosts: ['duckduckgo.com'] },
  { name: 'Qwant', kind: 'search', hosts: ['qwant.com'] },
  { name: 'Ecosia', kind: 'search', hosts: ['ecosia.org'] },
  { name: 'Yahoo', kind: 'search', pattern: /(^|\.)search\.yahoo\.(com|co\.jp)$/ },
  { name: 'Yandex', kind: 'search', pattern: /^(www\.)?(yandex\.(ru|com|com\.tr|by|kz|ua)|ya\.ru)$/ },
  { name: 'Baidu', kind: 'search', hosts: ['baidu.com'] },
  { name: 'Startpage', kind: 'search', hosts: ['startpage.com'] },
  { name: 'Brave Search', kind: 'search', hosts: ['search.brave.com'] },
  { name: 'Kagi', kind: 'search', hosts: ['kagi.com'] },
  { name: 'Lilo', kind: 'search', hosts: ['search.lilo.org'] },
  { name: 'Naver', kind: 'search', hosts: ['search.naver.com'] },
  { name: 'Seznam', kind: 'search', hosts: ['search.seznam.cz'] },
  { name: 'Ask', kind: 'search', hosts: ['ask.com'] },
  { name: 'Facebook', kind: 'social', hosts: ['facebook.com', 'fb.com', 'fb.me', 'com.facebook.katana'] },
  { name: 'Instagram', kind: 'social', hosts: ['instagram.com'] },
  { name: 'X (Twitter)', kind: 'social', hosts: ['x.com', 'twitter.com', 't.co'] },
  { name: 'LinkedIn', kind: 'social', hosts: ['linkedin.com', 'lnkd.in', 'com.linkedin.android'] },
  { name: 'Reddit', kind: 'social', hosts: ['reddit.com'] },
  { name: 'YouTube', kind: 'social', hosts: ['youtube.com', 'youtu.be'] },
  { name: 'Pinterest', kind: 'social', pattern: /(^|\.)pinterest\.(com?\.)?[a-z]{2,3}$/, hosts: ['pin.it'] },
  { name: 'TikTok', kind: 'social', hosts: ['tiktok.com'] },
  { name: 'Bluesky', kind: 'social', hosts: ['bsky.app'] },
  { name: 'Threads', kind: 'social', hosts: ['threads.net', 'threads.com'] },
  { name: 'Telegram', kind: 'social', hosts: ['t.me', 'telegram.org'] },
  { name: 'WhatsApp', kind: 'social', hosts: ['whatsapp.com', 'wa.me'] },
  { name: 'Hacker News', kind: 'social', hosts: ['news.ycombinator.com'] },
  { name: 'VK', kind: 'social', hosts: ['vk.com'] },
  { name: 'Discord', kind: 'social', hosts: ['discord.com'] },
  { name: 'Tumblr', kind: 'social', hosts: ['tumblr.com'] },
  // Mastodon has thousands of servers, each its own host: the large ones by name, and any
  // host whose first label says so. Others count as websites.
  {
    name: 'Mastodon',
    kind: 'social',
    pattern: /^(mastodon|mstdn)\./,
    hosts: [
      'mastodon.social',
      'mastodon.online',
      'mas.to',
      'fosstodon.org',
      'infosec.exchange',
      'piaille.fr',
      'mamot.fr',
      'framapiaf.org',
    ],
  },
];

const under = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`);

/** What the report calls a stored source: its kind, and a name (a search engine's, a social network's, or the host). */
export function classifySource(stored: string): { kind: SourceKind; name: string } {
  if (stored === DIRECT) return { kind: 'direct', name: DIRECT };
  if (stored === INTERNAL) return { kind: 'internal', name: INTERNAL };
  for (const k of KNOWN) {
    if (k.pattern?.test(stored) || k.hosts?.some((d) => under(stored, d))) return { kind: k.kind, name: k.name };
  }
  return { kind: 'website', name: stored.startsWith('www.') ? stored.slice(4) : stored };
}

function hostOf(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'android-app:') return undefined;
  const host = u.hostname.toLowerCase().replace(/\.$/, '');
  return host === '' ? undefined : host;
}

const stripWww = (h: string) => (h.startsWith('www.') ? h.slice(4) : h);

/** One site: the same host but for `www.`, or one below the other (`blog.example.org`, `example.org`). */
function sameSite(a: string, b: string): boolean {
  const x = stripWww(a);
  const y = stripWww(b);
  return x === y || x.endsWith(`.${y}`) || y.endsWith(`.${x}`);
}

const text = (v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/**
 * The source a hit counts under: DIRECT without a referrer, INTERNAL from the page's own
 * site, UNREADABLE when no host can be read, else the referrer's host (lower case, no
 * port, path or query: nothing else of the referrer is kept).
 */
export function sourceOfHit(props: Record<string, unknown>): string {
  const referrer = text(props.previous_url) ?? text(props.src_referrer_url);
  if (referrer === undefined) return DIRECT;
  const host = hostOf(referrer);
  if (host === undefined) return UNREADABLE;
  const page = text(props.page_url) ?? text(props.event_url_full) ?? text(props.event_url);
  const pageHost = page === undefined ? undefined : hostOf(page);
  return pageHost !== undefined && sameSite(host, pageHost) ? INTERNAL : host;
}
