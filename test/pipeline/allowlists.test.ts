import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALWAYS_ALLOWED_PREFIXES, ALWAYS_ALLOWED_PROPERTIES, EXEMPT_EVENTS, EXEMPT_PROPERTIES, URL_PROPERTIES } from '../../src/pipeline/allowlists.js';

const sdk = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../fixtures/sdk/sdk-exempt-allowlist.json'), 'utf8'));

describe('allowlists', () => {
  it("hold Piano's 93 exempt properties, exactly the SDK's own list", () => {
    expect(EXEMPT_PROPERTIES.length).toBe(93);
    expect([...EXEMPT_PROPERTIES].sort()).toEqual([...sdk.properties].sort());
  });

  it("hold Piano's 5 exempt events, exactly the SDK's own list", () => {
    expect([...EXEMPT_EVENTS].sort()).toEqual([...sdk.events].sort());
  });

  it('hold the always-allowed set plus event_name', () => {
    const always = [...ALWAYS_ALLOWED_PROPERTIES, ...ALWAYS_ALLOWED_PREFIXES.map((p) => `${p}*`)];
    expect(always.filter((n) => n !== 'event_name').sort()).toEqual([...sdk.alwaysAllowedProperties].sort());
    expect(always).toContain('event_name');
  });

  it('strip queries only from allowlisted URL properties, and never allow user_*', () => {
    for (const u of URL_PROPERTIES) expect(EXEMPT_PROPERTIES).toContain(u);
    expect(EXEMPT_PROPERTIES.some((p) => p.startsWith('user_'))).toBe(false);
  });
});
