// The referrer-spam list as shipped (src/policy/data/referrer-spam.txt) and its matcher:
// a host or any parent domain of it is listed; a name that merely contains a listed one is not.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  loadReferrerSpamList,
  parseReferrerSpamList,
  REFERRER_SPAM_FILE,
  referrerHost,
} from '../../src/policy/referrer-spam.js';

describe('the shipped referrer-spam list', () => {
  const list = loadReferrerSpamList();

  it('says where it comes from, under which licence and which version, and holds the known spammers', () => {
    const header = readFileSync(REFERRER_SPAM_FILE, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .join('\n');
    expect(header).toMatch(/matomo-org\/referrer-spam-list/);
    expect(header).toMatch(/public domain/i);
    expect(header).toMatch(/Commit: [0-9a-f]{40} \(\d{4}-\d{2}-\d{2}\)/);
    expect(list.version).toMatch(/^commit [0-9a-f]{40} \(\d{4}-\d{2}-\d{2}\)$/);
    expect(list.size).toBeGreaterThan(2000);
    for (const host of ['semalt.com', 'buttons-for-website.com', 'darodar.com', 'qiwi.xyz'])
      expect(list.isSpamHost(host), host).toBe(true);
  });

  it('holds lower-case host names only, one a line', () => {
    const lines = readFileSync(REFERRER_SPAM_FILE, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines.length).toBe(list.size);
    for (const l of lines) expect(l).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/);
  });
});

describe('matching a referrer', () => {
  const list = parseReferrerSpamList('# a test list\nsemalt.com\nspam.example.net\nxn--e1afmkfd.xn--p1ai\n');

  it.each([
    ['https://semalt.com/', true],
    ['https://semalt.com', true],
    ['http://www.semalt.com/page?x=1', true],
    ['https://a.b.c.semalt.com:8080/#f', true],
    ['HTTPS://Semalt.COM./', true],
    ['https://user:pass@semalt.com/', true],
    ['//semalt.com/x', true],
    ['semalt.com/x', true],
    ['https://x.spam.example.net/', true],
    ['https://пример.рф/', true], // the list writes it in its xn-- form
    ['https://%70%72.semalt.com/', true],
    ['https://notsemalt.com/', false],
    ['https://notsemalt.com.example/', false],
    ['https://semalt.com.example/', false],
    ['https://semalt.co/', false],
    ['https://example.net/', false],
    ['https://spam.example.net.evil.org/', false],
    ['https://www.example.org/?ref=semalt.com', false],
    ['https://www.example.org/semalt.com', false],
    ['https://semalt.com@www.example.org/', false],
    ['https://[2001:db8::1]/', false],
    ['', false],
    ['not a url', false],
  ])('%s → %s', (url, spam) => {
    expect(list.isSpamReferrer(url)).toBe(spam);
  });

  it('never calls a host spam unless it or a parent domain is listed (fast-check)', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 1, maxLength: 4 }),
        fc.constantFrom('semalt.com', 'com', 'example', 'semalt'),
        (labels, tail) => {
          const host = [...labels, tail].join('.');
          const listed = host === 'semalt.com' || host.endsWith('.semalt.com');
          expect(list.isSpamReferrer(`https://${host}/p`)).toBe(listed);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reads the host as a browser writes it', () => {
    expect(referrerHost('https://User@Sub.Example.com:8080/p?q#f')).toBe('sub.example.com');
    expect(referrerHost('android-app://com.google.android.gm/')).toBe('com.google.android.gm');
    expect(referrerHost('https:///')).toBeUndefined();
  });
});
