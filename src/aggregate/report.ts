// Reports from the aggregates: counts only, and no count below the minimum shown beside
// a name. Every table goes through `suppress` (src/aggregate/suppress.ts, where the rule
// and what a reader can work out are spelled out); every per-day count and total
// through `shown` and `totalShown`.
//
// Suppression happens here, once, in the Report object: the renderings (text in
// report-text.ts, JSON, the HTML page of report-page.ts) only format what it holds.
import type { Cluster, Redis } from 'ioredis';
import { optoutCounterKey, SET_APART_REASONS, setApartCounterKey } from '../contract/keys.js';
import { classifySource, SOURCE_KINDS, type SourceKind } from './sources.js';
import { AggregateKeys, DAY_MS, utcDay } from './store.js';
import { shown, suppress, suppressWithin, totalShown, type Row, type SuppressedTable } from './suppress.js';

export { OTHER, suppress, suppressWithin, type SuppressedTable } from './suppress.js';
export { formatReport } from './report-text.js';

interface DayLine {
  day: string;
  pageviews: number | null;
  visits: number | null;
  /** Distinct visitors of that day. */
  visitors: number | null;
}

/** One day of the opt-out comparison: events counted from records, and opt-out events. */
interface OptoutDayLine {
  day: string;
  /** Events recorded that day (every record the aggregator counted, page views and others). */
  measured: number | null;
  /** Events of opted-out visitors that day: the sum of the anonymous `optout:{site}:<hour>` counters. */
  optedOut: number | null;
}

/** Hits set apart by the collector one day, not audience: the `setapart:{site}:<hour>` counters. */
interface SetApartDayLine {
  day: string;
  robots: number | null;
  spam: number | null;
}

/** A source of visits over the period: a search engine's or social network's name, a host, (direct), (internal). */
export interface SourceRow extends Row {
  kind: SourceKind;
}

/** Visits of one day by kind of source. */
type SourceDayLine = { day: string } & Record<SourceKind, number | null>;

export interface Report {
  site: string;
  from: string;
  to: string;
  minCount: number;
  totals: { pageviews: number | null; visits: number | null };
  days: DayLine[];
  pages: SuppressedTable;
  geo: SuppressedTable;
  countries: SuppressedTable;
  devices: SuppressedTable;
  /** Visits by source over the period, and by kind of source per day. */
  sources: SuppressedTable<SourceRow> & { days: SourceDayLine[] };
  /** Measured events beside opt-out events, per day and for the period (same rules as above). */
  optout: { days: OptoutDayLine[]; totals: { measured: number | null; optedOut: number | null } };
  /** Hits set apart as robots and as referrer spam, per day and for the period (same rules). */
  setApart: { days: SetApartDayLine[]; totals: { robots: number | null; spam: number | null } };
}

/** `to` may be at most this many days after `from`. */
const MAX_REPORT_SPAN_DAYS = 800;

/** A site id, as the collector accepts it (`s=`). */
const SITE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** What the CLI and an HTTP route accept: the site and the UTC days of the period. */
export interface ReportQuery {
  site: string;
  from: string;
  to: string;
}

/** An invalid report request; `message` is meant for the caller (CLI stderr, HTTP 400 body). */
export class ReportQueryError extends Error {
  constructor(
    readonly field: 'site' | 'from' | 'to',
    message: string,
  ) {
    super(message);
    this.name = 'ReportQueryError';
  }
}

function queryString(field: 'site' | 'from' | 'to', value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new ReportQueryError(field, `${field} must be given once, as text`);
  return value;
}

function utcDayParam(field: 'from' | 'to', value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value))
    throw new ReportQueryError(field, `${field} must be a UTC day written YYYY-MM-DD, e.g. 2026-11-29`);
  const t = Date.parse(`${value}T00:00:00Z`);
  // Date.parse rolls 2026-02-30 over to March: only a day that round-trips exists
  if (!Number.isFinite(t) || utcDay(t) !== value)
    throw new ReportQueryError(field, `${field} is not a calendar day: ${value}`);
  return value;
}

/**
 * Validates a report request (CLI arguments or an HTTP query string alike): `site` is
 * required; `from` defaults to today (UTC), `to` to `from`; `from` <= `to`, at most
 * MAX_REPORT_SPAN_DAYS apart. Throws a ReportQueryError with a message for the caller.
 */
