// Where records and counters live in Redis, as consumers find them (src/contract/keys.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fnv1a, optoutCounterKey, shardKey, streamKeys } from '../../src/contract/keys.js';

describe('fnv1a', () => {
  it('is FNV-1a 32 bits (reference vectors), unsigned', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
    fc.assert(fc.property(fc.string(), (s) => Number.isInteger(fnv1a(s)) && fnv1a(s) >= 0 && fnv1a(s) < 2 ** 32));
  });
});

describe('streamKeys', () => {
  it('is the base key alone with one shard (or none asked)', () => {
    expect(streamKeys('hits', 1)).toEqual(['hits']);
    expect(streamKeys('hits', 0)).toEqual(['hits']);
  });

  it('hash-tags each shard so that it lives in one Redis Cluster slot', () => {
    expect(streamKeys('hits', 3)).toEqual(['hits:{0}', 'hits:{1}', 'hits:{2}']);
  });
});

describe('shardKey', () => {
  const keys = streamKeys('hits', 4);

  it('is the only stream when there is one', () => {
    expect(shardKey(['hits'], 'k1.someone', 'id.0')).toBe('hits');
    expect(shardKey(['hits'], undefined, 'id.0')).toBe('hits');
  });

  it('keeps a visitor on one shard, whatever the record (its events stay in order)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string(), fc.string(), (visitor, id1, id2) => {
        expect(shardKey(keys, visitor, id1)).toBe(shardKey(keys, visitor, id2));
        expect(keys).toContain(shardKey(keys, visitor, id1));
      }),
    );
    expect(shardKey(keys, 'k1.abc', 'x.0')).toBe(keys[fnv1a('k1.abc') % 4]);
  });

  it('spreads records without a visitor by their id', () => {
    expect(shardKey(keys, undefined, 'rec.0')).toBe(keys[fnv1a('rec.0') % 4]);
    const used = new Set(Array.from({ length: 200 }, (_, i) => shardKey(keys, undefined, `rec${i}.0`)));
    expect(used.size).toBe(4);
  });
});

describe('optoutCounterKey', () => {
  it('is one hash per site and UTC hour, hash-tagged by site', () => {
    expect(optoutCounterKey('123456', Date.parse('2026-11-29T14:59:59.999Z'))).toBe('optout:{123456}:2026-11-29T14');
    expect(optoutCounterKey('123456', Date.parse('2026-11-29T15:00:00.000Z'))).toBe('optout:{123456}:2026-11-29T15');
    // whatever the local time zone: UTC
    expect(optoutCounterKey('s', Date.parse('2026-12-31T23:30:00-02:00'))).toBe('optout:{s}:2027-01-01T01');
  });
});
