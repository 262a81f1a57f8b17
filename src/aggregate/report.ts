// Reports from the aggregates: counts only, and no cell small enough to single out a
// person. Every table goes through `suppress`: a cell below the minimum count
// (REPORT_MIN_COUNT, default 5) is not shown but folded into an "(other)" row; when
// that row would itself be below the minimum, the smallest shown cells are folded in
// too until it is not, so no hidden cell can be recovered by subtracting the shown
// ones from a total. A total below the minimum is not shown either.
//
// Suppression happens here, once, in the Report object: the renderings (the text
// table below, JSON, the HTML page of report-html.ts) only format what it holds.
import type { Cluster, Redis } from 'ioredis';
import { optoutCounterKey } from '../contract/keys.js';
import { AggregateKeys, DAY_MS, utcDay } from './store.js';

export const OTHER = '(other)';

interface Row {
  label: string;
  count: number;
}

export interface SuppressedTable {
  rows: Row[];
  /** The folded cells' sum; null when it is below the minimum (then the whole table was folded). */
  other: number | null;
  /** How many cells were folded into "(other)". */
  suppressed: number;
}

const shown = (n: number, k: number): number | null => (n > 0 && n < k ? null : n);

export function suppress(cells: ReadonlyMap<string, number> | Record<string, number>, k: number): SuppressedTable {
  // a ReadonlyMap is no class: instanceof Map cannot narrow the union either way
  const all = cells instanceof Map ? [...(cells as ReadonlyMap<string, number>)] : Object.entries(cells as Record<string, number>);
  const entries = all.filter(([, n]) => n > 0);
  const rows = entries.map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
  let other = 0;
  let suppressed = 0;
  while (rows.length > 0 && rows[rows.length - 1]!.count < k) {
    other += rows.pop()!.count;
    suppressed++;
  }
  while (other > 0 && other < k && rows.length > 0) {
    other += rows.pop()!.count;
    suppressed++;
  }
  return { rows, other: shown(other, k), suppressed };
}

/**
 * Suppresses a table whose cells break down those of a table already suppressed (places
 * within countries), so that no hidden place can be had by subtraction across the two:
 * a country folded away takes its places with it, and a country shown whose hidden
 * places would add up to less than the minimum (FR 8 shown, FR / Paris 5 shown: FR /
 * Nice 3 would be 8 − 5) gets more of its places folded until they add up to at least
 * the minimum, or all are folded.
 */
export function suppressWithin(cells: ReadonlyMap<string, number>, parentOf: (label: string) => string, parents: SuppressedTable, k: number): SuppressedTable {
  const t = suppress(cells, k);
  const shownParents = new Map(parents.rows.map((r) => [r.label, r.count]));
  let other = [...cells.values()].reduce((a, n) => a + n, 0) - t.rows.reduce((a, r) => a + r.count, 0);
  let suppressed = t.suppressed;
  const fold = (i: number) => {
    other += t.rows[i]!.count;
    suppressed++;
    t.rows.splice(i, 1);
  };
  for (let i = t.rows.length - 1; i >= 0; i--) if (!shownParents.has(parentOf(t.rows[i]!.label))) fold(i);
  for (const [parent, total] of shownParents) {
    for (;;) {
      const mine = t.rows.map((r, i) => [r, i] as const).filter(([r]) => parentOf(r.label) === parent);
      const hidden = total - mine.reduce((a, [r]) => a + r.count, 0);
      if (hidden === 0 || hidden >= k || mine.length === 0) break;
      fold(mine[mine.length - 1]![1]); // the smallest of them (rows are sorted)
    }
  }
  return { rows: t.rows, other: shown(other, k), suppressed };
}

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
  /** Measured events beside opt-out events, per day and for the period (same rules as above). */
  optout: { days: OptoutDayLine[]; totals: { measured: number | null; optedOut: number | null } };
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
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new ReportQueryError(field, `${field} must be a UTC day written YYYY-MM-DD, e.g. 2026-11-29`);
  const t = Date.parse(`${value}T00:00:00Z`);
  // Date.parse rolls 2026-02-30 over to March: only a day that round-trips exists
  if (!Number.isFinite(t) || utcDay(t) !== value) throw new ReportQueryError(field, `${field} is not a calendar day: ${value}`);
  return value;
}

/**
 * Validates a report request (CLI arguments or an HTTP query string alike): `site` is
 * required; `from` defaults to today (UTC), `to` to `from`; `from` <= `to`, at most
 * MAX_REPORT_SPAN_DAYS apart. Throws a ReportQueryError with a message for the caller.
 */
