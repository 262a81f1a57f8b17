// The canonical reading: a kept string as a browser or a person reads it. Every rule
// looks at this reading only, and what is stored is built from it, so a delimiter or an
// address cannot hide behind an encoding that one rule decodes and another does not.
//
//   percent-encoding   `%40`, `%2540` (to a fixed point), `%u0040`; UTF-8 runs as text
//   HTML entities      `&#64;`, `&#64`, `&#x40;`, `&commat;`, `&quot;`, with or without `;`
//   JS/CSS escapes     `\u0040`, `\u{40}`, `\x40`, `\100` (octal), `\40 ` (CSS), `\"`
//   NFKC               look-alikes (`＠`, `２０３`) become what they look like
//   invisible          format and control characters, default-ignorables (zero-width
//                      space, soft hyphen, bidi marks, variation selectors) are removed
//   whitespace         every run of spaces, tabs and line breaks becomes one space
//
// Decoding repeats until nothing changes; a string still changing after MAX_ROUNDS (or
// growing past what NFKC can explain) is no measurement value: undefined, dropped.

/** Rounds of decoding: `%25` nested deeper than this is refused, not read further. */
const MAX_ROUNDS = 8;

/** Nothing to decode: printable ASCII without `%`, `&`, `\` and without a double space. */
const ALREADY_READ = /^(?:[\x21-\x24\x27-\x5b\x5d-\x7e]| (?! ))*$/;

const NEEDS_DECODING = /[%&\\]/;
const PERCENT_U = /%u([0-9a-fA-F]{4})/g;
const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodePercent(s: string): string {
  if (!s.includes('%')) return s;
  return s
    .replace(PERCENT_U, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(PERCENT_RUN, (run) => {
      const bytes = new Uint8Array(run.length / 3);
      for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(i * 3 + 1, i * 3 + 3), 16);
      try {
        return utf8.decode(bytes);
      } catch {
        // not UTF-8 (`%E0%A4%40`): the ASCII bytes are read (an `@` stays an `@`), the others left as sent
        let out = '';
        for (let i = 0; i < bytes.length; i++)
          out += bytes[i]! < 0x80 ? String.fromCharCode(bytes[i]!) : run.slice(i * 3, i * 3 + 3);
        return out;
      }
    });
}

/** Named entities that can spell a delimiter or an address (and the everyday ones). */
const NAMED_ENTITIES: Readonly<Record<string, string>> = Object.freeze({
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  commat: '@',
  period: '.',
  fullstop: '.',
  sol: '/',
  bsol: '\\',
  quest: '?',
  num: '#',
  equals: '=',
  colon: ':',
  semi: ';',
  percnt: '%',
  plus: '+',
  lowbar: '_',
  hyphen: '-',
  dash: '-',
  comma: ',',
  excl: '!',
  dollar: '$',
  ast: '*',
  lsqb: '[',
  rsqb: ']',
  lbrack: '[',
  rbrack: ']',
  lpar: '(',
  rpar: ')',
  lcub: '{',
  rcub: '}',
  lbrace: '{',
  rbrace: '}',
  grave: '`',
  Tab: ' ',
  NewLine: ' ',
  shy: '',
  zwsp: '',
  ZeroWidthSpace: '',
  zwj: '',
  zwnj: '',
  lrm: '',
  rlm: '',
});
// a numeric entity ends where its digits do (`&#64example`, as browsers read it); without
// `;`, a named one counts only when no letter, digit or `=` follows (as `&quot`)
const ENTITY = /&(?:#(\d{1,7});?|#[xX]([0-9a-fA-F]{1,6});?|([A-Za-z]{2,14})(?:;|(?![A-Za-z0-9=])))/g;

const fromCodePoint = (n: number): string =>
  n > 0 && n <= 0x10ffff && (n < 0xd800 || n > 0xdfff) ? String.fromCodePoint(n) : '';

function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (whole, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (dec !== undefined) return fromCodePoint(Number(dec));
    if (hex !== undefined) return fromCodePoint(parseInt(hex, 16));
    return Object.hasOwn(NAMED_ENTITIES, name!) ? NAMED_ENTITIES[name!]! : whole;
  });
}

// `\u{40}`, `\u0040`, `\x40`, `\100` (JS octal), `\40 ` (CSS: hex then one space, or a hex
// escape standing for ASCII punctuation), `\n` `\t` `\r` (whitespace), `\"` `\/` `\@` (the
// character itself)
const ESCAPE =
  /\\(?:u\{([0-9a-fA-F]{1,6})\}|u([0-9a-fA-F]{4})|x([0-9a-fA-F]{2})|([0-3][0-7]{2})|([0-9a-fA-F]{1,6})(\s?)|([ntrfv])|([^\sA-Za-z0-9]))/g;

function decodeEscapes(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(
    ESCAPE,
    (
      whole,
      brace?: string,
      u4?: string,
      x2?: string,
      oct?: string,
      css?: string,
      cssEnd?: string,
      ws?: string,
      lit?: string,
    ) => {
      if (brace !== undefined) return fromCodePoint(parseInt(brace, 16));
      if (u4 !== undefined) return String.fromCharCode(parseInt(u4, 16));
      if (x2 !== undefined) return String.fromCharCode(parseInt(x2, 16));
      if (oct !== undefined) return String.fromCharCode(parseInt(oct, 8));
      if (css !== undefined) {
        const c = parseInt(css, 16);
        // (a Windows path's `\abc` stays: only an explicit CSS escape or hidden punctuation counts)
        return cssEnd !== '' || (c > 0x20 && c < 0x7f && /[^A-Za-z0-9]/.test(String.fromCharCode(c)))
          ? fromCodePoint(c)
          : whole;
      }
      if (ws !== undefined) return ' ';
      return lit ?? whole;
    },
  );
}

const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Cc}]/gu;
const WHITESPACE = /[\s\x1c-\x1f\x85]+/g;

function oneRound(s: string): string {
  const decoded = decodeEscapes(decodeEntities(decodePercent(s)));
  // whitespace first (a line break is a space, not an invisible character), then invisibles,
  // then NFKC (which may make spaces of its own: U+2003, NBSP)
  return decoded.replace(WHITESPACE, ' ').replace(INVISIBLE, '').normalize('NFKC').replace(WHITESPACE, ' ');
}

/** The canonical reading of `text`; undefined when it cannot be read (nested too deep). */
export function canonicalReading(text: string): string | undefined {
  if (ALREADY_READ.test(text)) return text;
  // nothing to decode (only letters beyond ASCII, as `Économie – société`): one round reads it
  if (!NEEDS_DECODING.test(text)) {
    const once = oneRound(text);
    if (!NEEDS_DECODING.test(once) && !once.includes('  ')) return once;
  }
  let s = text;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const next = oneRound(s);
    if (next === s) return s;
    // NFKC expands one character to 18 at most (U+FDFA)
    if (next.length > text.length * 18) return undefined;
    s = next;
  }
  return undefined;
}
