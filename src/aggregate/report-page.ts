// The report as one self-contained HTML page: no script (a Content-Security-Policy
// forbids any), no external font, style or image, so it opens from disk offline and
// prints. Charts (report-charts.ts) have their numbers in a table beside them.
//
// It only RENDERS a Report: what is shown and what is suppressed was decided once, in
// buildReport (src/aggregate/report.ts), as for the text and JSON formats. A suppressed
// number is written as "suppressed", never as a number; labels of folded cells are not
// in the Report, so not in the page. Every string is escaped (report-format.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { barChart, dayChart, MAX_BARS, MAX_COLUMN_DAYS, niceTicks } from './report-charts.js';
import { countryName, esc, formatCount, formatShare, NNBSP, SUPPRESSED, textWidth } from './report-format.js';
import type { Report, SourceRow } from './report.js';
import { SOURCE_KINDS, type SourceKind } from './sources.js';
import { OTHER, type SuppressedTable } from './suppress.js';

/** A table cell for a count that may be suppressed (null). */
function countCell(n: number | null): string {
  return n === null
    ? `<td class="num sup"><span title="withheld: below the minimum count, ` +
        `or it would let a withheld number be worked out">${SUPPRESSED}</span></td>`
    : `<td class="num"><data value="${n}">${formatCount(n)}</data></td>`;
}

// ---------------------------------------------------------------------------------
// Tables

/** A table of a suppressed table: every shown row, then the "(other)" row. */
function rowsTable(
  caption: string,
  head: string,
  countHead: string,
  t: SuppressedTable,
  labelOf: (l: string) => string,
): string {
  const body = t.rows.map(
    (r) =>
      `<tr data-label="${esc(r.label)}"><th scope="row"><bdi>${esc(labelOf(r.label))}</bdi></th>` +
      `${countCell(r.count)}</tr>`,
  );
  if (t.suppressed > 0) {
    body.push(
      `<tr class="other" data-label="${OTHER}"><th scope="row">${OTHER}: ` +
        `${formatCount(t.suppressed)} ${t.suppressed === 1 ? 'cell' : 'cells'} suppressed</th>` +
        `${countCell(t.other)}</tr>`,
    );
  }
  if (body.length === 0) body.push(`<tr class="empty"><td colspan="2">No data for this period</td></tr>`);
  return table(caption, [head, countHead], body, body.length);
}

