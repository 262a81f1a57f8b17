// The record step (src/pipeline/record.ts): ids consumers dedupe on, the record v1, and
// its stream entry.
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shardKey, streamKeys } from '../../src/contract/keys.js';
import { decodeRecord } from '../../src/contract/record.js';
import { createRecordIds } from '../../src/pipeline/record.js';
import { buildRecord, toEntry } from '../helpers/reference-path.js';

const secret = Buffer.from('0123456789abcdef0123456789abcdef');
const ids = createRecordIds(secret);
const body = '{"events":[{"name":"page.display","data":{"page":"home","device_timestamp_utc":1764428400.123}}]}';

describe('createRecordIds', () => {
  it('is the documented keyed HMAC of the request, 128 bits in base64url, then the event index', () => {
    const key = createHmac('sha256', secret).update('record-id/v1').digest();
    const ref = (text: string) => createHmac('sha256', key).update(text).digest().subarray(0, 16).toString('base64url');
    expect(ids('123456', 'lpw0hd7t9bz0ecov', body)(0)).toBe(`${ref(`6:123456:16:lpw0hd7t9bz0ecov:${body}`)}.0`);
    expect(ids('123456', undefined, body)(3)).toBe(`${ref(`6:123456:-:${body}`)}.3`);
    expect(ids('123456', 'x', body)(0)).toMatch(/^[A-Za-z0-9_-]{22}\.0$/);
  });

  it('gives the same ids to the same request sent again (a resend, a retry after a 503)', () => {
    expect(ids('123456', 'abc', body)(0)).toBe(createRecordIds(Buffer.from(secret))('123456', 'abc', body)(0));
    const one = ids('123456', 'abc', body);
    expect([one(0), one(1)]).toEqual([ids('123456', 'abc', body)(0), ids('123456', 'abc', body)(1)]);
  });

  it('gives other ids to another site, visitor, body, event index or secret', () => {
    const base = ids('123456', 'abc', body)(0);
    const others = [
      ids('123457', 'abc', body)(0),
      ids('123456', 'abd', body)(0),
      ids('123456', undefined, body)(0),
      ids('123456', 'abc', body.replace('home', 'news'))(0),
      ids('123456', 'abc', body)(1),
      createRecordIds(Buffer.from('another secret'))('123456', 'abc', body)(0),
    ];
    expect(new Set([base, ...others]).size).toBe(others.length + 1);
  });

  it('cannot be made to collide by moving characters between site, visitor and body', () => {
    // lengths are part of the input: ("ab", "c") and ("a", "bc") differ, and no idclient differs from "-"
    expect(ids('ab', 'c', body)(0)).not.toBe(ids('a', 'bc', body)(0));
    expect(ids('s', '-', body)(0)).not.toBe(ids('s', undefined, body)(0));
    expect(ids('s', 'a:b', 'c')(0)).not.toBe(ids('s', 'a', 'b:c')(0));
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (s1, v1, s2, v2) => {
        fc.pre(s1 !== s2 || v1 !== v2);
        expect(ids(s1, v1, body)(0)).not.toBe(ids(s2, v2, body)(0));
      }),
    );
  });
});

describe('buildRecord', () => {
  const fields = {
    site: '123456',
    event: 'page.display',
    mode: 'exempt' as const,
    ts: 1764428400123,
    props: { page: 'home' },
  };

  it('writes the record v1 fields in their documented order', () => {
    const r = buildRecord('id.0', { ...fields, visitor: 'k1.v', geo: { country: 'FR' } });
    expect(Object.keys(r)).toEqual(['id', 'site', 'event', 'mode', 'ts', 'visitor', 'geo', 'props']);
    expect(r).toEqual({ id: 'id.0', ...fields, visitor: 'k1.v', geo: { country: 'FR' } });
  });

  it('leaves out a visitor and a location it does not have (absent, not null)', () => {
    const r = buildRecord('id.0', { ...fields, visitor: undefined, geo: undefined });
    expect(Object.keys(r)).toEqual(['id', 'site', 'event', 'mode', 'ts', 'props']);
    expect(JSON.stringify(r)).not.toMatch(/visitor|geo|null/);
    expect('visitor' in buildRecord('id.0', { ...fields, visitor: '' })).toBe(false);
  });

  it('copies nothing it was not given a field for', () => {
    const r = buildRecord('id.0', { ...fields, extra: 'x', ip: '1.2.3.4' } as typeof fields);
    expect(JSON.stringify(r)).not.toMatch(/extra|1\.2\.3\.4/);
  });
});

describe('toEntry', () => {
  const record = buildRecord('rid.0', {
    site: '123456',
    event: 'page.display',
    mode: 'exempt',
    ts: 1,
    visitor: 'k1.someone',
    props: { page: 'home' },
  });

  it("puts a record on its visitor's shard, as its JSON text that consumers decode back", () => {
    const keys = streamKeys('hits', 4);
    const entry = toEntry(record, keys);
    expect(entry.key).toBe(shardKey(keys, 'k1.someone', 'rid.0'));
    expect(decodeRecord(['v', '1', 'hit', entry.hit])).toEqual(record);
  });

  it('puts a record without a visitor on the shard of its id, and everything on the one stream when there is one', () => {
    const anonymous = buildRecord('rid.7', { site: '1', event: 'page.display', mode: 'exempt', ts: 1, props: {} });
    const keys = streamKeys('hits', 4);
    expect(toEntry(anonymous, keys).key).toBe(shardKey(keys, undefined, 'rid.7'));
    expect(toEntry(record, ['hits']).key).toBe('hits');
  });
});