export function parseReportQuery(
  q: { site?: unknown; from?: unknown; to?: unknown },
  now: number = Date.now(),
): ReportQuery {
  const site = queryString('site', q.site);
  if (site === undefined)
    throw new ReportQueryError('site', 'site is missing: give the site id (1-64 letters, digits, _ . -)');
  if (!SITE_ID.test(site)) throw new ReportQueryError('site', 'site must be 1-64 letters, digits, _ . -');
  const rawFrom = queryString('from', q.from);
  const rawTo = queryString('to', q.to);
  const from = rawFrom === undefined ? utcDay(now) : utcDayParam('from', rawFrom);
  const to = rawTo === undefined ? from : utcDayParam('to', rawTo);
  if (to < from) throw new ReportQueryError('to', `to (${to}) is before from (${from})`);
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS;
  if (span > MAX_REPORT_SPAN_DAYS) {
    throw new ReportQueryError(
      'to',
      `to may be at most ${MAX_REPORT_SPAN_DAYS} days after from (${from} to ${to} is ${span} days)`,
    );
  }
  return { site, from, to };
}

function daysBetween(from: string, to: string): string[] {
  const a = Date.parse(`${from}T00:00:00Z`);
  const b = Date.parse(`${to}T00:00:00Z`);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b < a)
    throw new Error('--from and --to must be days YYYY-MM-DD, from <= to');
  if ((b - a) / DAY_MS > MAX_REPORT_SPAN_DAYS) throw new Error('at most 800 days per report');
  const out: string[] = [];
  for (let t = a; t <= b; t += DAY_MS) out.push(utcDay(t));
  return out;
}

function addAll(into: Map<string, number>, hash: Record<string, string>): void {
  for (const [k, v] of Object.entries(hash)) into.set(k, (into.get(k) ?? 0) + Number(v));
}

const sumValues = (values: string[]) => values.reduce((a, v) => a + Number(v), 0);

const HOUR_MS = 3_600_000;
/** Commands per day: 6 aggregates, then 24 opt-out hours and 24 set-apart hours. */
const AGGREGATES = 6;
const PER_DAY = AGGREGATES + 48;
/** Days read per pipeline (one round trip). */
const DAYS_PER_ROUND_TRIP = 31;

export interface ReportOptions {
  prefix: string;
  site: string;
  from: string;
  to: string;
  minCount: number;
}

/** What is read from Redis for one day, before any suppression. */
interface RawDay {
  day: string;
  totals: Record<string, string>;
  pages: Record<string, string>;
  geo: Record<string, string>;
  devices: Record<string, string>;
  sources: Record<string, string>;
  visitors: number;
  optedOut: number;
  setApart: Record<(typeof SET_APART_REASONS)[number], number>;
}

/**
 * Reads the aggregates of every day of the period. Every key of a site carries its hash
 * tag ({site}), the opt-out and set-apart counters too: one Redis Cluster slot, so a
 * pipeline of them is valid on a cluster as well.
 */
async function readDays(
  redis: Redis | Cluster,
  keys: AggregateKeys,
  site: string,
  allDays: string[],
): Promise<RawDay[]> {
  const out: RawDay[] = [];
  for (let i = 0; i < allDays.length; i += DAYS_PER_ROUND_TRIP) {
    const chunk = allDays.slice(i, i + DAYS_PER_ROUND_TRIP);
    const pipe = redis.pipeline();
    for (const day of chunk) {
      for (const kind of ['totals', 'pv', 'geo', 'device', 'src'] as const) pipe.hgetall(keys.day(site, kind, day));
      pipe.hlen(keys.day(site, 'visitors', day));
      const start = Date.parse(`${day}T00:00:00Z`);
      for (let h = 0; h < 24; h++) pipe.hvals(optoutCounterKey(site, start + h * HOUR_MS));
      for (let h = 0; h < 24; h++) pipe.hgetall(setApartCounterKey(site, start + h * HOUR_MS));
    }
    const replies = (await pipe.exec()) ?? [];
    if (replies.length !== chunk.length * PER_DAY) throw new Error('report: the Redis pipeline was cut short');
    const reply = (n: number): unknown => {
      const [err, value] = replies[n]!;
      if (err) throw err;
      return value;
    };
    chunk.forEach((day, j) => {
      const at = j * PER_DAY;
      const hash = (n: number) => reply(at + n) as Record<string, string>;
      let optedOut = 0;
      for (let h = 0; h < 24; h++) optedOut += sumValues(reply(at + AGGREGATES + h) as string[]);
      const setApart = { robot: 0, spam: 0 };
      for (let h = 0; h < 24; h++) {
        const counters = hash(AGGREGATES + 24 + h);
        for (const reason of SET_APART_REASONS) setApart[reason] += Number(counters[reason] ?? 0);
      }
      const visitors = reply(at + 5) as number;
      out.push({
        day,
        totals: hash(0),
        pages: hash(1),
        geo: hash(2),
        devices: hash(3),
        sources: hash(4),
        visitors,
        optedOut,
        setApart,
      });
    });
  }
  return out;
}

