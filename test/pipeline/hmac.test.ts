import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHmacSha256 } from '../../src/pipeline/hmac.js';

describe('createHmacSha256', () => {
  it('equals node:crypto HMAC-SHA256 for any key and text', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.string({ unit: 'binary', maxLength: 3000 }),
        (key, text) => {
          const secret = Buffer.from(key);
          expect(
            createHmacSha256(secret)(text).equals(createHmac('sha256', secret).update(text, 'utf8').digest()),
          ).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays correct when reused, across short, long and multi-byte inputs', () => {
    const secret = randomBytes(48);
    const mac = createHmacSha256(secret);
    for (const text of ['', 'a', 'é'.repeat(5000), 'x'.repeat(70_000), '😀 site:id', 'short again']) {
      expect(mac(text).toString('hex')).toBe(createHmac('sha256', secret).update(text).digest('hex'));
    }
  });
});
