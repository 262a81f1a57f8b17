// Prometheus metrics (GET /metrics). One registry per app, so several apps in one
// process (the tests) do not share counters. Labels take only bounded values: a
// client-claimed privacy mode outside the known list is counted as `other`.
// The metrics are declared once, as data (METRICS below); the registry is built from it.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import type { SetApartReason } from './contract/keys.js';
import type { Tracker } from './contract/modes.js';

const KNOWN_MODES = new Set(['optin', 'exempt', 'optout', 'extended-optout', 'no-consent', 'no-storage', 'custom']);

export function modeLabel(mode: string | undefined): string {
  if (mode === undefined) return 'unknown';
  return KNOWN_MODES.has(mode) ? mode : 'other';
}

/** Who sent a hit: an adapted tracker (src/formats), or the Piano SDK (`/event`). The `tracker` label's values. */
export type TrackerLabel = Tracker | 'piano';

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

/** A gauge's reading at scrape time: one value, or one per label set (the others are cleared). */
type Reading = number | readonly (readonly [Record<string, string>, number])[];

interface Spec {
  readonly name: string;
  readonly help: string;
  readonly labels?: readonly string[];
}
interface CounterSpec extends Spec {
  readonly kind: 'counter';
}
interface HistogramSpec extends Spec {
  readonly kind: 'histogram';
  readonly buckets: readonly number[];
}
interface GaugeSpec extends Spec {
  readonly kind: 'gauge';
  read(sources: MetricsSources): Reading;
}

const ageSeconds = (since: Date): number => Math.max(0, (Date.now() - since.getTime()) / 1000);

