// email: addresses in the reading become "[email]". The reading has decoded every
// encoding already (`%40`, `&#64`, `\u{40}`, `＠`), so `@` is `@` here; what is left are
// the ways people write an address to keep it from robots: bracketed words (`[at]`,
// `{dot}`), and spaced or plain words before a dotted domain (`alice @ example . com`,
// `alice at example dot com`).
import { REDACTION_MARKERS } from '../allowlists.js';
import { MAX_CANDIDATES, MAX_FINDINGS, type TextRule } from './common.js';

const SP = '[ \\t]';
const AT =
  `(?:@${SP}{1,3}|@|${SP}{0,3}[\\[({<][aA][tT][\\])}>]${SP}{0,3}|` +
  `${SP}{1,3}@${SP}{0,3}|${SP}{1,3}[aA][tT]${SP}{1,3})`;
const DOT =
  `(?:\\.|${SP}{0,3}[\\[({<][dD][oO][tT][\\])}>]${SP}{0,3}|` +
  `${SP}{1,3}\\.${SP}{1,3}|${SP}{1,3}[dD][oO][tT]${SP}{1,3})`;

// Found from each `@` (in any of its forms), walking left over the local part and
// matching the domain to the right: linear in the length of the string, whatever it
// holds (a regex looking for a local part from every position takes milliseconds on
// 8 KB of `a`). Letters of any script and combining marks count.
const LOCAL_ASCII = new Uint8Array(128);
// (RFC 5322 allows `/=&#*^{|}~` too; addresses never use them, and URLs and queries
// around an address do: counting them would swallow the path before an `@`)
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-'!")
  LOCAL_ASCII[c.charCodeAt(0)] = 1;
const LOCAL_OTHER = /^[\p{L}\p{N}\p{M}]$/u;
/** An address's local part is at most 64 octets: a longer run is cut here and its tail redacted. */
const LOCAL_WALK_MAX = 256;
const LABEL = '[\\p{L}\\p{N}\\p{M}_\\-]{1,63}';
const AT_SIGN = new RegExp(AT, 'gu');
const DOMAIN = new RegExp(`${LABEL}(?:${DOT}${LABEL}){0,8}`, 'uy');
const SPACES = /[ \t]/g;
const isWeakAt = (sign: string) => {
  const core = sign.replace(SPACES, '');
  return core.length !== sign.length && /^(?:@|at)$/i.test(core);
};
const HAS_DOT = new RegExp(DOT, 'u');
/** The domain of a weak form: a dot, and a last label of letters (`example dot com`, not `5 pm`). */
const DOTTED_DOMAIN_END = /\p{L}{2,}$/u;

/** The start of the local part ending at `end`, not going below `floor`. */
function localPartStart(text: string, end: number, floor: number): number {
  // a quoted local part (`"alice"@example.com`, RFC 5322): the whole quoted string
  if (text.charCodeAt(end - 1) === 34 /* " */) {
    const low = Math.max(floor, end - 66);
    let open = end - 2;
    while (open >= low && text.charCodeAt(open) !== 34) open--;
    return open >= low && open < end - 2 ? open : end;
  }
  const stop = Math.max(floor, end - LOCAL_WALK_MAX);
  let i = end;
  while (i > stop) {
    const c = text.charCodeAt(i - 1);
    if (c < 128) {
      if (LOCAL_ASCII[c] !== 1) break;
      i--;
      continue;
    }
    const pair = c >= 0xdc00 && c <= 0xdfff && i - 2 >= stop ? 2 : 1;
    if (!LOCAL_OTHER.test(text.slice(i - pair, i))) break;
    i -= pair;
  }
  return i;
}

/** `alice@example.com` (and its worded forms) → "[email]"; undefined: too many. */
export function redactEmails(text: string): string | undefined {
  let out = '';
  let copied = 0; // text before this is in `out` already
  let floor = 0; // no local part reaches below the end of the previous `@`
  let found = 0;
  let seen = 0;
  AT_SIGN.lastIndex = 0;
  for (let at = AT_SIGN.exec(text); at; at = AT_SIGN.exec(text)) {
    if (++seen > MAX_CANDIDATES) return undefined;
    const afterAt = at.index + at[0].length;
    const start = localPartStart(text, at.index, Math.max(floor, copied));
    floor = afterAt;
    if (start === at.index) continue;
    DOMAIN.lastIndex = afterAt;
    if (!DOMAIN.test(text)) continue;
    if (isWeakAt(at[0])) {
      const domain = text.slice(afterAt, DOMAIN.lastIndex);
      if (!HAS_DOT.test(domain) || !DOTTED_DOMAIN_END.test(domain)) continue;
    }
    if (++found > MAX_FINDINGS) return undefined;
    out += text.slice(copied, start) + REDACTION_MARKERS.email;
    copied = DOMAIN.lastIndex;
    AT_SIGN.lastIndex = copied;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** An `@`, a bracketed `at`, or the word `at` between spaces. */
export const emailRule: TextRule = { name: 'email', needs: /@|[[({<]at[\])}>]|[ \t]at[ \t]/i, apply: redactEmails };
