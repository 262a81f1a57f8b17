// Generators of what a hostile or careless page script can put in a property: values
// nested to any depth the edge accepts, embedding identifying data (e-mail addresses,
// IP addresses, URLs with queries and credentials, campaign parameters and click ids,
// user_* keys), written plainly, percent-encoded once or twice, with look-alike or
// invisible characters, in upper case, inside JSON-ish or free text.
//
// Every secret carries a unique token; after the exempt rules, no kept value may still
// hold a token (checked on the stored text, also after percent-decoding and NFKC, so a
// token cannot hide behind an encoding the test did not think of).
import fc from 'fast-check';

/** Tokens are long lowercase runs that occur nowhere else. */
const tokenArb = fc.stringMatching(/^[a-z]{10}$/).map((s) => `tk${s}`);

type Secret = { text: string; token: string; kind: string };

// (127.x is loopback: every machine's own address, left as it is)
const ipv4Arb = fc
  .tuple(
    fc.integer({ min: 1, max: 223 }).filter((a) => a !== 127),
    fc.nat(255),
    fc.nat(255),
    fc.integer({ min: 1, max: 254 }),
  )
  .map((o) => o.join('.'));
const ipv6Arb = fc
  .array(
    fc.integer({ min: 1, max: 0xffff }).map((n) => n.toString(16)),
    { minLength: 8, maxLength: 8 },
  )
  .map((g) => g.join(':'));

