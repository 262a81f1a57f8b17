// Prometheus metrics (GET /metrics). One registry per app, so several apps in one
// process (the tests) do not share counters. Labels take only bounded values: a
// client-claimed privacy mode outside the known list is counted as `other`.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SetApartReason } from './contract/keys.js';

const KNOWN_MODES = new Set(['optin', 'exempt', 'optout', 'extended-optout', 'no-consent', 'no-storage', 'custom']);

export function modeLabel(mode: string | undefined): string {
  if (mode === undefined) return 'unknown';
  return KNOWN_MODES.has(mode) ? mode : 'other';
}

/** The third-party trackers a hit route adapts (src/formats): the `tracker` label's only values. */
export type TrackerLabel = 'matomo' | 'plausible';

export interface MetricsSources {
  /** Events waiting for Redis (queued + in flight). */
  pending(): number;
  /** The Redis client's status (`ready`, `connecting`, `reconnecting`, `end`...). */
  redisStatus(): string;
  /** The geolocation databases open now. */
  geoDatabases(): readonly { path: string; buildEpoch: Date }[];
  /** Whether Redis keeps refusing the sink's writes. */
  writesFailing(): boolean;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #accepted: Counter<'mode'>;
  readonly #refused: Counter<'reason' | 'mode'>;
  readonly #trackerAccepted: Counter<'tracker' | 'mode'>;
  readonly #trackerRefused: Counter<'tracker' | 'reason' | 'mode'>;
  readonly #stored: Counter<'mode'>;
  readonly #droppedEvents: Counter;
  readonly #droppedProps: Counter<'mode'>;
  readonly #exemptRules: Counter<'rule'>;
  readonly #rateLimitedEvents: Counter;
  readonly #optoutCounted: Counter;
  readonly #setApart: Counter<'tracker' | 'reason'>;
  readonly #batchEvents: Histogram<'outcome'>;
  readonly #batchSeconds: Histogram<'outcome'>;
  readonly #adminRequests: Counter<'action' | 'outcome'>;
  readonly #adminScanned: Counter<'action'>;
  readonly #retentionTrimmed: Counter;
  readonly #batchesShortOfReplicas: Counter;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.#accepted = new Counter({
      name: 'collector_hits_accepted_total',
      help: 'Hit requests answered 2xx (everything they carried is in Redis), by privacy mode',
      labelNames: ['mode'],
      registers,
    });
    this.#refused = new Counter({
      name: 'collector_hits_refused_total',
      help: 'Hit requests refused, by error code (invalid_hit, body_too_large, sink_unavailable...) and privacy mode (unknown when not parsed)',
      labelNames: ['reason', 'mode'],
      registers,
    });
    this.#trackerAccepted = new Counter({
      name: 'collector_tracker_hits_accepted_total',
      help: 'Matomo and Plausible hits answered 2xx (each item of a Matomo bulk is a hit), by tracker and privacy mode (unknown for a hit that writes nothing: heartbeat, ecommerce, engagement)',
      labelNames: ['tracker', 'mode'],
      registers,
    });
    this.#trackerRefused = new Counter({
      name: 'collector_tracker_hits_refused_total',
      help: 'Matomo and Plausible requests refused (a whole bulk counts once), by tracker, error code and privacy mode (unknown when not parsed)',
      labelNames: ['tracker', 'reason', 'mode'],
      registers,
    });
    this.#stored = new Counter({
      name: 'collector_records_stored_total',
      help: 'Records (one per kept event) appended to the stream, by privacy mode, whichever route took them',
      labelNames: ['mode'],
      registers,
    });
    this.#droppedEvents = new Counter({
      name: 'collector_privacy_dropped_events_total',
      help: 'Events the privacy filter dropped (not on the event list of the mode and site)',
      registers,
    });
    this.#droppedProps = new Counter({
      name: 'collector_privacy_dropped_properties_total',
      help: 'Properties the privacy filter removed from kept events (or from opt-out hits), by mode',
      labelNames: ['mode'],
      registers,
    });
    this.#exemptRules = new Counter({
      name: 'collector_privacy_exempt_values_total',
      help: 'Exempt values an exempt value rule changed or dropped, by rule (shape, reading, url, query, campaign, email, ip, day)',
      labelNames: ['rule'],
      registers,
    });
    this.#rateLimitedEvents = new Counter({
      name: 'collector_rate_limited_events_total',
      help: 'Events refused with 429 because their site was over its rate limit (counted when the body was read)',
      registers,
    });
    this.#optoutCounted = new Counter({
      name: 'collector_optout_events_counted_total',
      help: 'Opt-out events turned into anonymous counter increments',
      registers,
    });
    this.#setApart = new Counter({
      name: 'collector_hits_set_apart_total',
      help:
        'Hits answered 2xx but set apart, not audience: counted in setapart:{<site>}:<hour>, never stored, ' +
        'by tracker (piano, matomo, plausible) and reason (robot, spam)',
      labelNames: ['tracker', 'reason'],
      registers,
    });
    this.#batchEvents = new Histogram({
      name: 'collector_sink_batch_events',
      help: 'Events per pipelined Redis write',
      labelNames: ['outcome'],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    });
    this.#batchSeconds = new Histogram({
      name: 'collector_sink_batch_seconds',
      help: 'Time from sending a batch to Redis to its acknowledgement (or failure)',
      labelNames: ['outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.#adminRequests = new Counter({
      name: 'collector_admin_requests_total',
      help: 'Data-subject requests (/admin/access, /admin/erase), by outcome: complete, partial (a scan bound was reached), failed',
      labelNames: ['action', 'outcome'],
      registers,
    });
    this.#adminScanned = new Counter({
      name: 'collector_admin_scanned_entries_total',
      help: 'Stream entries read by data-subject requests (their cost)',
      labelNames: ['action'],
      registers,
    });
    this.#retentionTrimmed = new Counter({
      name: 'collector_retention_trimmed_entries_total',
      help: 'Stream entries removed because they were older than STREAM_RETENTION',
      registers,
    });
    this.#batchesShortOfReplicas = new Counter({
      name: 'collector_sink_batches_short_of_replicas_total',
      help:
        'Writes (a batch, per Redis node it went to) that fewer replicas than SINK_WAIT_REPLICAS ' +
        'acknowledged in time: their hits got 503',
      registers,
    });
    new Gauge({
      name: 'collector_sink_pending_events',
      help: 'Events accepted by the sink and not yet acknowledged by Redis (queued + in flight)',
      registers,
      collect() {
        this.set(sources.pending());
      },
    });
    new Gauge({
      name: 'collector_sink_writes_failing',
      help: '1 while Redis keeps refusing writes (out of memory, read-only): readiness fails too',
      registers,
      collect() {
        this.set(sources.writesFailing() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'collector_redis_up',
      help: '1 when the Redis connection is ready, else 0',
      registers,
      collect() {
        this.set(sources.redisStatus() === 'ready' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'collector_redis_connection_state',
      help: 'The Redis client status: 1 for the current one',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        this.set({ state: sources.redisStatus() }, 1);
      },
    });
    new Gauge({
      name: 'collector_geoip_database_age_seconds',
      help: 'Age of each open geolocation database (now minus its build time)',
      labelNames: ['database'],
      registers,
      collect() {
        this.reset();
        for (const db of sources.geoDatabases()) {
          this.set({ database: db.path.split(/[\\/]/).pop()! }, Math.max(0, (Date.now() - db.buildEpoch.getTime()) / 1000));
        }
      },
    });
  }

  // Counters bumped on every hit keep their labelled children: prom-client would
  // otherwise hash the label values on each increment.
  readonly #children = new Map<string, { inc(n?: number): void }>();
  #child(counter: Counter<string>, key: string, labels: Record<string, string>): { inc(n?: number): void } {
    let c = this.#children.get(key);
    if (!c) this.#children.set(key, (c = counter.labels(labels)));
    return c;
  }

  /** One hit stored: the Piano SDK's (no tracker) or an adapted tracker's. */
  hitAccepted(mode: string | undefined, records: number, tracker?: TrackerLabel): void {
    const m = modeLabel(mode);
    if (tracker) this.#child(this.#trackerAccepted, `ta|${tracker}|${m}`, { tracker, mode: m }).inc();
    else this.#child(this.#accepted, `a|${m}`, { mode: m }).inc();
    if (records > 0) this.#child(this.#stored, `s|${m}`, { mode: m }).inc(records);
  }

  hitRefused(reason: string, mode: string | undefined, tracker?: TrackerLabel): void {
    const m = modeLabel(mode);
    if (tracker) this.#child(this.#trackerRefused, `tr|${tracker}|${reason}|${m}`, { tracker, reason, mode: m }).inc();
    else this.#child(this.#refused, `refused|${reason}|${m}`, { reason, mode: m }).inc();
  }

  /** What the privacy step (src/pipeline/privacy.ts) dropped from one hit. */
  privacyDropped(mode: string | undefined, dropped: { events: number; properties: number }): void {
    if (dropped.events > 0) this.#droppedEvents.inc(dropped.events);
    if (dropped.properties > 0) {
      const m = modeLabel(mode);
      this.#child(this.#droppedProps, `dp|${m}`, { mode: m }).inc(dropped.properties);
    }
  }

  /** What the exempt value rules (src/policy/exempt-values.ts) changed or dropped in one hit. */
  exemptRules(counts: Readonly<Record<string, number>>): void {
    for (const rule in counts) if (counts[rule]! > 0) this.#child(this.#exemptRules, `rule|${rule}`, { rule }).inc(counts[rule]);
  }

  rateLimited(events: number): void {
    this.#rateLimitedEvents.inc(events);
  }

  optoutCounted(events: number): void {
    if (events > 0) this.#optoutCounted.inc(events);
  }

  /** A robot's or a referrer spammer's hit, counted instead of stored. */
  hitSetApart(reason: SetApartReason, tracker?: TrackerLabel): void {
    const t = tracker ?? 'piano';
    this.#child(this.#setApart, `sa|${t}|${reason}`, { tracker: t, reason }).inc();
  }

  adminRequest(action: 'access' | 'erase', outcome: 'complete' | 'partial' | 'failed', scanned: number): void {
    this.#adminRequests.inc({ action, outcome });
    if (scanned > 0) this.#adminScanned.inc({ action }, scanned);
  }

  retentionTrimmed(entries: number): void {
    if (entries > 0) this.#retentionTrimmed.inc(entries);
  }

  /** The sink's onReplicasShort hook. */
  readonly sinkReplicasShort = (): void => {
    this.#batchesShortOfReplicas.inc();
  };

  /** The sink's onBatch hook. */
  readonly sinkBatch = (events: number, ms: number, ok: boolean): void => {
    const outcome = ok ? 'ok' : 'failed';
    this.#batchEvents.observe({ outcome }, events);
    this.#batchSeconds.observe({ outcome }, ms / 1000);
  };
}
