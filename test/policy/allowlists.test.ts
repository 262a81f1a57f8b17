import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALWAYS_ALLOWED_PROPERTIES,
  CLIENT_HINT_PROPERTIES,
  EXEMPT_EVENTS,
  EXEMPT_PROPERTIES,
  URL_PROPERTIES,
} from '../../src/policy/allowlists.js';

const sdk = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, '../fixtures/sdk/sdk-exempt-allowlist.json'), 'utf8'),
);

describe('allowlists', () => {
  it("hold Piano's 93 exempt properties, exactly the SDK's own list", () => {
    expect(EXEMPT_PROPERTIES.length).toBe(93);
    expect([...EXEMPT_PROPERTIES].sort()).toEqual([...sdk.properties].sort());
  });

  it("hold Piano's 5 exempt events, exactly the SDK's own list", () => {
    expect([...EXEMPT_EVENTS].sort()).toEqual([...sdk.events].sort());
  });

  it('hold the always-allowed set plus event_name, with the client hints by their exact names', () => {
    const always = ALWAYS_ALLOWED_PROPERTIES.filter((n) => !CLIENT_HINT_PROPERTIES.includes(n));
    expect([...always, 'ch_ua*'].filter((n) => n !== 'event_name').sort()).toEqual(
      [...sdk.alwaysAllowedProperties].sort(),
    );
    expect(always).toContain('event_name');
  });

  it('name the client hints the SDK sends, every one of them and nothing else', () => {
    const bundle = readFileSync(
      path.resolve(import.meta.dirname, '../../node_modules/piano-analytics-js/dist/browser/piano-analytics.esm.js'),
      'utf8',
    );
    const sent = new Set(bundle.match(/\bch_ua[a-z_]*/g)?.filter((n) => !n.endsWith('_')));
    expect([...CLIENT_HINT_PROPERTIES].sort()).toEqual([...sent].sort());
  });

  it('strip queries only from allowlisted URL properties, and never allow user_*', () => {
    for (const u of URL_PROPERTIES) expect(EXEMPT_PROPERTIES).toContain(u);
    expect(EXEMPT_PROPERTIES.some((p) => p.startsWith('user_'))).toBe(false);
  });
});