export function parseReportQuery(q: { site?: unknown; from?: unknown; to?: unknown }, now: number = Date.now()): ReportQuery {
  const site = queryString('site', q.site);
  if (site === undefined) throw new ReportQueryError('site', 'site is missing: give the site id (1-64 letters, digits, _ . -)');
  if (!SITE_ID.test(site)) throw new ReportQueryError('site', 'site must be 1-64 letters, digits, _ . -');
  const rawFrom = queryString('from', q.from);
  const rawTo = queryString('to', q.to);
  const from = rawFrom === undefined ? utcDay(now) : utcDayParam('from', rawFrom);
  const to = rawTo === undefined ? from : utcDayParam('to', rawTo);
  if (to < from) throw new ReportQueryError('to', `to (${to}) is before from (${from})`);
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS;
  if (span > MAX_REPORT_SPAN_DAYS) {
    throw new ReportQueryError('to', `to may be at most ${MAX_REPORT_SPAN_DAYS} days after from (${from} to ${to} is ${span} days)`);
  }
  return { site, from, to };
}

function daysBetween(from: string, to: string): string[] {
  const a = Date.parse(`${from}T00:00:00Z`);
  const b = Date.parse(`${to}T00:00:00Z`);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b < a) throw new Error('--from and --to must be days YYYY-MM-DD, from <= to');
  if ((b - a) / DAY_MS > MAX_REPORT_SPAN_DAYS) throw new Error('at most 800 days per report');
  const out: string[] = [];
  for (let t = a; t <= b; t += DAY_MS) out.push(utcDay(t));
  return out;
}

function addAll(into: Map<string, number>, hash: Record<string, string>): void {
  for (const [k, v] of Object.entries(hash)) into.set(k, (into.get(k) ?? 0) + Number(v));
}

const sumValues = (values: string[]) => values.reduce((a, v) => a + Number(v), 0);

/** Days read per pipeline: one round trip carries 29 commands per day (5 aggregates, 24 opt-out hours). */
const DAYS_PER_ROUND_TRIP = 31;
const HOUR_MS = 3_600_000;

export interface ReportOptions {
  prefix: string;
  site: string;
  from: string;
  to: string;
  minCount: number;
}

export async function buildReport(redis: Redis | Cluster, opts: ReportOptions): Promise<Report> {
  const keys = new AggregateKeys(opts.prefix);
  const k = opts.minCount;
  if (!Number.isInteger(k) || k < 1) throw new Error('the minimum count must be an integer of at least 1');
  const pages = new Map<string, number>();
  const geo = new Map<string, number>();
  const devices = new Map<string, number>();
  const days: DayLine[] = [];
  const optoutDays: OptoutDayLine[] = [];
  let pageviews = 0;
  let visits = 0;
  let measured = 0;
  let optedOut = 0;
  const allDays = daysBetween(opts.from, opts.to);
  // Every key of a site carries its hash tag ({site}), the opt-out counters too: one
  // Redis Cluster slot, so a pipeline of them is valid on a cluster as well.
  for (let i = 0; i < allDays.length; i += DAYS_PER_ROUND_TRIP) {
    const chunk = allDays.slice(i, i + DAYS_PER_ROUND_TRIP);
    const pipe = redis.pipeline();
    for (const day of chunk) {
      pipe.hgetall(keys.day(opts.site, 'totals', day));
      pipe.hgetall(keys.day(opts.site, 'pv', day));
      pipe.hgetall(keys.day(opts.site, 'geo', day));
      pipe.hgetall(keys.day(opts.site, 'device', day));
      pipe.hlen(keys.day(opts.site, 'visitors', day));
      const start = Date.parse(`${day}T00:00:00Z`);
      for (let h = 0; h < 24; h++) pipe.hvals(optoutCounterKey(opts.site, start + h * HOUR_MS));
    }
    const replies = (await pipe.exec()) ?? [];
    if (replies.length !== chunk.length * 29) throw new Error('report: the Redis pipeline was cut short');
    const reply = (n: number): unknown => {
      const [err, value] = replies[n]!;
      if (err) throw err;
      return value;
    };
    chunk.forEach((day, j) => {
      const at = j * 29;
      const totals = reply(at) as Record<string, string>;
      addAll(pages, reply(at + 1) as Record<string, string>);
      addAll(geo, reply(at + 2) as Record<string, string>);
      addAll(devices, reply(at + 3) as Record<string, string>);
      const visitors = reply(at + 4) as number;
      let out = 0;
      for (let h = 0; h < 24; h++) out += sumValues(reply(at + 5 + h) as string[]);
      const dp = Number(totals.pageviews ?? 0);
      const dv = Number(totals.visits ?? 0);
      const de = Number(totals.events ?? 0);
      pageviews += dp;
      visits += dv;
      measured += de;
      optedOut += out;
      days.push({ day, pageviews: shown(dp, k), visits: shown(dv, k), visitors: shown(visitors, k) });
      optoutDays.push({ day, measured: shown(de, k), optedOut: shown(out, k) });
    });
  }
  const countries = new Map<string, number>();
  for (const [cell, n] of geo) {
    const country = cell.split('|')[0] || '(unknown)';
    countries.set(country, (countries.get(country) ?? 0) + n);
  }
  const geoLabels = new Map([...geo].map(([cell, n]) => [cell.split('|').map((p) => p || '?').join(' / '), n] as const));
  const countryTable = suppress(countries, k);
  const countryOf = (place: string) => {
    const c = place.split(' / ')[0]!;
    return c === '?' ? '(unknown)' : c;
  };
  return {
    site: opts.site,
    from: opts.from,
    to: opts.to,
    minCount: k,
    totals: {
      pageviews: totalShown(pageviews, days.map((d) => d.pageviews), k),
      visits: totalShown(visits, days.map((d) => d.visits), k),
    },
    days,
    pages: suppress(pages, k),
    geo: suppressWithin(geoLabels, countryOf, countryTable, k),
    countries: countryTable,
    devices: suppress(devices, k),
    optout: {
      days: optoutDays,
      totals: {
        measured: totalShown(measured, optoutDays.map((d) => d.measured), k),
        optedOut: totalShown(optedOut, optoutDays.map((d) => d.optedOut), k),
      },
    },
  };
}