/** The identifying core of each secret; `token` is what must never be stored. */
const secretArb: fc.Arbitrary<Secret> = fc.oneof(
  fc
    .tuple(tokenArb, fc.constantFrom('example.com', 'mail.example.org', 'exämple.fr'))
    .map(([t, d]) => ({ text: `${t}@${d}`, token: t, kind: 'email' })),
  fc
    .tuple(tokenArb, fc.constantFrom('alice', 'a.b+tag'))
    .map(([t, l]) => ({ text: `${l}@${t}.example`, token: t, kind: 'email-domain' })),
  fc
    .tuple(tokenArb, fc.constantFrom('https', 'http'))
    .map(([t, s]) => ({ text: `${s}://shop.example.org/cart?email=${t}&x=1`, token: t, kind: 'url-query' })),
  fc
    .tuple(tokenArb)
    .map(([t]) => ({ text: `https://shop.example.org/p#access_token=${t}`, token: t, kind: 'url-fragment' })),
  fc
    .tuple(tokenArb)
    .map(([t]) => ({ text: `https://shop.example.org/cart;jsessionid=${t}`, token: t, kind: 'url-params' })),
  fc
    .tuple(tokenArb)
    .map(([t]) => ({ text: `https://bob:${t}@shop.example.org/account`, token: t, kind: 'url-credentials' })),
  fc.tuple(tokenArb).map(([t]) => ({ text: `https://${t}@shop.example.org/`, token: t, kind: 'url-user' })),
  fc.tuple(tokenArb).map(([t]) => ({ text: `checkout?order=${t}`, token: t, kind: 'query-segment' })),
  fc
    .tuple(
      tokenArb,
      fc.constantFrom(
        'utm_source',
        'utm_campaign',
        'at_medium',
        'xtor',
        'gclid',
        'fbclid',
        'msclkid',
        'mtm_kwd',
        'pk_campaign',
        '_ga',
      ),
    )
    .map(([t, name]) => ({ text: `${name}=${t}`, token: t, kind: 'campaign' })),
  fc
    .tuple(tokenArb, fc.constantFrom('gclid', 'utm_term'))
    .map(([t, name]) => ({ text: `{"${name}":"${t}"}`, token: t, kind: 'campaign-json' })),
  ipv4Arb.map((ip) => ({ text: ip, token: ip, kind: 'ipv4' })),
  // as reverse-DNS and cloud host names write it
  fc
    .tuple(ipv4Arb, fc.constantFrom(['', '-', '.dsl.example.net'], ['ip-', '-', '.ec2.internal'], ['host_', '_', '']))
    .map(([ip, [before, sep, after]]) => {
      const joined = ip.replace(/\./g, sep);
      return { text: `${before}${joined}${after}`, token: joined, kind: 'ipv4-host' };
    }),
  ipv6Arb.map((ip) => ({ text: ip, token: ip, kind: 'ipv6' })),
  // a URL's host as the numbers browsers read as that address: one decimal, hex, octal parts
  fc
    .tuple(
      ipv4Arb,
      fc.constantFrom('decimal', 'hex', 'octal', 'two-parts'),
      fc.constantFrom('http://', 'https://', 'HTTP://'),
    )
    .map(([ip, form, scheme]) => {
      const o = ip.split('.').map(Number) as [number, number, number, number];
      const n = ((o[0] << 24) >>> 0) + (o[1] << 16) + (o[2] << 8) + o[3];
      const host =
        form === 'decimal'
          ? String(n)
          : form === 'hex'
            ? `0x${n.toString(16)}`
            : form === 'octal'
              ? o.map((x) => `0${x.toString(8)}`).join('.')
              : `${o[0]}.${n & 0xffffff}`;
      return { text: `${scheme}${host}/page`, token: host, kind: 'ipv4-numeric-host' };
    }),
  // issue 18: addresses in host names in any order, 6to4, ip6.arpa, an IPv6 /64
  // (reversed, an address ending in .127 would read as loopback, which stays)
  fc
    .tuple(
      ipv4Arb.filter((ip) => !ip.endsWith('.127')),
      fc.constantFrom(
        'static.{r}.clients.your-server.de',
        'client.{f}',
        'myapp.{f}.nip.io',
        'https://{r}.in-addr.example/x',
        'http://client.{f}/x',
      ),
    )
    .map(([ip, form]) => {
      const reversed = ip.split('.').reverse().join('.');
      return {
        text: form.replace('{r}', reversed).replace('{f}', ip),
        token: form.includes('{r}') ? reversed : ip,
        kind: 'ipv4-in-host',
      };
    }),
  ipv4Arb.map((ip) => {
    const o = ip.split('.').map(Number) as [number, number, number, number];
    const hex = `${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
    return { text: `tunnel 2002:${hex}::`, token: `2002:${hex}`, kind: 'ipv6-6to4' };
  }),
  ipv6Arb.map((ip) => {
    const nibbles = ip
      .split(':')
      .map((g) => g.padStart(4, '0'))
      .join('')
      .split('')
      .reverse()
      .join('.');
    return { text: `${nibbles}.ip6.arpa`, token: nibbles.slice(0, 31), kind: 'ipv6-arpa' };
  }),
  fc
    .array(
      fc.integer({ min: 1, max: 0xffff }).map((n) => n.toString(16)),
      { minLength: 4, maxLength: 4 },
    )
    .map((g) => ({ text: `net ${g.join(':')}::`, token: `${g.join(':')}::`, kind: 'ipv6-64' })),
  // queries whatever their names, bare tokens after ?, path parameters in text
  fc
    .tuple(
      tokenArb,
      fc.constantFrom(
        '/reset?$token={t}',
        'login session:id={t}',
        'calc a+b={t}',
        '/s?{t}',
        'cart;jsessionid={t}',
        'x &sid:{t}',
      ),
    )
    .map(([t, f]) => ({ text: f.replace('{t}', t), token: t, kind: 'query-any-name' })),
  // campaign data as a pair, and (with the escaped-json and entity-quote disguises) as escaped JSON
  fc
    .tuple(tokenArb, fc.constantFrom('gclid', 'utm_source', 'fbclid'))
    .map(([t, n]) => ({ text: `["${n}","${t}"]`, token: t, kind: 'campaign-pair' })),
  // tokens in URL paths: UUIDs, long hex, base64, an e-mail, a click id after a colon
  fc
    .tuple(
      fc.uuid(),
      fc.constantFrom('https://shop.example.org/u/{t}/orders', 'https://shop.example.org/{t}', '/account/{t}/settings'),
    )
    .map(([u, f]) => ({ text: f.replace('{t}', u), token: u, kind: 'url-path-uuid' })),
  fc
    .tuple(
      fc.stringMatching(/^[0-9a-f]{24}$/).filter((h) => /\d/.test(h) && /[a-f]/.test(h)),
      fc.constantFrom('https://shop.example.org/o/{t}', '/orders/{t}/pay', 'https://shop.example.org/track/gclid:{t}'),
    )
    .map(([h, f]) => ({ text: f.replace('{t}', h), token: h, kind: 'url-path-hex' })),
);

const pct = (s: string) => encodeURIComponent(s);
/** Ways to write a secret that should not get it past the rules. */
const disguiseArb = fc.constantFrom<[string, (s: string) => string]>(
  ['plain', (s) => s],
  ['percent', pct],
  ['percent-twice', (s) => pct(pct(s))],
  [
    'delimiters-only',
    (s) => s.replace(/@/g, '%40').replace(/\?/g, '%3F').replace(/=/g, '%3D').replace(/#/g, '%23').replace(/;/g, '%3B'),
  ],
  ['fullwidth', (s) => s.replace(/@/g, '＠').replace(/\./g, '．').replace(/\?/g, '？').replace(/=/g, '＝')],
  ['entity', (s) => s.replace(/@/g, '&#64;')],
  ['at-word', (s) => s.replace(/@/g, ' [at] ')],
  // (the dots of an address's domain only: an IP address written 203{dot}0… is no address the rules know)
  ['at-word-other', (s) => s.replace(/@([^@]*)$/, (_, domain: string) => ` <AT> ${domain.replace(/\./g, '{dot}')}`)],
  ['escape', (s) => s.replace(/@/g, '\\u0040')],
  ['hex-escape', (s) => s.replace(/@([^@]*)$/, (_, domain: string) => `\\x40${domain.replace(/\./g, '\\x2e')}`)],
  // spaced or plain words, as people write an address to keep it from robots
  ['at-spaced', (s) => s.replace(/@([^@]*)$/, (_, domain: string) => ` @ ${domain.replace(/\./g, ' . ')}`)],
  ['at-plain-word', (s) => s.replace(/@([^@]*)$/, (_, domain: string) => ` at ${domain.replace(/\./g, ' dot ')}`)],
  [
    'at-word-encoded',
    (s) => s.replace(/@([^@]*)$/, (_, domain: string) => `%20at%20${domain.replace(/\./g, '%20dot%20')}`),
  ],
  ['quoted-local', (s) => s.replace(/([^\s"@/:]+)@/, '"$1"@')],
  ['zero-width', (s) => s.replace(/([@.:])/g, '\u200b$1\u200b')],
  ['upper', (s) => s.toUpperCase()],
  // issue 18: the forms a browser or a page writes that the rules once missed
  ['percent-u', (s) => s.replace(/@/g, '%u0040')],
  ['brace-escape', (s) => s.replace(/@/g, '\\u{40}')],
  ['entity-no-semicolon', (s) => s.replace(/@/g, '&#64')],
  ['entity-hex', (s) => s.replace(/@/g, '&#x40;')],
  ['entity-named', (s) => s.replace(/@/g, '&commat;')],
  ['octal-escape', (s) => s.replace(/@/g, '\\100')],
  ['css-escape', (s) => s.replace(/@/g, '\\40 ')],
  ['percent-zero-width', (s) => s.replace(/@/g, '%E2%80%8B@%E2%80%8B')],
  ['line-break', (s) => s.replace(/@/g, '\n@\r\n')],
  ['soft-hyphen-bidi', (s) => s.replace(/([@.=?])/g, '\u00ad$1\u200e')],
  ['escaped-json', (s) => s.replace(/"/g, '\\"')],
  ['entity-quote', (s) => s.replace(/"/g, '&quot;')],
  ['percent-letters', (s) => s.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`)],
  ['nested', (s) => pct(s.replace(/@/g, '&#64;'))],
);

