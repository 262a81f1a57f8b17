// The audience step on its own: the User-Agent (none is a robot's), the client hints, the
// referrer, and a site that keeps robots. Through HTTP: test/routes/intake.audience.test.ts.
import { describe, expect, it } from 'vitest';
import {
  createAudienceCheck,
  createRobotCheck,
  isRobotUserAgent,
  ROBOT_CHECK,
  ROBOT_VERDICTS_CACHED,
} from '../../src/pipeline/audience.js';
import type { HitEvent } from '../../src/contract/wire.js';
import { parseReferrerSpamList } from '../../src/policy/referrer-spam.js';
import { BROWSER_USER_AGENTS, DESKTOP_CHROME_UA, ROBOT_USER_AGENTS } from '../helpers/user-agents.js';

const check = createAudienceCheck(parseReferrerSpamList('semalt.com\n'));
const page = (data: HitEvent['data'] = {}): HitEvent[] => [{ name: 'page.display', data: { page: 'p', ...data } }];

describe('the robot check', () => {
  it('names the library and its version', () => {
    expect(ROBOT_CHECK).toMatch(/^isbot \d+\.\d+\.\d+$/);
  });

  it.each(ROBOT_USER_AGENTS.map((r) => [r.kind, r.name, r.ua]))('%s: %s is a robot', (_kind, _name, ua) => {
    expect(isRobotUserAgent(ua)).toBe(true);
  });

  it.each(BROWSER_USER_AGENTS.map((b) => [b.name, b.ua]))('%s is a person', (_name, ua) => {
    expect(isRobotUserAgent(ua)).toBe(false);
  });

  it('takes no User-Agent, or a blank one, for a robot', () => {
    for (const ua of [undefined, '', ' ', '\t']) expect(isRobotUserAgent(ua)).toBe(true);
  });

  it('gives the same verdicts with its memory of recent User-Agents, past a flood of distinct ones too', () => {
    const isRobot = createRobotCheck();
    const table = [...ROBOT_USER_AGENTS, ...BROWSER_USER_AGENTS].map((u) => u.ua);
    const flood = Array.from({ length: ROBOT_VERDICTS_CACHED + 10 }, (_, i) =>
      i % 2 ? `${DESKTOP_CHROME_UA} x/${i}` : `bot-${i}`,
    );
    for (const ua of [...table, ...flood, ...table, 'x'.repeat(600), `${'x'.repeat(600)}bot`, undefined, '']) {
      expect(isRobot(ua), String(ua).slice(0, 80)).toBe(isRobotUserAgent(ua));
    }
  });
});

describe('the audience of a hit', () => {
  const person = { userAgent: DESKTOP_CHROME_UA, clientHints: undefined, events: page(), keepRobots: false };

  it('is a person for a browser without spam referrer', () => {
    expect(check(person)).toBe('person');
    expect(check({ ...person, events: page({ previous_url: 'https://www.example.org/' }) })).toBe('person');
  });

  it('is a robot for a headless brand in Sec-CH-UA or in an event’s ch_ua, ch_ua_full_version_list', () => {
    expect(check({ ...person, clientHints: '"HeadlessChrome";v="156", "Chromium";v="156"' })).toBe('robot');
    expect(check({ ...person, clientHints: '"Google Chrome";v="156", "Chromium";v="156"' })).toBe('person');
    expect(check({ ...person, events: page({ ch_ua: [{ brand: 'HeadlessChrome', version: '156' }] }) })).toBe('robot');
    expect(
      check({
        ...person,
        events: page({ ch_ua_full_version_list: [{ brand: 'HeadlessChrome', version: '156.0.1' }] }),
      }),
    ).toBe('robot');
    expect(check({ ...person, events: page({ ch_ua: [{ brand: 'Chromium', version: '156' }] }) })).toBe('person');
    expect(check({ ...person, events: page({ ch_ua: 'HeadlessChrome' }) })).toBe('person'); // not a brand list
  });

  it('is spam when any event’s referrer is listed; a robot stays a robot', () => {
    const events = [...page(), ...page({ previous_url: 'https://www.semalt.com/x' })];
    expect(check({ ...person, events })).toBe('spam');
    expect(check({ ...person, userAgent: 'curl/8.11.1', events })).toBe('robot');
  });

  it('keeps robots for a site that asks (bots: "keep"), never referrer spam', () => {
    expect(check({ ...person, userAgent: undefined, keepRobots: true })).toBe('person');
    expect(check({ ...person, clientHints: '"HeadlessChrome";v="156"', keepRobots: true })).toBe('person');
    expect(
      check({
        ...person,
        userAgent: 'Googlebot/2.1',
        keepRobots: true,
        events: page({ previous_url: 'https://semalt.com/' }),
      }),
    ).toBe('spam');
  });
});