/** A total, unless it would give away the sum of the hidden days (below the minimum). */
function totalShown(total: number, perDay: (number | null)[], k: number): number | null {
  const hidden = total - perDay.reduce<number>((a, n) => a + (n ?? 0), 0);
  return hidden > 0 && hidden < k ? null : shown(total, k);
}

const fmt = (n: number | null) => (n === null ? '<min' : String(n));

function table(title: string, head: string, t: SuppressedTable): string[] {
  const rows: [string, string][] = t.rows.map((r) => [r.label, String(r.count)]);
  if (t.suppressed > 0) rows.push([`${OTHER}: ${t.suppressed} cell(s) suppressed`, fmt(t.other)]);
  if (rows.length === 0) return [`${title}: no data`, ''];
  const w = Math.max(head.length, ...rows.map(([l]) => l.length));
  return [title, `  ${head.padEnd(w)}  count`, ...rows.map(([l, n]) => `  ${l.padEnd(w)}  ${n.padStart(5)}`), ''];
}

/** A readable text rendering of a report. */
export function formatReport(r: Report): string {
  const lines = [
    `Site ${r.site}, ${r.from} to ${r.to} (UTC days); cells below ${r.minCount} are suppressed ("<min")`,
    `Page views: ${fmt(r.totals.pageviews)}   Visits: ${fmt(r.totals.visits)}`,
    '',
    'By day',
    `  ${'day'.padEnd(10)}  ${'page views'.padStart(10)}  ${'visits'.padStart(8)}  ${'visitors'.padStart(8)}`,
    ...r.days.map((d) => `  ${d.day}  ${fmt(d.pageviews).padStart(10)}  ${fmt(d.visits).padStart(8)}  ${fmt(d.visitors).padStart(8)}`),
    '',
    ...table('Page views by page', 'page', r.pages),
    ...table('Visits by country', 'country', r.countries),
    ...table('Visits by country / region / city', 'place', r.geo),
    ...table('Visits by device class', 'device', r.devices),
    ...optoutTable(r),
  ];
  return lines.join('\n');
}

function optoutTable(r: Report): string[] {
  const o = r.optout;
  return [
    'Opt-out: events measured and events of visitors who opted out (anonymous counters)',
    `  ${'day'.padEnd(10)}  ${'measured'.padStart(10)}  ${'opted out'.padStart(10)}`,
    ...o.days.map((d) => `  ${d.day}  ${fmt(d.measured).padStart(10)}  ${fmt(d.optedOut).padStart(10)}`),
    `  ${'total'.padEnd(10)}  ${fmt(o.totals.measured).padStart(10)}  ${fmt(o.totals.optedOut).padStart(10)}`,
  ];
}
