// Audience means people: before a hit becomes records, tell a person's browser from a
// robot (crawlers, HTTP libraries, headless browsers, monitors) and from referrer spam.
// A robot or spam hit is set apart: the route answers it as any other and only anonymous
// counters move (src/contract/keys.ts setApartCounterKey). The User-Agent is never
// stored nor logged: it is read here and only the verdict leaves (see createRobotCheck).
//
// The robot check is isbot: one regular expression over the User-Agent, built from a
// maintained list of ~200 patterns (single names, and families such as any "...bot"),
// HeadlessChrome and PhantomJS included, compiled once when the module loads. Its
// verdicts are remembered for the User-Agents seen lately: a site's visitors send a few
// thousand distinct strings a day, and the pattern costs microseconds where a Map lookup
// costs nanoseconds. Costs per hit: bench/audience.ts.
import { createRequire } from 'node:module';
import { isbot } from 'isbot';
import type { SetApartReason } from '../contract/keys.js';
import type { PropertyValue } from '../contract/record.js';
import type { ReferrerSpamList } from '../policy/referrer-spam.js';
import type { HitEvent } from '../contract/wire.js';
import { BoundedCache } from '../bounded-cache.js';

export type Audience = 'person' | SetApartReason;

export interface AudienceInput {
  /** The visitor's browser: Matomo's `ua` when a server-side tracker forwards it, else the request's header. */
  userAgent: string | undefined;
  /** The request's `Sec-CH-UA` header (brands), when the browser sends one. */
  clientHints: string | undefined;
  /** Their referrers (`previous_url`) and client hints (`ch_ua`, `ch_ua_full_version_list`) are read. */
  events: readonly HitEvent[];
  /** The site keeps robots (`bots: "keep"`): only referrer spam is set apart. */
  keepRobots: boolean;
}

/** The robot check's library and version, for /privacy. */
const isbotPackage = createRequire(import.meta.url)('isbot/package.json') as { version: string };
export const ROBOT_CHECK = `isbot ${isbotPackage.version}`;

/** A brand only a headless browser announces (`"HeadlessChrome";v="131"`). */
const HEADLESS_BRAND = /headless/i;

/**
 * A User-Agent that is a robot's. No User-Agent at all is a robot's too: every browser
 * sends one on every request, while curl, scripts and HTTP libraries can send none.
 */
export function isRobotUserAgent(userAgent: string | undefined): boolean {
  if (userAgent === undefined || userAgent.trim() === '') return true;
  return isbot(userAgent);
}

/** Most User-Agents whose verdict is remembered (the cache starts over when full). */
export const ROBOT_VERDICTS_CACHED = 4096;
/** Longer strings are checked every time (a real browser's is ~100-200 characters). */
const CACHED_UA_MAX_LENGTH = 512;

/**
 * isRobotUserAgent with a bounded memory of recent verdicts. The strings live in this
 * process's memory only, like the request's own headers: never written, never logged;
 * a flood of distinct strings only makes the cache start over.
 */
export function createRobotCheck(): (userAgent: string | undefined) => boolean {
  const verdicts = new BoundedCache<string, boolean>(ROBOT_VERDICTS_CACHED);
  return (userAgent) => {
    if (userAgent === undefined || userAgent.length > CACHED_UA_MAX_LENGTH) return isRobotUserAgent(userAgent);
    return verdicts.getOrCompute(userAgent, isRobotUserAgent);
  };
}

/** A brand list as the SDK and the Matomo adapter carry it: `[{ brand, version }]`. */
function hasHeadlessBrand(brands: PropertyValue | undefined): boolean {
  if (!Array.isArray(brands)) return false;
  for (const b of brands) {
    if (b === null || typeof b !== 'object' || Array.isArray(b)) continue;
    if (typeof b.brand === 'string' && HEADLESS_BRAND.test(b.brand)) return true;
  }
  return false;
}

export function createAudienceCheck(spam: ReferrerSpamList): (input: AudienceInput) => Audience {
  const isRobot = createRobotCheck();
  return (input) => {
    if (!input.keepRobots) {
      if (isRobot(input.userAgent)) return 'robot';
      if (input.clientHints !== undefined && HEADLESS_BRAND.test(input.clientHints)) return 'robot';
      for (const e of input.events) {
        if (hasHeadlessBrand(e.data?.ch_ua) || hasHeadlessBrand(e.data?.ch_ua_full_version_list)) return 'robot';
      }
    }
    for (const e of input.events) {
      const referrer = e.data?.previous_url;
      if (typeof referrer === 'string' && referrer !== '' && spam.isSpamReferrer(referrer)) return 'spam';
    }
    return 'person';
  };
}
