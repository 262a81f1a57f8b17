// The report as text (`npm run report`, the default format): what buildReport decided
// to show, as aligned tables; a withheld number reads "<min".
import type { Report } from './report.js';
import type { SourceKind } from './sources.js';
import { OTHER, type SuppressedTable } from './suppress.js';

const fmt = (n: number | null) => (n === null ? '<min' : String(n));

type Labeller = (r: SuppressedTable['rows'][number]) => string;

function table(title: string, head: string, t: SuppressedTable, labelOf: Labeller = (r) => r.label): string[] {
  const rows: [string, string][] = t.rows.map((r) => [labelOf(r), String(r.count)]);
  if (t.suppressed > 0) rows.push([`${OTHER}: ${t.suppressed} cell(s) suppressed`, fmt(t.other)]);
  if (rows.length === 0) return [`${title}: no data`, ''];
  const w = Math.max(head.length, ...rows.map(([l]) => l.length));
  return [title, `  ${head.padEnd(w)}  count`, ...rows.map(([l, n]) => `  ${l.padEnd(w)}  ${n.padStart(5)}`), ''];
}

/** Per-day columns: a header and one line per day, each value right-aligned under its heading. */
function dayColumns<D extends { day: string }>(
  title: string,
  heads: string[],
  days: D[],
  values: (d: D) => (number | null)[],
  total?: (number | null)[],
): string[] {
  const cell = (c: string, i: number) => `  ${c.padStart(Math.max(8, heads[i]!.length))}`;
  const line = (first: string, cells: string[]) => `  ${first.padEnd(10)}${cells.map(cell).join('')}`;
  return [
    title,
    line('day', heads),
    ...days.map((d) => line(d.day, values(d).map(fmt))),
    ...(total ? [line('total', total.map(fmt))] : []),
    '',
  ];
}

const SOURCE_KIND_NAMES: Readonly<Record<SourceKind, string>> = {
  search: 'search engine',
  social: 'social network',
  website: 'website',
  direct: 'direct',
  internal: 'internal',
};

const KIND_HEADS = ['search', 'social', 'websites', 'direct', 'internal'];

/** A readable text rendering of a report. */
export function formatReport(r: Report): string {
  const kinds = ['search', 'social', 'website', 'direct', 'internal'] as const;
  const s = r.setApart;
  const lines = [
    `Site ${r.site}, ${r.from} to ${r.to} (UTC days); cells below ${r.minCount} are suppressed ("<min")`,
    `Page views: ${fmt(r.totals.pageviews)}   Visits: ${fmt(r.totals.visits)}`,
    '',
    ...dayColumns('By day', ['page views', 'visits', 'visitors'], r.days, (d) => [d.pageviews, d.visits, d.visitors]),
    ...table('Page views by page', 'page', r.pages),
    ...table('Visits by source', 'source', r.sources, (row) => {
      const kind = (row as Report['sources']['rows'][number]).kind;
      return kind === 'search' || kind === 'social' ? `${row.label} (${SOURCE_KIND_NAMES[kind]})` : row.label;
    }),
    ...dayColumns('Visits by kind of source', KIND_HEADS, r.sources.days, (d) => kinds.map((k) => d[k])),
    ...table('Visits by country', 'country', r.countries),
    ...table('Visits by country / region / city', 'place', r.geo),
    ...table('Visits by device class', 'device', r.devices),
    ...dayColumns(
      'Opt-out: events measured and events of visitors who opted out (anonymous counters)',
      ['measured', 'opted out'],
      r.optout.days,
      (d) => [d.measured, d.optedOut],
      [r.optout.totals.measured, r.optout.totals.optedOut],
    ),
    ...dayColumns(
      'Set apart, not audience: hits of robots and with a referrer-spam referrer (anonymous counters)',
      ['robots', 'spam'],
      s.days,
      (d) => [d.robots, d.spam],
      [s.totals.robots, s.totals.spam],
    ),
  ];
  return lines.join('\n').trimEnd();
}
