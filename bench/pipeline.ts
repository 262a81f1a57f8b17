// The hot path without HTTP or Redis, in a tight loop over real SDK bodies: how many
// microseconds each stage costs per hit. Figures only (no assertion); compare two
// builds by running this on each (numbers swing ±20 % on a busy machine: run twice).
//
//   npx tsx bench/pipeline.ts [seconds per case, default 2]
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { embeddedGeoipDbs } from '../src/config/index.js';
import { streamKeys } from '../src/contract/keys.js';
import { createTrustedProxies } from '../src/pipeline/client-ip.js';
import { Geolocator } from '../src/pipeline/geolocate.js';
import { createHitProcessor } from '../src/pipeline/hit.js';
import { Pseudonymiser } from '../src/pipeline/pseudonymise.js';
import { envelopeSchema } from '../src/contract/wire.js';
import { compilePolicy } from '../src/policy/sites.js';
import { parseJsonBody } from '../src/routes/collect.js';

const SECONDS = Number(process.argv[2] ?? 2);
const root = path.resolve(import.meta.dirname, '..');
const fixture = (name: string) =>
  JSON.parse(readFileSync(path.join(root, 'test/fixtures/sdk', `${name}.json`), 'utf8')).requests[0] as {
    body: string;
    query: Record<string, string>;
  };

const now = Date.now();
const fresh = (text: string) =>
  text
    .replace(/\bmx1a[0-9a-z]{12}\b/g, (id) => now.toString(36) + id.slice(8))
    .replace(/"cookie_creation_date":"[^"]+"/g, `"cookie_creation_date":"${new Date(now).toISOString()}"`);
const CASES: Record<string, { body: string; idclient: string; site: 'optin' | 'exempt' }> = {
  'sdk exempt 1-event (1.0 KB)': {
    body: fresh(fixture('exempt').body),
    idclient: `${now.toString(36)}jp7z2jhr`,
    site: 'exempt',
  },
  'sdk optin 1-event, optin site': {
    body: fresh(fixture('optin').body),
    idclient: `${now.toString(36)}unr4hrez`,
    site: 'optin',
  },
  'sdk 5-event sendEvents': {
    body: fresh(fixture('send-events').body),
    idclient: `${now.toString(36)}a8820kq8`,
    site: 'exempt',
  },
  'small exempt page.display': {
    body: JSON.stringify({
      events: [
        {
          name: 'page.display',
          data: {
            page: 'home',
            page_chapter1: 'news',
            visitor_privacy_mode: 'exempt',
            visitor_privacy_consent: false,
            device_timestamp_utc: 1795923533.892,
          },
        },
      ],
    }),
    idclient: `${now.toString(36)}q8w3e5r7`,
    site: 'exempt',
  },
};

const geolocator = await Geolocator.open(embeddedGeoipDbs());
const pseudonymiser = new Pseudonymiser([{ id: 'k1', secret: Buffer.from('0123456789abcdef0123456789abcdef') }]);
const processHit = createHitProcessor({
  geolocator,
  pseudonymiser,
  isTrustedProxy: createTrustedProxies(['127.0.0.1']),
  recordIdSecret: Buffer.from('0123456789abcdef0123456789abcdef'),
  streamKeys: streamKeys('hits', 1),
  counterTtlSeconds: 3600,
});
const policies = { optin: compilePolicy('123456', { maxMode: 'optin' }), exempt: compilePolicy('123456') };

function time(fn: () => void): number {
  for (let i = 0; i < 2000; i++) fn(); // warm up
  let n = 0;
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
  }
  return ((performance.now() - t0) * 1000) / n;
}

console.log(`µs per hit (tight loop, ${SECONDS} s per figure, Node ${process.version})`);
console.log('case'.padEnd(32), 'JSON.parse', 'validate', 'process+encode', 'all');
for (const [name, c] of Object.entries(CASES)) {
  const json = JSON.parse(c.body);
  const events = envelopeSchema.parse(json).events;
  const input = (evs: typeof events) => ({
    site: '123456',
    policy: policies[c.site],
    idclient: c.idclient,
    events: evs,
    rawBody: c.body,
    peer: '127.0.0.1',
    forwardedFor: '81.2.69.142',
    gpc: false,
    receivedAt: Date.now(),
  });
  const parse = time(() => parseJsonBody(c.body));
  const validate = time(() => envelopeSchema.safeParse(json));
  const proc = time(() => processHit(input(events)));
  const all = time(() => processHit(input(envelopeSchema.parse(parseJsonBody(c.body)).events)));
  console.log(
    name.padEnd(32),
    parse.toFixed(2).padStart(10),
    validate.toFixed(2).padStart(8),
    proc.toFixed(2).padStart(14),
    all.toFixed(2).padStart(5),
  );
}
geolocator.close();