function table(caption: string, heads: string[], body: string[], rows: number): string {
  const th = heads.map((h, i) => `<th scope="col"${i > 0 ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  return (
    `<div class="table-wrap${rows > 16 ? ' long' : ''}"><table><caption>${esc(caption)}</caption>` +
    `<thead><tr>${th}</tr></thead><tbody>${body.join('')}</tbody></table></div>`
  );
}

// ---------------------------------------------------------------------------------
// The page

// The style sheet is an asset beside this file (copied to dist/ by scripts/copy-assets.mjs),
// inlined at render time: the page stays one file that opens from disk.
const STYLE = readFileSync(new URL('./report.css', import.meta.url), 'utf8');
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
/** No script, nothing fetched, no form, no base: only the page's own style sheet applies. */
export const CONTENT_SECURITY_POLICY =
  `default-src 'none'; script-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'none'; font-src 'none'; ` +
  `connect-src 'none'; base-uri 'none'; form-action 'none'`;

export interface RenderOptions {
  /** Shown in the footer (UTC). Without it the page holds no time: the same report gives the same bytes. */
  generatedAt?: Date;
}

function totalCard(name: string, n: number | null, note?: string): string {
  const noteHtml = note ? `<span class="note">${note}</span>` : '';
  return n === null
    ? `<div><dt>${esc(name)}</dt><dd class="sup">${SUPPRESSED}${noteHtml}</dd></div>`
    : `<div><dt>${esc(name)}</dt><dd><data value="${n}">${formatCount(n)}</data>${noteHtml}</dd></div>`;
}

function section(id: string, title: string, intro: string, body: string): string {
  return (
    `<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${esc(title)}</h2>` +
    `${intro ? `<p class="intro">${intro}</p>` : ''}${body}</section>`
  );
}

const pair = (chart: string, caption: string, tableHtml: string, layout: 'side' | 'stack' = 'side') =>
  `<div class="pair${layout === 'stack' ? ' stack' : ''}">` +
  `<figure>${chart}<figcaption>${caption}</figcaption></figure>${tableHtml}</div>`;

/** What the page calls each kind of source: in the per-day chart and table, and beside a source's name. */
const KIND_NAMES: Readonly<Record<SourceKind, { plural: string; short: string; one: string }>> = {
  search: { plural: 'Search engines', short: 'Search', one: 'search engine' },
  social: { plural: 'Social networks', short: 'Social', one: 'social network' },
  website: { plural: 'Other websites', short: 'Websites', one: 'website' },
  direct: { plural: 'Direct', short: 'Direct', one: 'direct' },
  internal: { plural: 'Internal', short: 'Internal', one: 'internal' },
};

/**
 * Up to this many days the page shows sources per day (a chart and a table of five columns);
 * beyond, the JSON has them.
 */
const MAX_SOURCE_DAYS = 92;

/** A source as the chart names it: "Google · search engine", "Direct (no referrer)", a host as it is. */
function sourceLabel(row: SourceRow | undefined, label: string): string {
  if (!row) return label;
  if (row.kind === 'direct') return 'Direct (no referrer)';
  if (row.kind === 'internal') return 'Internal (the site’s own pages)';
  return row.kind === 'website' ? label : `${label} · ${KIND_NAMES[row.kind].one}`;
}

/** The sources of the period: name, kind, visits; then "(other)". */
function sourcesTable(r: Report): string {
  const t = r.sources;
  const body = t.rows.map(
    (row) =>
      `<tr data-label="${esc(row.label)}" data-kind="${row.kind}"><th scope="row">` +
      `<bdi>${esc(row.kind === 'direct' || row.kind === 'internal' ? KIND_NAMES[row.kind].plural : row.label)}` +
      '</bdi></th>' +
      `<td class="kind">${KIND_NAMES[row.kind].one}</td>${countCell(row.count)}</tr>`,
  );
  if (t.suppressed > 0) {
    body.push(
      `<tr class="other" data-label="${OTHER}"><th scope="row">${OTHER}: ` +
        `${formatCount(t.suppressed)} ${t.suppressed === 1 ? 'source' : 'sources'} suppressed</th>` +
        `<td></td>${countCell(t.other)}</tr>`,
    );
  }
  if (body.length === 0) body.push(`<tr class="empty"><td colspan="3">No data for this period</td></tr>`);
  return table('Visits by source', ['Source', 'Kind', 'Visits'], body, body.length);
}

/** Renders a report (already suppressed, by buildReport) as one self-contained HTML page. */
export function renderReportHtml(r: Report, opts: RenderOptions = {}): string {
  const days = r.days.map((d) => d.day);
  const n = days.length;
  const k = formatCount(r.minCount);
  const period = n <= 1 ? `${r.from} (1 day, UTC)` : `${r.from} to ${r.to} (${formatCount(n)} days, UTC)`;
  const o = r.optout;
  const both = o.totals.measured !== null && o.totals.optedOut !== null && o.totals.measured + o.totals.optedOut > 0;
  const shareNote = both
    ? `${formatShare(o.totals.optedOut!, o.totals.measured! + o.totals.optedOut!)} of all events`
    : undefined;
  const identity = (l: string) => l;
  const label = (l: string) => (l === '' ? '(none)' : l);
  const more = (t: SuppressedTable, noun: string) =>
    t.rows.length > MAX_BARS
      ? ` The chart shows the ${MAX_BARS} largest of ${formatCount(t.rows.length)} ${noun}; the table has them all.`
      : '';

  const dayRows = r.days.map(
    (d) =>
      `<tr data-day="${esc(d.day)}"><th scope="row">${esc(d.day)}</th>` +
      `${countCell(d.pageviews)}${countCell(d.visits)}${countCell(d.visitors)}</tr>`,
  );
  const optoutRows = o.days.map((d) => {
    const share =
      d.measured !== null && d.optedOut !== null && d.measured + d.optedOut > 0
        ? formatShare(d.optedOut, d.measured + d.optedOut)
        : '–';
    return (
      `<tr data-day="${esc(d.day)}"><th scope="row">${esc(d.day)}</th>` +
      `${countCell(d.measured)}${countCell(d.optedOut)}<td class="num">${share}</td></tr>`
    );
  });
  optoutRows.push(
    `<tr class="total" data-day="total"><th scope="row">Total</th>` +
      `${countCell(o.totals.measured)}${countCell(o.totals.optedOut)}` +
      `<td class="num">${both ? formatShare(o.totals.optedOut!, o.totals.measured! + o.totals.optedOut!) : '–'}` +
      '</td></tr>',
  );

  const sourceDayRows = r.sources.days.map(
    (d) =>
      `<tr data-day="${esc(d.day)}"><th scope="row">${esc(d.day)}</th>` +
      `${SOURCE_KINDS.map((kind) => countCell(d[kind])).join('')}</tr>`,
  );
  const s = r.setApart;
  const setApartRows = s.days.map(
    (d) =>
      `<tr data-day="${esc(d.day)}"><th scope="row">${esc(d.day)}</th>${countCell(d.robots)}${countCell(d.spam)}</tr>`,
  );
  setApartRows.push(
    `<tr class="total" data-day="total"><th scope="row">Total</th>` +
      `${countCell(s.totals.robots)}${countCell(s.totals.spam)}</tr>`,
  );
  const sourceRowOf = new Map(r.sources.rows.map((row) => [row.label, row] as const));
  const withheld =
    n <= MAX_COLUMN_DAYS ? ' A small dashed box at the bottom is a number withheld.' : ' A gap is a day withheld.';

  // the two opt-out charts, one above the other, share their x axis: the same left margin
  const measuredValues = o.days.map((d) => d.measured);
  const optedOutValues = o.days.map((d) => d.optedOut);
  const yAxisWidth = (values: (number | null)[]) => {
    const ticks = niceTicks(Math.max(0, ...values.map((v) => v ?? 0)), r.minCount);
    return Math.ceil(textWidth(formatCount(ticks[ticks.length - 1]!), 13)) + 16;
  };
  const panels = { height: 250, minLeft: Math.max(yAxisWidth(measuredValues), yAxisWidth(optedOutValues)) };

  const sections = [
    section(
      'totals',
      'Totals',
      '',
      `<dl class="cards">${[
        totalCard('Page views', r.totals.pageviews),
        totalCard('Visits', r.totals.visits),
        totalCard('Events measured', o.totals.measured),
        totalCard('Events of visitors who opted out', o.totals.optedOut, shareNote),
        totalCard('Hits set apart as robots', s.totals.robots, 'not audience'),
        totalCard('Hits set apart as referrer spam', s.totals.spam, 'not audience'),
      ].join('')}</dl>`,
    ),
    section(
      'per-day',
      'Page views, visits and visitors per day',
      'A visit ends after 30 minutes without an event. Visitors are distinct per day: ' +
        'someone who came on three days counts on each of them, so visitors are not added up over the period.',
      pair(
        dayChart(
          'chart-days',
          days,
          r.minCount,
          [
            { key: 'pageviews', name: 'Page views', values: r.days.map((d) => d.pageviews) },
            { key: 'visits', name: 'Visits', values: r.days.map((d) => d.visits) },
            { key: 'visitors', name: 'Visitors', values: r.days.map((d) => d.visitors) },
          ],
          'Page views, visits and visitors per day',
          'Count per day',
        ),
        n <= MAX_COLUMN_DAYS
          ? 'Solid columns: page views; hatched: visits; dotted: visitors. ' +
              'A small dashed box at the bottom is a number withheld.'
          : 'Solid line: page views; dashed: visits; dotted: visitors. A gap is a day withheld.',
        table('Per day', ['Day', 'Page views', 'Visits', 'Visitors'], dayRows, dayRows.length),
      ),
    ),
    section(
      'pages',
      'Page views by page',
      '',
      pair(
        barChart('chart-pages', r.pages, r.minCount, 'Page views by page', 'Page views', 'pages', label),
        `Long page names are shortened in the chart; the table has them in full.${more(r.pages, 'pages')}`,
        rowsTable('Page views by page', 'Page', 'Page views', r.pages, label),
      ),
    ),
    section(
      'sources',
      'Visits by source',
      'Where a visit came from: the host of the page that linked to its first page (its referrer), ' +
        'and nothing more of it. Search engines and social networks are named; ' +
        '“Direct” is a visit without a referrer (an address typed, a bookmark, an app, ' +
        'or a page whose policy sends none); ' +
        '“Internal” one that started from the site’s own pages (after 30 minutes away).',
      pair(
        barChart('chart-sources', r.sources, r.minCount, 'Visits by source', 'Visits', 'sources', (l) =>
          sourceLabel(sourceRowOf.get(l), l),
        ),
        'Search engines and social networks are named whatever the country domain ' +
          `(google.fr and google.com are Google).${more(r.sources, 'sources')}`,
        sourcesTable(r),
      ) +
        (n > MAX_SOURCE_DAYS
          ? `<p class="intro">Over more than ${MAX_SOURCE_DAYS} days the page leaves out sources per day ` +
            `(${formatCount(n * SOURCE_KINDS.length)} numbers); the JSON report (--format json) has them.</p>`
          : pair(
              dayChart(
                'chart-source-days',
                days,
                r.minCount,
                SOURCE_KINDS.map((kind) => ({
                  key: kind,
                  name: KIND_NAMES[kind].plural,
                  values: r.sources.days.map((d) => d[kind]),
                })),
                'Visits by kind of source, per day',
                'Visits per day',
              ),
              `${
                n <= MAX_COLUMN_DAYS
                  ? 'Solid columns: search engines; hatched: social networks; dotted: other websites; ' +
                    'cross-hatched: direct; striped: internal.'
                  : 'Solid line: search engines; dashed: social networks; dotted: other websites; ' +
                    'dash-dot: direct; short dashes: internal.'
              }${withheld}`,
              table(
                'Visits by kind of source, per day',
                ['Day', ...SOURCE_KINDS.map((kind) => KIND_NAMES[kind].short)],
                sourceDayRows,
                sourceDayRows.length,
              ),
              'stack', // six columns: the table below its chart, not beside it
            )),
    ),
    section(
      'countries',
      'Visits by country',
      '',
      pair(
        barChart('chart-countries', r.countries, r.minCount, 'Visits by country', 'Visits', 'countries', countryName),
        `Country of the visit's first event.${more(r.countries, 'countries')}`,
        rowsTable('Visits by country', 'Country', 'Visits', r.countries, countryName),
      ),
    ),
    section(
      'places',
      'Visits by country / region / city',
      '',
      pair(
        barChart('chart-places', r.geo, r.minCount, 'Visits by country, region and city', 'Visits', 'places', identity),
        `"?" is a part the geolocation did not know.${more(r.geo, 'places')}`,
        rowsTable('Visits by country / region / city', 'Place', 'Visits', r.geo, identity),
      ),
    ),
    section(
      'devices',
      'Visits by device class',
      'From the screen width (below 600 px mobile, below 1025 px tablet, else desktop) ' +
        'or the browser’s own mobile hint.',
      pair(
        barChart(
          'chart-devices',
          r.devices,
          r.minCount,
          'Visits by device class',
          'Visits',
          'device classes',
          identity,
        ),
        more(r.devices, 'device classes').trim(),
        rowsTable('Visits by device class', 'Device class', 'Visits', r.devices, identity),
      ),
    ),
    section(
      'optout',
      'Opt-out: events measured and events of visitors who opted out',
      'Visitors who opt out are not measured: their events only add one to an anonymous counter per hour ' +
        '(no id, no place, no device). Both count events (page views and other events), ' +
        'so they compare like with like.',
      pair(
        dayChart(
          'chart-measured',
          days,
          r.minCount,
          [{ key: 'measured', name: 'Events measured', values: measuredValues }],
          'Events measured per day',
          'Events per day',
          panels,
        ) +
          dayChart(
            'chart-optedout',
            days,
            r.minCount,
            [{ key: 'optedout', name: 'Events of visitors who opted out', values: optedOutValues, look: 1 }],
            'Events of visitors who opted out, per day',
            'Events per day',
            panels,
          ),
        'Each chart has its own scale: the share of events that opted out is in the table.' +
          `${
            n <= MAX_COLUMN_DAYS
              ? ' A small dashed box at the bottom is a number withheld.'
              : ' A gap is a day withheld.'
          }`,
        table('Events per day', ['Day', 'Measured', 'Opted out', 'Opted-out share'], optoutRows, optoutRows.length),
      ),
    ),
    section(
      'set-apart',
      'Set apart, not audience: robots and referrer spam',
      'Hits the collector did not count as audience: from robots (crawlers, monitoring, HTTP libraries, ' +
        'headless browsers, by their User-Agent) and with a referrer on the public referrer-spam list. ' +
        'They answer like any hit but only add one to an anonymous counter per hour: ' +
        'no page, no id, no User-Agent is kept.',
      pair(
        dayChart(
          'chart-set-apart',
          days,
          r.minCount,
          [
            { key: 'robots', name: 'Robots', values: s.days.map((d) => d.robots) },
            { key: 'spam', name: 'Referrer spam', values: s.days.map((d) => d.spam) },
          ],
          'Hits set apart per day',
          'Hits per day',
          { height: 280 },
        ),
        `${
          n <= MAX_COLUMN_DAYS
            ? 'Solid columns: robots; hatched: referrer spam.'
            : 'Solid line: robots; dashed: referrer spam.'
        }${withheld}`,
        table('Hits set apart per day', ['Day', 'Robots', 'Referrer spam'], setApartRows, setApartRows.length),
      ),
    ),
  ];

  const generated = opts.generatedAt
    ? ` Generated ${opts.generatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.`
    : '';
  return (
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Audience of site ${esc(r.site)}, ${esc(n <= 1 ? r.from : `${r.from} to ${r.to}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>Audience of site ${esc(r.site)}</h1><p>${esc(period)}</p></header>
<main>
${sections.join('\n')}
</main>
<footer>
<p><strong>Privacy.</strong> Only counts are shown, and no count below ${k} beside a name: ` +
    `smaller cells are folded, without their names, into “${OTHER}”, itself withheld when below ${k}; ` +
    `a row of ${k} or more is always shown. Subtracting the shown rows from a total gives what the unnamed cells ` +
    `hold together, never which page, place or source they are. Places are also folded within their country, ` +
    `so that a country minus its shown places never leaves a small number, ` +
    `and a period’s total is withheld when it would give away a withheld day. ` +
    `“${SUPPRESSED}” marks a withheld number.</p>
<p><strong>Numbers.</strong> Written in one fixed format, whatever your language settings ` +
    `(this page runs no script): digits grouped by three with a narrow space (12${NNBSP}345), ` +
    `decimal point (3.2${NNBSP}%). Days are UTC days, YYYY-MM-DD.${generated}</p>
</footer>
</body>
</html>
`
  );
}
