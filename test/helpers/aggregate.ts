// Records for the aggregator tests.
import { utcDay } from '../../src/aggregate/store.js';
import type { HitRecord } from '../../src/contract/record.js';

export const todayStart = Date.parse(`${utcDay(Date.now())}T00:00:00Z`);

export function record(i: number, over: Partial<HitRecord> = {}): HitRecord {
  return {
    id: `rec${i}.0`,
    site: 'sA',
    event: 'page.display',
    mode: 'exempt',
    ts: todayStart + 3_600_000 + i,
    visitor: `k1.visitor${i % 40}`,
    geo: { country: 'FR', region: 'Île-de-France', city: 'Paris' },
    props: { page: `p${i % 10}`, device_screen_width: 1280 },
    ...over,
  };
}