/** A string embedding one disguised secret in some innocent text. */
export const hostileStringArb: fc.Arbitrary<{ value: string; secret: Secret; disguise: string }> = fc
  .tuple(
    secretArb,
    disguiseArb,
    fc.constantFrom('', 'home ', 'see: ', 'Page – ', '/x/'),
    fc.constantFrom('', ' now', '/next', '" ok'),
  )
  .map(([secret, [disguise, f], before, after]) => ({ value: `${before}${f(secret.text)}${after}`, secret, disguise }));

export interface HostileValue {
  value: unknown;
  secrets: Secret[];
}

/** Nested values (depth ≤ 3 under a property, as the edge allows) holding secrets and user_* keys. */
export const hostileValueArb: fc.Arbitrary<HostileValue> = fc.letrec<{ v: HostileValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileStringArb.map((h) => ({ value: h.value, secrets: [h.secret] })),
    fc
      .oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('home', 'news', '8.0.0.0', 'Not:A-Brand'))
      .map((value) => ({ value, secrets: [] })),
    fc
      .array(tie('v'), { maxLength: 3 })
      .map((items) => ({ value: items.map((i) => i.value), secrets: items.flatMap((i) => i.secrets) })),
    fc
      .tuple(
        fc.constantFrom('user_id', 'User_Email', 'USER_CATEGORY', 'href', 'ip', 'email', 'brand', 'version'),
        tie('v'),
        tokenArb,
      )
      .map(([k, inner, t]) => {
        // a user_* key's own value is a secret too, whatever it is
        const isUser = k.toLowerCase().startsWith('user_');
        return {
          value: { [k]: isUser ? `${t}` : inner.value },
          secrets: isUser ? [...inner.secrets, { text: t, token: t, kind: 'user-key' }] : inner.secrets,
        };
      }),
  ),
})).v;

/** Keeps values within what the edge accepts (3 levels under data). */
export function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const children = Array.isArray(v) ? v : Object.values(v);
  return 1 + Math.max(0, ...children.map(depthOf));
}

/** Every form a token could still be read in: as stored, percent-decoded, NFKC, without invisible characters. */
export function readable(text: string): string {
  let s = text;
  for (let i = 0; i < 3; i++) {
    try {
      s = decodeURIComponent(s);
    } catch {
      s = s.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    }
  }
  return `${text}\n${s
    .normalize('NFKC')
    .replace(/\p{Cf}/gu, '')
    .toLowerCase()}`;
}

/** Keys anywhere in a value. */
export function keysOf(v: unknown): string[] {
  if (v === null || typeof v !== 'object') return [];
  if (Array.isArray(v)) return v.flatMap(keysOf);
  return Object.entries(v).flatMap(([k, w]) => [k, ...keysOf(w)]);
}
