import { describe, expect, it } from 'vitest';
import { Metrics, modeLabel, type MetricsSources } from '../src/metrics.js';

const sources = (over: Partial<MetricsSources> = {}): MetricsSources => ({
  pending: () => 7,
  redisStatus: () => 'ready',
  geoDatabases: () => [{ path: '/var/lib/geo/GeoLite2-City.mmdb', buildEpoch: new Date(Date.now() - 86_400_000) }],
  writesFailing: () => false,
  ...over,
});

/** The value of one series in the exposition text, or undefined. */
const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('Metrics', () => {
  it('labels a mode only with known values: whatever a client claims, no new series', async () => {
    expect(['optin', 'exempt', 'optout'].map(modeLabel)).toEqual(['optin', 'exempt', 'optout']);
    expect(modeLabel(undefined)).toBe('unknown');
    const m = new Metrics(sources());
    for (const claim of ['alice@example.com', 'OPTIN', '203.0.113.9', 'x'.repeat(500)]) m.hitAccepted(claim, 1);
    const text = await m.registry.metrics();
    expect(value(text, 'collector_hits_accepted_total{mode="other"}')).toBe(4);
    expect(text).not.toMatch(/alice|203\.0\.113|OPTIN|xxxx/);
  });

  it('counts hits, records and refusals by route, tracker and reason', async () => {
    const m = new Metrics(sources());
    m.hitAccepted('exempt', 3);
    m.hitAccepted('exempt', 2);
    m.hitAccepted('optin', 1, 'matomo');
    m.hitRefused('rate_limited', 'exempt');
    m.hitRefused('invalid_hit', undefined, 'plausible');
    m.exemptRules({ email: 2, ip: 0, url: 1 });
    m.privacyDropped('exempt', { events: 1, properties: 4 });
    m.rateLimited(5);
    m.optoutCounted(0);
    const text = await m.registry.metrics();
    expect(value(text, 'collector_hits_accepted_total{mode="exempt"}')).toBe(2);
    expect(value(text, 'collector_records_stored_total{mode="exempt"}')).toBe(5);
    expect(value(text, 'collector_records_stored_total{mode="optin"}')).toBe(1);
    expect(value(text, 'collector_tracker_hits_accepted_total{tracker="matomo",mode="optin"}')).toBe(1);
    expect(value(text, 'collector_hits_refused_total{reason="rate_limited",mode="exempt"}')).toBe(1);
    expect(value(text, 'collector_tracker_hits_refused_total{tracker="plausible",reason="invalid_hit",mode="unknown"}')).toBe(1);
    expect(value(text, 'collector_privacy_exempt_values_total{rule="email"}')).toBe(2);
    expect(value(text, 'collector_privacy_exempt_values_total{rule="ip"}')).toBeUndefined();
    expect(value(text, 'collector_privacy_dropped_events_total')).toBe(1);
    expect(value(text, 'collector_privacy_dropped_properties_total{mode="exempt"}')).toBe(4);
    expect(value(text, 'collector_rate_limited_events_total')).toBe(5);
    expect(value(text, 'collector_optout_events_counted_total')).toBe(0);
  });

  it('reads the gauges from their sources when scraped, naming a database by its file only', async () => {
    let failing = false;
    let status = 'ready';
    const m = new Metrics(sources({ writesFailing: () => failing, redisStatus: () => status }));
    let text = await m.registry.metrics();
    expect(value(text, 'collector_sink_pending_events')).toBe(7);
    expect(value(text, 'collector_redis_up')).toBe(1);
    expect(value(text, 'collector_sink_writes_failing')).toBe(0);
    const age = value(text, 'collector_geoip_database_age_seconds{database="GeoLite2-City.mmdb"}')!;
    expect(age).toBeGreaterThan(86_000);
    expect(text).not.toContain('/var/lib/geo');
    failing = true;
    status = 'reconnecting';
    text = await m.registry.metrics();
    expect(value(text, 'collector_sink_writes_failing')).toBe(1);
    expect(value(text, 'collector_redis_up')).toBe(0);
    expect(value(text, 'collector_redis_connection_state{state="reconnecting"}')).toBe(1);
    expect(value(text, 'collector_redis_connection_state{state="ready"}')).toBeUndefined();
  });

  it('gives each app its own registry: two apps in one process do not add up', async () => {
    const a = new Metrics(sources());
    const b = new Metrics(sources());
    a.hitAccepted('exempt', 1);
    expect(value(await a.registry.metrics(), 'collector_hits_accepted_total{mode="exempt"}')).toBe(1);
    expect(value(await b.registry.metrics(), 'collector_hits_accepted_total{mode="exempt"}')).toBeUndefined();
  });

  it('observes sink batches by outcome', async () => {
    const m = new Metrics(sources());
    m.sinkBatch(10, 3, true);
    m.sinkBatch(4, 500, false);
    const text = await m.registry.metrics();
    expect(value(text, 'collector_sink_batch_events_count{outcome="ok"}')).toBe(1);
    expect(value(text, 'collector_sink_batch_events_sum{outcome="ok"}')).toBe(10);
    expect(value(text, 'collector_sink_batch_seconds_sum{outcome="failed"}')).toBe(0.5);
  });
});
