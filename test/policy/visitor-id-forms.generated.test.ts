// The id as a person holds it, on generated input: every way a Matomo _pk_id value can be
// pasted (any case, older forms, the cookie's name, whitespace and line breaks) reads as
// the lower-case id the collector pseudonymised; and whatever is sent (nested encodings,
// JSON that is not a cookie, control characters, oversized text) the reading never
// throws and never yields an id with a control character or longer than the bound.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { visitorIdsHeldAs } from '../../src/policy/visitor-id-forms.js';

const hexId = fc.stringMatching(/^[0-9a-f]{16}$/);
const anyCase = (s: string, mask: number) =>
  [...s].map((c, i) => ((mask >> (i % 16)) & 1 ? c.toUpperCase() : c)).join('');
const space = fc.constantFrom('', ' ', '\t', '\n', '\r\n', '  ');

describe('visitorIdsHeldAs on generated input', () => {
  it("reads every pasted form of a Matomo _pk_id value as the collector's lower-case id", () => {
    const form = fc.constantFrom(
      (id: string) => `${id}.1764000000.`,
      (id: string) => `${id}.1764000000`,
      (id: string) => `${id}.1600000000.42.1700000000.1690000000.`,
      (id: string) => `_pk_id.3.1fff=${id}.1764000000.`,
      (id: string) => `_pk_id=${id}.1764000000.`,
      (id: string) => id,
    );
    fc.assert(
      fc.property(hexId, fc.nat(0xffff), form, space, space, (id, mask, f, before, after) => {
        const held = visitorIdsHeldAs(before + f(anyCase(id, mask)) + after);
        expect('ids' in held && held.ids).toContain(id);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws, never echoes the value in a refusal, and never yields an id with a control character or over 256 characters', () => {
    const encodeTimes = (s: string, n: number) => {
      let out = s;
      for (let i = 0; i < n; i++) out = encodeURIComponent(out);
      return out;
    };
    const hostile = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.tuple(fc.json(), fc.integer({ min: 0, max: 3 })).map(([j, n]) => encodeTimes(j, n)),
      fc.string({ maxLength: 80 }).map((s) => `{"browserId":${JSON.stringify(s)}}`),
      fc.string({ maxLength: 80 }).map((s) => encodeURIComponent(`{"browserId":${JSON.stringify(s)}}`)),
      fc.string({ maxLength: 80 }).map((s) => `"${s}"`),
      fc.integer({ min: 200, max: 3000 }).map((n) => 'a'.repeat(n)),
      fc.constantFrom('%7b', '%22', '{', '"', '_pcid=', '_pk_id=', 'pa_vid= ', '%7B%22browserId%22%3A%0A%7D'),
    );
    fc.assert(
      fc.property(hostile, (value) => {
        const held = visitorIdsHeldAs(value);
        if ('problem' in held) {
          // a refusal says what is wrong, never the value back (it may be someone's id)
          if (value.trim().length > 3) expect(held.problem).not.toContain(value.trim());
          return;
        }
        for (const id of held.ids) {
          expect(id.length).toBeGreaterThan(0);
          expect(id.length).toBeLessThanOrEqual(256);
          expect(id).not.toMatch(/[\u0000-\u001f\u007f]/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
