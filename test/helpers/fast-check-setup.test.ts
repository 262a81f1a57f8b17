import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('a failing property test', () => {
  it('names its seed and counterexample path, so FC_SEED and FC_PATH can replay it', () => {
    const failing = () =>
      fc.assert(
        fc.property(fc.integer(), (n) => n < 1000),
        { seed: 42 },
      );
    expect(failing).toThrow(/seed: 42, path: "[\d:]+"/);
  });
});
