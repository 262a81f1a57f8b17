// Reports from the aggregates: counts only, and no cell small enough to single out a
// person. Every table goes through `suppress`: a cell below the minimum count
// (REPORT_MIN_COUNT, default 5) is not shown but folded into an "(other)" row; when
// that row would itself be below the minimum, the smallest shown cells are folded in
// too until it is not, so no hidden cell can be recovered by subtracting the shown
// ones from a total. A total below the minimum is not shown either.
import type { Cluster, Redis } from 'ioredis';
import { AggregateKeys, DAY_MS, utcDay } from './store.js';

export const OTHER = '(other)';

export interface Row {
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
  const entries = (cells instanceof Map ? [...cells] : Object.entries(cells)).filter(([, n]) => n > 0);
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

export interface DayLine {
  day: string;
  pageviews: number | null;
  visits: number | null;
  /** Distinct visitors of that day. */
  visitors: number | null;
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
}

export function daysBetween(from: string, to: string): string[] {
  const a = Date.parse(`${from}T00:00:00Z`);
  const b = Date.parse(`${to}T00:00:00Z`);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b < a) throw new Error('--from and --to must be days YYYY-MM-DD, from <= to');
  if ((b - a) / DAY_MS > 800) throw new Error('at most 800 days per report');
  const out: string[] = [];
  for (let t = a; t <= b; t += DAY_MS) out.push(utcDay(t));
  return out;
}

function addAll(into: Map<string, number>, hash: Record<string, string>): void {
  for (const [k, v] of Object.entries(hash)) into.set(k, (into.get(k) ?? 0) + Number(v));
}

export async function buildReport(
  redis: Redis | Cluster,
  opts: { prefix: string; site: string; from: string; to: string; minCount: number },
): Promise<Report> {
  const keys = new AggregateKeys(opts.prefix);
  const k = opts.minCount;
  const pages = new Map<string, number>();
  const geo = new Map<string, number>();
  const devices = new Map<string, number>();
  const days: DayLine[] = [];
  let pageviews = 0;
  let visits = 0;
  for (const day of daysBetween(opts.from, opts.to)) {
    const [totals, pv, g, dev, visitors] = await Promise.all([
      redis.hgetall(keys.day(opts.site, 'totals', day)),
      redis.hgetall(keys.day(opts.site, 'pv', day)),
      redis.hgetall(keys.day(opts.site, 'geo', day)),
      redis.hgetall(keys.day(opts.site, 'device', day)),
      redis.hlen(keys.day(opts.site, 'visitors', day)),
    ]);
    addAll(pages, pv);
    addAll(geo, g);
    addAll(devices, dev);
    const dp = Number(totals.pageviews ?? 0);
    const dv = Number(totals.visits ?? 0);
    pageviews += dp;
    visits += dv;
    days.push({ day, pageviews: shown(dp, k), visits: shown(dv, k), visitors: shown(visitors, k) });
  }
  const countries = new Map<string, number>();
  for (const [cell, n] of geo) {
    const country = cell.split('|')[0] || '(unknown)';
    countries.set(country, (countries.get(country) ?? 0) + n);
  }
  const geoLabels = new Map([...geo].map(([cell, n]) => [cell.split('|').map((p) => p || '?').join(' / '), n] as const));
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
    geo: suppress(geoLabels, k),
    countries: suppress(countries, k),
    devices: suppress(devices, k),
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
  ];
  return lines.join('\n');
}
