import { describe, expect, it } from 'vitest';
import { BoundedCache } from '../src/bounded-cache.js';

describe('BoundedCache', () => {
  it('computes a key once, undefined included, and never holds more than its size', () => {
    const cache = new BoundedCache<string, string | undefined>(3);
    const computed: string[] = [];
    const compute = (k: string) => (computed.push(k), k === 'none' ? undefined : k.toUpperCase());
    expect(cache.getOrCompute('a', compute)).toBe('A');
    expect(cache.getOrCompute('a', compute)).toBe('A');
    expect(cache.getOrCompute('none', compute)).toBeUndefined();
    expect(cache.getOrCompute('none', compute)).toBeUndefined();
    expect(computed).toEqual(['a', 'none']);
    for (const k of ['b', 'c', 'd', 'e']) cache.getOrCompute(k, compute);
    expect(cache.size).toBeLessThanOrEqual(3);
    expect(cache.getOrCompute('e', compute)).toBe('E');
    expect(computed.filter((k) => k === 'e')).toHaveLength(1);
  });
});