/** Every metric of the collector (prom-client's process metrics aside). docs/operations.md lists them. */
const METRICS = {
  accepted: {
    kind: 'counter',
    name: 'collector_hits_accepted_total',
    help:
      'Hits answered 2xx (everything they carried is in Redis; each item of a Matomo bulk is a hit), by tracker ' +
      '(piano, matomo, plausible) and privacy mode (unknown for a hit that writes nothing: heartbeat, ecommerce...)',
    labels: ['tracker', 'mode'],
  },
  refused: {
    kind: 'counter',
    name: 'collector_hits_refused_total',
    help:
      'Hit requests refused (a whole Matomo bulk counts once), by tracker, error code (invalid_hit, ' +
      'body_too_large, sink_unavailable...) and privacy mode (unknown when not parsed)',
    labels: ['tracker', 'reason', 'mode'],
  },
  stored: {
    kind: 'counter',
    name: 'collector_records_stored_total',
    help: 'Records (one per kept event) appended to the stream, by privacy mode, whichever route took them',
    labels: ['mode'],
  },
  droppedEvents: {
    kind: 'counter',
    name: 'collector_privacy_dropped_events_total',
    help: 'Events the privacy filter dropped (not on the event list of the mode and site)',
  },
  droppedProps: {
    kind: 'counter',
    name: 'collector_privacy_dropped_properties_total',
    help: 'Properties the privacy filter removed from kept events (or from opt-out hits), by mode',
    labels: ['mode'],
  },
  exemptRules: {
    kind: 'counter',
    name: 'collector_privacy_exempt_values_total',
    help:
      'Exempt values an exempt value rule changed or dropped, by rule ' +
      '(shape, reading, url, query, campaign, email, ip, day)',
    labels: ['rule'],
  },
  rateLimitedEvents: {
    kind: 'counter',
    name: 'collector_rate_limited_events_total',
    help: 'Events refused with 429 because their site was over its rate limit (counted when the body was read)',
  },
  optoutCounted: {
    kind: 'counter',
    name: 'collector_optout_events_counted_total',
    help: 'Opt-out events turned into anonymous counter increments',
  },
  setApart: {
    kind: 'counter',
    name: 'collector_hits_set_apart_total',
    help:
      'Hits answered 2xx but set apart, not audience: counted in setapart:{<site>}:<hour>, never stored, ' +
      'by tracker (piano, matomo, plausible) and reason (robot, spam)',
    labels: ['tracker', 'reason'],
  },
  batchEvents: {
    kind: 'histogram',
    name: 'collector_sink_batch_events',
    help: 'Events per pipelined Redis write',
    labels: ['outcome'],
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
  },
  batchSeconds: {
    kind: 'histogram',
    name: 'collector_sink_batch_seconds',
    help: 'Time from sending a batch to Redis to its acknowledgement (or failure)',
    labels: ['outcome'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  },
  adminRequests: {
    kind: 'counter',
    name: 'collector_admin_requests_total',
    help:
      'Data-subject requests (/admin/access, /admin/erase), by outcome: complete, partial (a scan bound was ' +
      'reached), failed',
    labels: ['action', 'outcome'],
  },
  adminScanned: {
    kind: 'counter',
    name: 'collector_admin_scanned_entries_total',
    help: 'Stream entries read by data-subject requests (their cost)',
    labels: ['action'],
  },
  retentionTrimmed: {
    kind: 'counter',
    name: 'collector_retention_trimmed_entries_total',
    help: 'Stream entries removed because they were older than STREAM_RETENTION',
  },
  batchesShortOfReplicas: {
    kind: 'counter',
    name: 'collector_sink_batches_short_of_replicas_total',
    help:
      'Writes (a batch, per Redis node it went to) that fewer replicas than SINK_WAIT_REPLICAS ' +
      'acknowledged in time: their hits got 503',
  },
  pending: {
    kind: 'gauge',
    name: 'collector_sink_pending_events',
    help: 'Events accepted by the sink and not yet acknowledged by Redis (queued + in flight)',
    read: (s) => s.pending(),
  },
  writesFailing: {
    kind: 'gauge',
    name: 'collector_sink_writes_failing',
    help: '1 while Redis keeps refusing writes (out of memory, read-only): readiness fails too',
    read: (s) => (s.writesFailing() ? 1 : 0),
  },
  redisUp: {
    kind: 'gauge',
    name: 'collector_redis_up',
    help: '1 when the Redis connection is ready, else 0',
    read: (s) => (s.redisStatus() === 'ready' ? 1 : 0),
  },
  redisState: {
    kind: 'gauge',
    name: 'collector_redis_connection_state',
    help: 'The Redis client status: 1 for the current one',
    labels: ['state'],
    read: (s) => [[{ state: s.redisStatus() }, 1]],
  },
  geoipAge: {
    kind: 'gauge',
    name: 'collector_geoip_database_age_seconds',
    help: 'Age of each open geolocation database (now minus its build time)',
    labels: ['database'],
    // the file name only: the directory says nothing useful and may say something private
    read: (s) => s.geoDatabases().map((db) => [{ database: db.path.split(/[\\/]/).pop()! }, ageSeconds(db.buildEpoch)]),
  },
} as const satisfies Record<string, CounterSpec | HistogramSpec | GaugeSpec>;

type Table = typeof METRICS;
type LabelOf<S> = S extends { labels: readonly (infer L extends string)[] } ? L : never;
/** What the table builds for each row: prom-client's metric, typed by the row's labels. */
type Built = {
  [K in keyof Table]: Table[K]['kind'] extends 'counter'
    ? Counter<LabelOf<Table[K]>>
    : Table[K]['kind'] extends 'histogram'
      ? Histogram<LabelOf<Table[K]>>
      : Gauge<LabelOf<Table[K]>>;
};

function build(spec: CounterSpec | HistogramSpec | GaugeSpec, registry: Registry, sources: MetricsSources) {
  const common = { name: spec.name, help: spec.help, labelNames: spec.labels ?? [], registers: [registry] };
  switch (spec.kind) {
    case 'counter':
      return new Counter(common);
    case 'histogram':
      return new Histogram({ ...common, buckets: [...spec.buckets] });
    case 'gauge':
      return new Gauge({
        ...common,
        collect() {
          const reading = spec.read(sources);
          if (typeof reading === 'number') return void this.set(reading);
          this.reset();
          for (const [labels, value] of reading) this.set(labels, value);
        },
      });
  }
}

interface Child {
  inc(n?: number): void;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #m: Built;

  constructor(sources: MetricsSources) {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    const built: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(METRICS)) built[key] = build(spec, this.registry, sources);
    this.#m = built as Built;
  }

  // Counters bumped on every hit keep their labelled children: prom-client would
  // otherwise hash the label values on each increment.
  readonly #children = new Map<string, Child>();
  #child<L extends string>(counter: Counter<L>, key: string, labels: LabelValues<L>): Child {
    let c = this.#children.get(key);
    if (!c) this.#children.set(key, (c = counter.labels(labels)));
    return c;
  }

  /** One hit answered 2xx, and the records it stored. */
  hitAccepted(tracker: TrackerLabel, mode: string | undefined, records: number): void {
    const m = modeLabel(mode);
    this.#child(this.#m.accepted, `a|${tracker}|${m}`, { tracker, mode: m }).inc();
    if (records > 0) this.#child(this.#m.stored, `s|${m}`, { mode: m }).inc(records);
  }

  /** One hit request refused, by its public error code. */
  hitRefused(tracker: TrackerLabel, reason: string, mode: string | undefined): void {
    const m = modeLabel(mode);
    this.#child(this.#m.refused, `r|${tracker}|${reason}|${m}`, { tracker, reason, mode: m }).inc();
  }

  /** What the privacy step (src/pipeline/privacy.ts) dropped from one hit. */
  privacyDropped(mode: string | undefined, dropped: { events: number; properties: number }): void {
    if (dropped.events > 0) this.#m.droppedEvents.inc(dropped.events);
    if (dropped.properties > 0) {
      const m = modeLabel(mode);
      this.#child(this.#m.droppedProps, `dp|${m}`, { mode: m }).inc(dropped.properties);
    }
  }

  /** What the exempt value rules (src/policy/exempt-values.ts) changed or dropped in one hit. */
  exemptRules(counts: Readonly<Record<string, number>>): void {
    for (const rule in counts) {
      const n = counts[rule]!;
      if (n > 0) this.#child(this.#m.exemptRules, `rule|${rule}`, { rule }).inc(n);
    }
  }

  rateLimited(events: number): void {
    this.#m.rateLimitedEvents.inc(events);
  }

  optoutCounted(events: number): void {
    if (events > 0) this.#m.optoutCounted.inc(events);
  }

  /** A robot's or a referrer spammer's hit, counted instead of stored. */
  hitSetApart(tracker: TrackerLabel, reason: SetApartReason): void {
    this.#child(this.#m.setApart, `sa|${tracker}|${reason}`, { tracker, reason }).inc();
  }

  adminRequest(action: 'access' | 'erase', outcome: 'complete' | 'partial' | 'failed', scanned: number): void {
    this.#m.adminRequests.inc({ action, outcome });
    if (scanned > 0) this.#m.adminScanned.inc({ action }, scanned);
  }

  retentionTrimmed(entries: number): void {
    if (entries > 0) this.#m.retentionTrimmed.inc(entries);
  }

  /** The sink's onReplicasShort hook. */
  readonly sinkReplicasShort = (): void => {
    this.#m.batchesShortOfReplicas.inc();
  };

  /** The sink's onBatch hook. */
  readonly sinkBatch = (events: number, ms: number, ok: boolean): void => {
    const outcome = ok ? 'ok' : 'failed';
    this.#m.batchEvents.observe({ outcome }, events);
    this.#m.batchSeconds.observe({ outcome }, ms / 1000);
  };
}
