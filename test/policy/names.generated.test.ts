// The sites-file name check (src/policy/names.ts) on generated spellings: a user id, an
// e-mail address, a campaign parameter or a click id, written with any tracker prefix,
// any of the separators people use, in lower, upper, camel or Pascal case, is refused; a
// server-owned field is never allowed either. Ordinary names, spelled the same ways, pass.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowlistRefusal } from '../../src/policy/names.js';

const FORBIDDEN: readonly (readonly string[])[] = [
  ['user', 'id'],
  ['user', 'name'],
  ['customer', 'id'],
  ['visitor', 'id'],
  ['e', 'mail'],
  ['email'],
  ['email', 'address'],
  ['contact', 'email'],
  ['utm', 'source'],
  ['utm', 'campaign'],
  ['gclid'],
  ['fbclid'],
  ['msclkid'],
  ['pk', 'campaign'],
  ['mtm', 'kwd'],
  ['xtor'],
];
const ORDINARY: readonly (readonly string[])[] = [
  ['article', 'type'],
  ['page', 'template'],
  ['plan'],
  ['author'],
  ['site', 'section'],
  ['event', 'category'],
];
// the trackers' own prefixes (Plausible's props; Matomo's custom variables are cvar_<scope>_<i>,
// whose name/value pair the value rules read)
const prefix = fc.constantFrom('', '', 'plausible_prop_', 'cvar_visit_', 'cvar_page_', 'cvar_event_');
const casing = fc.constantFrom('lower', 'upper', 'camel', 'pascal');
const separator = fc.constantFrom('_', '-', '.', '');

function spell(words: readonly string[], how: string, sep: string): string {
  const cap = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);
  switch (how) {
    case 'upper':
      return words.map((w) => w.toUpperCase()).join(sep || '_');
    case 'camel':
      return words.map((w, i) => (i === 0 ? w : cap(w))).join(sep);
    case 'pascal':
      return words.map(cap).join(sep);
    default:
      return words.join(sep || '_');
  }
}

describe('allowlistRefusal on generated spellings', () => {
  it('refuses a user id, an e-mail address, a campaign parameter or a click id however it is spelled', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FORBIDDEN), prefix, casing, separator, (words, p, how, sep) => {
        const name = p + spell(words, how, sep);
        expect(allowlistRefusal(name), name).toBeDefined();
      }),
      { numRuns: 2000 },
    );
  });

  it('lets ordinary names through, spelled the same ways', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ORDINARY), prefix, casing, separator, (words, p, how, sep) => {
        const name = p + spell(words, how, sep);
        expect(allowlistRefusal(name), name).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });
});
