// What every rule shares: how a rule declares itself, what it counts, and the bounds
// that keep the work a hostile string can cause linear.
import { EXEMPT_VALUE_RULES } from './rules.js';

export type ExemptRule = keyof typeof EXEMPT_VALUE_RULES;

/** How many values each rule changed or dropped in one hit. */
export type RuleCounts = Record<ExemptRule, number>;
export const noRuleCounts = (): RuleCounts => ({
  shape: 0,
  reading: 0,
  url: 0,
  query: 0,
  campaign: 0,
  email: 0,
  ip: 0,
  day: 0,
});

/** What is dropped instead of kept. */
export const DROP = Symbol('drop');

/**
 * A string holding more addresses than this (or more look-alikes to examine: `@` signs,
 * colon groups) is no measurement value: it is dropped whole, counted under the rule
 * that found them. This also bounds the work a hostile string can cause.
 */
export const MAX_FINDINGS = 32;
export const MAX_CANDIDATES = 256;

/**
 * One content rule over the canonical reading. `needs` is compiled once: a reading it
 * does not match cannot be changed by `apply` (the pre-check is a necessary condition,
 * never a guess, and a test runs every rule without it on generated input).
 * `apply` returns the rebuilt text, or undefined when the string must be dropped.
 */
export interface TextRule {
  readonly name: ExemptRule;
  readonly needs: RegExp;
  apply(reading: string): string | undefined;
}

/** Replaces every match `keep` refuses; undefined past MAX_FINDINGS replacements. */
export function replaceFindings(
  text: string,
  re: RegExp,
  marker: string,
  keep: (m: RegExpExecArray) => boolean,
): string | undefined {
  let out = '';
  let copied = 0;
  let found = 0;
  let seen = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (++seen > MAX_CANDIDATES) return undefined;
    if (keep(m)) continue;
    if (++found > MAX_FINDINGS) return undefined;
    out += text.slice(copied, m.index) + marker;
    copied = m.index + m[0].length;
  }
  return found === 0 ? text : out + text.slice(copied);
}
