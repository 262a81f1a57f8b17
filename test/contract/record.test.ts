// Record schema v1 as consumers read it from the stream (src/contract/record.ts).
import { describe, expect, it } from 'vitest';
import {
  decodeRecord,
  decodeTombstone,
  entryField,
  RECORD_VERSION,
  type HitRecord,
  tombstoneFields,
} from '../../src/contract/record.js';

const record: HitRecord = {
  id: 'q5ggfUEeNuGdksSRQ6P59g.0',
  site: '123456',
  event: 'page.display',
  mode: 'exempt',
  ts: 1764428400123,
  visitor: 'k1.g_gL3Fc49mFmIYWodAzG7w',
  geo: { country: 'FR', city: 'Paris' },
  props: { page: 'home' },
};

describe('entryField', () => {
  it('reads a field of XRANGE/XREADGROUP’s flat [name, value, ...] list by name', () => {
    const fields = ['v', '1', 'hit', '{"a":1}'];
    expect(entryField(fields, 'v')).toBe('1');
    expect(entryField(fields, 'hit')).toBe('{"a":1}');
    expect(entryField(fields, 'tombstone')).toBeUndefined();
  });

  it('reads names only at even positions, and nothing from a dangling name or no list', () => {
    expect(entryField(['x', 'hit', 'hit', 'value'], 'hit')).toBe('value'); // 'hit' as a value is not a name
    expect(entryField(['v', '1', 'hit'], 'hit')).toBeUndefined();
    expect(entryField(null, 'hit')).toBeUndefined();
    expect(entryField(undefined, 'hit')).toBeUndefined();
    expect(entryField([], 'hit')).toBeUndefined();
  });
});

describe('decodeRecord', () => {
  it('decodes the record of an entry written as the sink writes it', () => {
    expect(decodeRecord(['v', String(RECORD_VERSION), 'hit', JSON.stringify(record)])).toEqual(record);
  });

  it('gives undefined for an entry that holds no record, or not the JSON of one', () => {
    for (const fields of [
      null,
      ['v', '1'],
      ['v', '1', 'hit', '{not json'],
      ['v', '1', 'hit', 'null'],
      ['v', '1', 'hit', '"a string"'],
      ['v', '1', 'hit', JSON.stringify({ ...record, id: 1 })],
      ['v', '1', 'hit', JSON.stringify({ ...record, site: undefined })],
      ['v', '1', 'hit', JSON.stringify({ ...record, ts: '1764428400123' })],
      ['v', '1', 'tombstone', JSON.stringify(record)],
    ]) {
      expect(decodeRecord(fields), JSON.stringify(fields)).toBeUndefined();
    }
  });
});

describe('tombstones', () => {
  const t = { site: '123456', visitor: 'k1.g_gL3Fc49mFmIYWodAzG7w', ts: 1764428400123 };

  it('are written as v and tombstone fields, and read back', () => {
    const fields = tombstoneFields(t);
    expect(fields).toEqual(['v', '1', 'tombstone', JSON.stringify(t)]);
    expect(decodeTombstone(fields)).toEqual(t);
  });

  it('are not read from a record entry, broken JSON or a wrong shape', () => {
    expect(decodeTombstone(['v', '1', 'hit', JSON.stringify(t)])).toBeUndefined();
    expect(decodeTombstone(['v', '1', 'tombstone', '{'])).toBeUndefined();
    expect(decodeTombstone(['v', '1', 'tombstone', JSON.stringify({ ...t, ts: String(t.ts) })])).toBeUndefined();
    expect(decodeTombstone(['v', '1', 'tombstone', JSON.stringify({ site: t.site, ts: t.ts })])).toBeUndefined();
    expect(decodeTombstone(undefined)).toBeUndefined();
  });
});