/** The report of a site and period: read from the aggregates, then suppressed, once. */
export async function buildReport(redis: Redis | Cluster, opts: ReportOptions): Promise<Report> {
  const k = opts.minCount;
  if (!Number.isInteger(k) || k < 1) throw new Error('the minimum count must be an integer of at least 1');
  const raw = await readDays(redis, new AggregateKeys(opts.prefix), opts.site, daysBetween(opts.from, opts.to));
  const pages = new Map<string, number>();
  const geo = new Map<string, number>();
  const devices = new Map<string, number>();
  const sources = new Map<string, number>();
  const kindOf = new Map<string, SourceKind>();
  const days: DayLine[] = [];
  const optoutDays: OptoutDayLine[] = [];
  const setApartDays: SetApartDayLine[] = [];
  const sourceDays: SourceDayLine[] = [];
  const sum = { pageviews: 0, visits: 0, measured: 0, optedOut: 0, robots: 0, spam: 0 };
  for (const d of raw) {
    addAll(pages, d.pages);
    addAll(geo, d.geo);
    addAll(devices, d.devices);
    const byKind = Object.fromEntries(SOURCE_KINDS.map((kind) => [kind, 0])) as Record<SourceKind, number>;
    for (const [stored, n] of Object.entries(d.sources)) {
      const { kind, name } = classifySource(stored);
      kindOf.set(name, kind);
      sources.set(name, (sources.get(name) ?? 0) + Number(n));
      byKind[kind] += Number(n);
    }
    const dp = Number(d.totals.pageviews ?? 0);
    const dv = Number(d.totals.visits ?? 0);
    const de = Number(d.totals.events ?? 0);
    sum.pageviews += dp;
    sum.visits += dv;
    sum.measured += de;
    sum.optedOut += d.optedOut;
    sum.robots += d.setApart.robot;
    sum.spam += d.setApart.spam;
    days.push({ day: d.day, pageviews: shown(dp, k), visits: shown(dv, k), visitors: shown(d.visitors, k) });
    optoutDays.push({ day: d.day, measured: shown(de, k), optedOut: shown(d.optedOut, k) });
    setApartDays.push({ day: d.day, robots: shown(d.setApart.robot, k), spam: shown(d.setApart.spam, k) });
    const kindsShown = Object.fromEntries(SOURCE_KINDS.map((kind) => [kind, shown(byKind[kind], k)]));
    sourceDays.push({ day: d.day, ...(kindsShown as Record<SourceKind, number | null>) });
  }
  const countries = new Map<string, number>();
  for (const [cell, n] of geo) {
    const country = cell.split('|')[0] || '(unknown)';
    countries.set(country, (countries.get(country) ?? 0) + n);
  }
  const geoLabels = new Map(
    [...geo].map(
      ([cell, n]) =>
        [
          cell
            .split('|')
            .map((p) => p || '?')
            .join(' / '),
          n,
        ] as const,
    ),
  );
  const countryTable = suppress(countries, k);
  const countryOf = (place: string) => {
    const c = place.split(' / ')[0]!;
    return c === '?' ? '(unknown)' : c;
  };
  const sourceTable = suppress(sources, k);
  return {
    site: opts.site,
    from: opts.from,
    to: opts.to,
    minCount: k,
    totals: {
      pageviews: totalShown(
        sum.pageviews,
        days.map((d) => d.pageviews),
        k,
      ),
      visits: totalShown(
        sum.visits,
        days.map((d) => d.visits),
        k,
      ),
    },
    days,
    pages: suppress(pages, k),
    geo: suppressWithin(geoLabels, countryOf, countryTable, k),
    countries: countryTable,
    devices: suppress(devices, k),
    sources: {
      ...sourceTable,
      rows: sourceTable.rows.map((r) => ({ ...r, kind: kindOf.get(r.label)! })),
      days: sourceDays,
    },
    optout: {
      days: optoutDays,
      totals: {
        measured: totalShown(
          sum.measured,
          optoutDays.map((d) => d.measured),
          k,
        ),
        optedOut: totalShown(
          sum.optedOut,
          optoutDays.map((d) => d.optedOut),
          k,
        ),
      },
    },
    setApart: {
      days: setApartDays,
      totals: {
        robots: totalShown(
          sum.robots,
          setApartDays.map((d) => d.robots),
          k,
        ),
        spam: totalShown(
          sum.spam,
          setApartDays.map((d) => d.spam),
          k,
        ),
      },
    },
  };
}
