// Micro-benchmark of the exempt value rules alone: the time to make the exempt values of
// one hit (every property through exemptValue), on the same generated hits whatever the
// build. Prints figures, asserts nothing. Compare two builds by running it on each:
//
//   npx tsx bench/exempt-values.ts            ordinary hits (SDK page views) and hostile ones
//
// Runs alternate the two kinds of hit for ROUNDS rounds and print the median per hit:
// the machine is shared, single rounds swing.
import { performance } from 'node:perf_hooks';
import { exemptValue, noRuleCounts } from '../src/policy/exempt-values.js';
import type { PropertyValue } from '../src/contract/record.js';

const HITS = 2000;
const ROUNDS = 9;
const now = Date.now();

// a fixed generator: the same hits on every build
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const words = [
  'accueil',
  'actualites',
  'mon-article-sur-l-ete',
  'produits',
  'panier',
  'contact',
  'Économie',
  'sport',
  '2026',
  '42',
  'recherche',
];

/** What the Piano SDK sends with an exempt page view (test/fixtures/sdk/exempt.json), with varied pages. */
function ordinaryHit(): Record<string, PropertyValue> {
  const path = `/${pick(words)}/${pick(words)}/${Math.floor(rand() * 1000)}`;
  return {
    page: `${pick(words)} – ${pick(words)}`,
    page_chapter1: pick(words),
    page_url: `https://www.example.org${path}`,
    previous_url: `https://www.example.org/${pick(words)}`,
    event_url_full: `https://www.example.org${path}`,
    page_title_html: `${pick(words)} | Example`,
    cookie_creation_date: '2026-11-29T03:38:00.000Z',
    device_screen_width: 1920,
    device_screen_height: 1080,
    device_timestamp_utc: 1_796_000_000_000,
    browser_cookie_acceptance: true,
    visitor_privacy_mode: 'exempt',
    visitor_privacy_consent: false,
    ch_ua_platform: 'Linux',
    ch_ua_full_version_list: [
      { brand: 'Chromium', version: '156.0.8078.108' },
      { brand: 'Not:A-Brand', version: '8.0.0.0' },
    ],
  };
}

/** A careless or hostile page's hit: queries, e-mails, addresses, encodings. */
function hostileHit(): Record<string, PropertyValue> {
  const t = Math.floor(rand() * 1e9).toString(36);
  return {
    ...ordinaryHit(),
    page_url: `https://www.example.org/reset;jsessionid=${t}?email=alice${t}%40example.com#access_token=${t}`,
    page: `Account of jos%C3%A9${t}&#64example.com`,
    page_chapter2: `client.203.0.113.${Math.floor(rand() * 250) + 1} utm_source=${t}`,
    previous_url: `https://bob:${t}@static.9.113.0.203.clients.example.de/u/5d4f2a9c-0b7e-43f8-9aaa-123456789abc`,
  };
}

function perHitMicros(hits: readonly Record<string, PropertyValue>[]): number {
  const counts = noRuleCounts();
  const start = performance.now();
  for (const hit of hits) for (const name in hit) exemptValue(name, hit[name]!, counts, now);
  return ((performance.now() - start) * 1000) / hits.length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ordinary = Array.from({ length: HITS }, ordinaryHit);
const hostile = Array.from({ length: HITS }, hostileHit);
perHitMicros(ordinary);
perHitMicros(hostile); // warm-up
const o: number[] = [];
const h: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  o.push(perHitMicros(ordinary));
  h.push(perHitMicros(hostile));
}
console.log(
  `exempt values of one hit (${Object.keys(ordinary[0]!).length} properties), median of ${ROUNDS} rounds of ${HITS} hits:`,
);
console.log(
  `  ordinary SDK page view  ${median(o).toFixed(2)} µs  (min ${Math.min(...o).toFixed(2)}, max ${Math.max(...o).toFixed(2)})`,
);
console.log(
  `  hostile page view       ${median(h).toFixed(2)} µs  (min ${Math.min(...h).toFixed(2)}, max ${Math.max(...h).toFixed(2)})`,
);
