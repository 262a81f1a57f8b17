import { readFileSync } from 'node:fs';
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
    const claims = ['alice@example.com', 'OPTIN', '203.0.113.9', 'x'.repeat(500)];
    for (const claim of claims) m.hitAccepted('piano', claim, 1);
    const text = await m.registry.metrics();
    expect(value(text, 'collector_hits_accepted_total{tracker="piano",mode="other"}')).toBe(4);
    expect(text).not.toMatch(/alice|203\.0\.113|OPTIN|xxxx/);
  });

  it('counts hits, records and refusals by tracker (the Piano SDK too), reason and mode', async () => {
    const m = new Metrics(sources());
    m.hitAccepted('piano', 'exempt', 3);
    m.hitAccepted('piano', 'exempt', 2);
    m.hitAccepted('matomo', 'optin', 1);
    m.hitAccepted('plausible', 'exempt', 1);
    m.hitRefused('piano', 'rate_limited', 'exempt');
    m.hitRefused('plausible', 'invalid_hit', undefined);
    m.hitSetApart('piano', 'robot');
    m.exemptRules({ email: 2, ip: 0, url: 1 });
    m.privacyDropped('exempt', { events: 1, properties: 4 });
    m.rateLimited(5);
    m.optoutCounted(0);
    const text = await m.registry.metrics();
    expect(value(text, 'collector_hits_accepted_total{tracker="piano",mode="exempt"}')).toBe(2);
    expect(value(text, 'collector_hits_accepted_total{tracker="matomo",mode="optin"}')).toBe(1);
    expect(value(text, 'collector_hits_accepted_total{tracker="plausible",mode="exempt"}')).toBe(1);
    // records are counted whichever tracker sent them
    expect(value(text, 'collector_records_stored_total{mode="exempt"}')).toBe(6);
    expect(value(text, 'collector_records_stored_total{mode="optin"}')).toBe(1);
    expect(value(text, 'collector_hits_refused_total{tracker="piano",reason="rate_limited",mode="exempt"}')).toBe(1);
    const invalid = 'collector_hits_refused_total{tracker="plausible",reason="invalid_hit",mode="unknown"}';
    expect(value(text, invalid)).toBe(1);
    expect(value(text, 'collector_hits_set_apart_total{tracker="piano",reason="robot"}')).toBe(1);
    // the per-tracker series of earlier versions were folded into these
    expect(text).not.toContain('collector_tracker_hits_');
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
    a.hitAccepted('piano', 'exempt', 1);
    const series = 'collector_hits_accepted_total{tracker="piano",mode="exempt"}';
    expect(value(await a.registry.metrics(), series)).toBe(1);
    expect(value(await b.registry.metrics(), series)).toBeUndefined();
  });

  it('exposes each metric of the table once, with its type and help (the names operators alert on)', async () => {
    const text = await new Metrics(sources()).registry.metrics();
    const types = Object.fromEntries(
      [...text.matchAll(/^# TYPE (collector_\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!] as const),
    );
    expect(types).toEqual({
      collector_hits_accepted_total: 'counter',
      collector_hits_refused_total: 'counter',
      collector_records_stored_total: 'counter',
      collector_privacy_dropped_events_total: 'counter',
      collector_privacy_dropped_properties_total: 'counter',
      collector_privacy_exempt_values_total: 'counter',
      collector_rate_limited_events_total: 'counter',
      collector_optout_events_counted_total: 'counter',
      collector_hits_set_apart_total: 'counter',
      collector_sink_batch_events: 'histogram',
      collector_sink_batch_seconds: 'histogram',
      collector_admin_requests_total: 'counter',
      collector_admin_scanned_entries_total: 'counter',
      collector_retention_trimmed_entries_total: 'counter',
      collector_sink_batches_short_of_replicas_total: 'counter',
      collector_sink_pending_events: 'gauge',
      collector_sink_writes_failing: 'gauge',
      collector_redis_up: 'gauge',
      collector_redis_connection_state: 'gauge',
      collector_geoip_database_age_seconds: 'gauge',
    });
    for (const name of Object.keys(types)) expect(text).toMatch(new RegExp(`^# HELP ${name} \\S.{20,}$`, 'm'));
    expect(text).toMatch(/^# HELP collector_hits_accepted_total Hits answered 2xx .*by tracker \(piano, matomo/m);
    // the histograms keep their buckets
    const m = new Metrics(sources());
    m.sinkBatch(3, 2, true);
    const after = await m.registry.metrics();
    expect(value(after, 'collector_sink_batch_events_bucket{le="2",outcome="ok"}')).toBe(0);
    expect(value(after, 'collector_sink_batch_events_bucket{le="5",outcome="ok"}')).toBe(1);
    expect(value(after, 'collector_sink_batch_seconds_bucket{le="0.0025",outcome="ok"}')).toBe(1);
    expect(value(after, 'collector_sink_batch_seconds_bucket{le="0.001",outcome="ok"}')).toBe(0);
  });

  it('names in docs/operations.md every metric it exposes, and in docker/alerts.yml only those', async () => {
    const text = await new Metrics(sources()).registry.metrics();
    const exposed = [...text.matchAll(/^# TYPE (collector_\w+) (\w+)$/gm)].map((m) => m[1]!);
    const docs = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
    for (const name of exposed) expect(docs, name).toContain(`\`${name}`);
    // the rules' expressions (not their comments), a histogram's series by the histogram's name
    const rules = readFileSync(new URL('../docker/alerts.yml', import.meta.url), 'utf8').replace(/#.*$/gm, '');
    const alerted = [...rules.matchAll(/\bcollector_\w+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
    expect(alerted.length).toBeGreaterThan(5);
    for (const name of alerted) expect(exposed, name).toContain(name);
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
