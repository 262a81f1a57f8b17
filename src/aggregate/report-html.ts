// The report as one self-contained HTML page: no script (a Content-Security-Policy
// forbids any), no external font, style or image, so it opens from disk offline and
// prints. Charts are SVG written here, at report time, in Node (no DOM, no browser, no
// dependency); each chart has its numbers in a table beside it.
//
// It only RENDERS a Report: what is shown and what is suppressed was decided once, in
// buildReport (src/aggregate/report.ts), as for the text and JSON formats. A suppressed
// number is written as "suppressed", never as a number; labels of folded cells are not
// in the Report, so not in the page. Every string from Redis (page names, places come
// from hits, i.e. from the sites' pages) is treated as hostile and escaped.
//
// Numbers are written in one fixed format, since a page without script cannot follow
// the reader's locale: digits grouped by three with a narrow no-break space (U+202F,
// "12 345"), a decimal point ("3.2 %"); days are UTC days, YYYY-MM-DD.
import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { buildReport, OTHER, parseReportQuery, type Report, type ReportOptions, type SuppressedTable } from './report.js';

// ---------------------------------------------------------------------------------
// Text: escaping, numbers, labels

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
// C0/C1 controls (but tab, LF, CR) are not allowed in HTML text; lone surrogates are not text
const NOT_TEXT = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for HTML (and SVG inside HTML), in element content and in quoted attribute values. */
export function esc(s: string): string {
  return s.replace(NOT_TEXT, '\uFFFD').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const NNBSP = '\u202F';

/** A count in the page's fixed format: digits grouped by three with a narrow no-break space. */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, NNBSP);
}

const formatShare = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}${NNBSP}%`;

const SUPPRESSED = 'suppressed';

/** A table cell for a count that may be suppressed (null). */
function countCell(n: number | null): string {
  return n === null
    ? `<td class="num sup"><span title="withheld: below the minimum count, or it would let a withheld number be worked out">${SUPPRESSED}</span></td>`
    : `<td class="num"><data value="${n}">${formatCount(n)}</data></td>`;
}

// Explicit direction marks and overrides in a label could reorder what is around it.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Rough width of text in px (no font metrics in Node): enough to keep labels inside their box. */
function textWidth(s: string, px: number): number {
  let w = 0;
  for (const { segment } of segmenter.segment(s)) {
    const c = segment.codePointAt(0)!;
    if (c >= 0x1100 && (c <= 0x115f || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || c >= 0x1f300)) w += 1.0;
    else if (/[il.,:;'|!()[\] ]/.test(segment)) w += 0.3;
    else if (/[A-Z0-9mwMW@%&]/.test(segment)) w += 0.68;
    else w += 0.55;
  }
  return w * px;
}

/** The label shortened with "…" to fit `maxPx` (whole graphemes only). */
function fitLabel(label: string, maxPx: number, px: number): string {
  const clean = label.replace(BIDI_CONTROLS, '');
  if (textWidth(clean, px) <= maxPx) return clean;
  let out = '';
  for (const { segment } of segmenter.segment(clean)) {
    if (textWidth(`${out}${segment}…`, px) > maxPx) break;
    out += segment;
  }
  return `${out.trimEnd()}…`;
}

const regionNames = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });

/** "France (FR)" for a country code; anything else as it is. */
function countryName(code: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return code;
  let name: string | undefined;
  try {
    name = regionNames.of(code);
  } catch {
    name = undefined;
  }
  return name && name !== code && name !== 'Unknown Region' ? `${name} (${code})` : code;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const dayDate = (day: string) => new Date(`${day}T00:00:00Z`);

/** Rounds an SVG coordinate to 0.1 px (a smaller file, the same drawing). */
const r1 = (x: number) => Math.round(x * 10) / 10;

// ---------------------------------------------------------------------------------
// Scales and axes

/**
 * Axis values: 0 to a round maximum at or above `max`, in at most 6 steps of a round
 * size of at least `minStep` (the report's minimum count: no axis label reads like a
 * count below the minimum).
 */
function niceTicks(max: number, minStep: number): number[] {
  const raw = Math.max(max / 6, minStep, 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw && Number.isInteger(s)) ?? 10 * mag;
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let v = 0; v <= top && ticks.length <= 7; v += step) ticks.push(v);
  return ticks;
}

interface DayTick {
  index: number;
  label: string;
}

/** Which days get a label on the x axis: every day, every other day, Mondays, every 2nd Monday, 1st of every 1/2/3/6/12 months. */
function dayTicks(days: string[], budget: number): DayTick[] {
  const dates = days.map(dayDate);
  const dayLabel = (d: Date) => `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  const monthLabel = (d: Date, first: boolean) => (first || d.getUTCMonth() === 0 ? `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}` : MONTHS[d.getUTCMonth()]!);
  const candidates: (() => DayTick[])[] = [
    ...[1, 2].map((k) => () => dates.flatMap((d, index) => (index % k === 0 ? [{ index, label: dayLabel(d) }] : []))),
    ...[1, 2].map((weeks) => () => {
      const mondays = dates.flatMap((d, index) => (d.getUTCDay() === 1 ? [{ index, label: dayLabel(d) }] : []));
      return mondays.filter((_, i) => i % weeks === 0);
    }),
    ...[1, 2, 3, 6, 12].map((months) => () => {
      const firsts = dates.flatMap((d, index) => (d.getUTCDate() === 1 && d.getUTCMonth() % months === 0 ? [{ index, d }] : []));
      return firsts.map(({ index, d }, i) => ({ index, label: monthLabel(d, i === 0) }));
    }),
  ];
  for (const make of candidates) {
    const ticks = make();
    if (ticks.length > 0 && ticks.length <= budget) return ticks;
  }
  return [{ index: 0, label: dayLabel(dates[0]!) }];
}

// ---------------------------------------------------------------------------------
// Charts

/** A chart's accessible frame: role="img", an accessible name (aria-label) and a <title>. */
function svgOpen(id: string, width: number, height: number, title: string, label: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${id}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
    `role="img" aria-label="${esc(label)}"><title>${esc(title)}</title>`
  );
}

interface Series {
  key: string;
  name: string;
  values: (number | null)[];
  /** Which look (colour, line or fill, marker) of the three; default: its position. */
  look?: number;
}

/** Up to this many days a day chart draws columns (grouped per day); beyond, lines. */
export const MAX_COLUMN_DAYS = 31;

const MARKERS = ['circle', 'square', 'triangle'] as const;
/** Line styles, so that no series is told apart by colour alone: solid, dashed, dotted, with distinct markers. */
const DASHES = ['', '7 4', '2 3'];
/** Column fills, for the same reason: solid, hatched, dotted. */
const FILLS = ['solid', 'hatch', 'dots'] as const;

function marker(kind: (typeof MARKERS)[number], x: number, y: number, cls: string): string {
  if (kind === 'circle') return `<circle class="${cls}" cx="${r1(x)}" cy="${r1(y)}" r="3.6"/>`;
  if (kind === 'square') return `<rect class="${cls}" x="${r1(x - 3.3)}" y="${r1(y - 3.3)}" width="6.6" height="6.6"/>`;
  return `<path class="${cls}" d="M${r1(x)},${r1(y - 4.4)}L${r1(x + 4.2)},${r1(y + 3)}L${r1(x - 4.2)},${r1(y + 3)}Z"/>`;
}

/** Fill patterns of the columns of series i (ids unique in the page: prefixed by the chart's id). */
function columnPatterns(id: string, looks: number[]): string {
  const out: string[] = [];
  for (const i of looks) {
    const fill = FILLS[i % FILLS.length]!;
    if (fill === 'hatch') {
      out.push(
        `<pattern id="${id}-f${i + 1}" class="s${i + 1}" patternUnits="userSpaceOnUse" width="7" height="7" patternTransform="rotate(45)">` +
          `<rect class="pat-bg" width="7" height="7"/><line class="pat" x1="0" y1="0" x2="0" y2="7"/></pattern>`,
      );
    } else if (fill === 'dots') {
      out.push(
        `<pattern id="${id}-f${i + 1}" class="s${i + 1}" patternUnits="userSpaceOnUse" width="6" height="6">` +
          `<rect class="pat-bg" width="6" height="6"/><circle class="pat-dot" cx="3" cy="3" r="1.6"/></pattern>`,
      );
    }
  }
  return out.length ? `<defs>${out.join('')}</defs>` : '';
}

const columnFill = (id: string, i: number) => (FILLS[i % FILLS.length] === 'solid' ? '' : ` fill="url(#${id}-f${i + 1})"`);

/**
 * A chart over the report's days. Up to MAX_COLUMN_DAYS days: columns, grouped per day
 * (one day reads as three columns, not three lonely dots); beyond: one line per series.
 * A suppressed day has no column, or a gap in the line.
 */
function dayChart(
  id: string,
  days: string[],
  minCount: number,
  all: Series[],
  title: string,
  yTitle: string,
  layout: { height?: number; minLeft?: number } = {},
): string {
  const series = all.map((s, i) => ({ ...s, look: s.look ?? i }));
  const W = 760;
  const H = layout.height ?? 340;
  const n = days.length;
  const columns = n <= MAX_COLUMN_DAYS;
  const shownValues = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = shownValues.length ? Math.max(...shownValues) : 0;
  const ticks = niceTicks(max, minCount);
  const top = ticks[ticks.length - 1]!;
  const yLabelW = Math.max(...ticks.map((t) => textWidth(formatCount(t), 13)));
  const left = Math.max(layout.minLeft ?? 0, Math.ceil(yLabelW) + 16);
  const right = 14;
  const plotTop = 62;
  const plotBottom = H - 50;
  const plotW = W - left - right;
  const band = plotW / n;
  const withMarkers = !columns && band >= 9;
  // one series alone needs no dash to be told apart (and a dashed line with gaps reads as more gaps)
  const dashOf = (look: number) => (series.length > 1 && DASHES[look] ? ` stroke-dasharray="${DASHES[look]}"` : '');
  const x = (i: number) => left + (i + 0.5) * band;
  const y = (v: number) => plotBottom - (v / top) * (plotBottom - plotTop);
  const period = n === 1 ? days[0]! : `${days[0]} to ${days[n - 1]}`;
  const ranges = series
    .map((s) => {
      const v = s.values.filter((x): x is number => x !== null);
      if (v.length === 0) return `${s.name}: none shown`;
      if (n === 1) return `${s.name} ${formatCount(v[0]!)}`;
      return `${s.name} from ${formatCount(Math.min(...v))} to ${formatCount(Math.max(...v))}`;
    })
    .join('; ');
  const label = `${columns ? 'Column' : 'Line'} chart, ${title}, ${period}. ${shownValues.length ? ranges : 'No data'}. The numbers are in the table.`;
  const out: string[] = [svgOpen(id, W, H, title, label)];
  if (columns) out.push(columnPatterns(id, series.map((s) => s.look)));

  // legend, above the plot: a sample of each series' line and marker, or column fill
  let lx = left;
  series.forEach(({ name, look: i }) => {
    const dash = dashOf(i);
    const sample = columns
      ? `<rect class="col" x="${lx}" y="7" width="22" height="14"${columnFill(id, i)}/>`
      : `<line class="line" x1="${lx}" y1="14" x2="${lx + 30}" y2="14"${dash}/>${withMarkers ? marker(MARKERS[i]!, lx + 15, 14, 'mark') : ''}`;
    const tx = lx + (columns ? 30 : 38);
    out.push(`<g class="legend s${i + 1}">${sample}<text x="${tx}" y="19">${esc(name)}</text></g>`);
    lx = tx + textWidth(name, 14) + 28;
  });
  // y axis: title, gridlines, labels
  out.push(`<text class="axis-title" x="${left - 10}" y="${plotTop - 18}" text-anchor="start">${esc(yTitle)}</text>`);
  for (const t of ticks) {
    out.push(`<line class="grid" x1="${left}" x2="${W - right}" y1="${r1(y(t))}" y2="${r1(y(t))}"/>`);
    out.push(`<text class="tick" x="${left - 6}" y="${r1(y(t) + 4.5)}" text-anchor="end">${formatCount(t)}</text>`);
  }
  // x axis: ticks, title
  const ticksX = dayTicks(days, Math.max(1, Math.floor(plotW / 74)));
  for (const t of ticksX) {
    out.push(`<line class="axis" x1="${r1(x(t.index))}" x2="${r1(x(t.index))}" y1="${plotBottom}" y2="${plotBottom + 5}"/>`);
    const half = textWidth(t.label, 13) / 2;
    const tx = Math.min(Math.max(x(t.index), half + 2), W - half - 2);
    out.push(`<text class="tick" x="${r1(tx)}" y="${plotBottom + 20}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  const years = [...new Set([days[0]!.slice(0, 4), days[n - 1]!.slice(0, 4)])].join('–');
  out.push(`<text class="axis-title" x="${left + plotW / 2}" y="${H - 8}" text-anchor="middle">Day (UTC), ${years}</text>`);
  if (shownValues.length === 0) {
    out.push(`<text class="empty" x="${left + plotW / 2}" y="${(plotTop + plotBottom) / 2}" text-anchor="middle">No data for this period</text>`);
  }

  if (columns) {
    const groupW = Math.min(band * 0.78, series.length * 64);
    const colW = groupW / series.length;
    series.forEach((s, pos) => {
      const i = s.look;
      out.push(`<g class="series s${i + 1}" data-series="${esc(s.key)}">`);
      s.values.forEach((v, d) => {
        const x0 = left + d * band + (band - groupW) / 2 + pos * colW;
        if (v === null) {
          out.push(`<rect class="withheld" x="${r1(x0 + 1.5)}" y="${plotBottom - 7}" width="${r1(Math.max(1, colW - 3))}" height="6"/>`);
          return;
        }
        if (v === 0) return;
        out.push(`<rect class="col" x="${r1(x0 + 0.75)}" y="${r1(y(v))}" width="${r1(colW - 1.5)}" height="${r1(plotBottom - y(v))}"${columnFill(id, i)}/>`);
        const text = formatCount(v);
        if (textWidth(text, 12) <= colW + 4) out.push(`<text class="value" x="${r1(x0 + colW / 2)}" y="${r1(y(v) - 5)}" text-anchor="middle">${text}</text>`);
      });
      out.push('</g>');
    });
  } else {
    // lines, broken where a day is suppressed; markers when there is room for them
    series.forEach((s) => {
      const i = s.look;
      const segments: string[] = [];
      const alone: number[] = [];
      let seg = '';
      let len = 0;
      s.values.forEach((v, d) => {
        if (v === null) {
          if (len === 1) alone.push(d - 1);
          if (seg) segments.push(seg);
          seg = '';
          len = 0;
          return;
        }
        seg += `${seg ? 'L' : 'M'}${r1(x(d))},${r1(y(v))}`;
        len++;
      });
      if (len === 1) alone.push(n - 1);
      if (seg) segments.push(seg);
      const dash = dashOf(i);
      out.push(`<g class="series s${i + 1}" data-series="${esc(s.key)}">`);
      if (segments.length) out.push(`<path class="line" d="${segments.join('')}"${dash}/>`);
      const marked = withMarkers ? s.values.flatMap((v, d) => (v === null ? [] : [d])) : alone;
      for (const d of marked) out.push(marker(MARKERS[i]!, x(d), y(s.values[d]!), 'mark'));
      out.push('</g>');
    });
  }
  out.push(`<line class="axis" x1="${left}" x2="${W - right}" y1="${plotBottom}" y2="${plotBottom}"/>`);
  // one transparent column per day: its numbers as data attributes and as a tooltip (<title>)
  out.push('<g class="days">');
  days.forEach((day, d) => {
    const attrs = series.map((s) => ` data-${s.key}="${s.values[d] === null ? SUPPRESSED : s.values[d]}"`).join('');
    const tip = series.map((s) => `${s.name} ${s.values[d] === null ? SUPPRESSED : formatCount(s.values[d]!)}`).join(', ');
    out.push(
      `<g class="day" data-day="${esc(day)}"${attrs}><rect class="hit" x="${r1(left + d * band)}" y="${plotTop}" width="${r1(band)}" height="${plotBottom - plotTop}"/>` +
        `<title>${esc(day)}: ${esc(tip)}</title></g>`,
    );
  });
  out.push('</g></svg>');
  return out.join('');
}

/** How many bars a bar chart shows at most; the table beside it has every row. */
export const MAX_BARS = 15;

/** A horizontal bar chart of a suppressed table: its largest rows, then "(other)" hatched. */
function barChart(id: string, t: SuppressedTable, minCount: number, title: string, xTitle: string, noun: string, labelOf: (l: string) => string): string {
  const W = 760;
  const rows = t.rows.slice(0, MAX_BARS).map((r) => ({ label: labelOf(r.label), full: r.label, count: r.count as number | null, other: false }));
  if (t.suppressed > 0) rows.push({ label: `${OTHER}: ${t.suppressed} ${t.suppressed === 1 ? 'cell' : 'cells'} suppressed`, full: OTHER, count: t.other, other: true });
  const barH = 20;
  const gap = 8;
  const plotTop = 10;
  const plotBottom = plotTop + rows.length * (barH + gap);
  const H = plotBottom + 52;
  const labelW = 230;
  const left = labelW + 14;
  const right = 78; // room for the value at the end of the longest bar
  const plotW = W - left - right;
  const max = Math.max(0, ...rows.map((r) => r.count ?? 0));
  const ticks = niceTicks(max, minCount);
  const top = ticks[ticks.length - 1]!;
  const x = (v: number) => left + (v / top) * plotW;
  const more = t.rows.length - Math.min(t.rows.length, MAX_BARS);
  const biggest = t.rows[0];
  const label =
    `Bar chart, ${title}. ` +
    (biggest ? `Largest: ${labelOf(biggest.label)}, ${formatCount(biggest.count)}. ` : rows.length ? '' : 'No data. ') +
    (more > 0 ? `The ${MAX_BARS} largest of ${formatCount(t.rows.length)} ${noun} shown; ` : '') +
    'the numbers are in the table.';
  const out: string[] = [svgOpen(id, W, H, title, label)];
  out.push(
    `<defs><pattern id="${id}-hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">` +
      `<rect class="hatch-bg" width="6" height="6"/><line class="hatch" x1="0" y1="0" x2="0" y2="6"/></pattern></defs>`,
  );
  for (const tk of ticks) {
    out.push(`<line class="grid" x1="${r1(x(tk))}" x2="${r1(x(tk))}" y1="${plotTop - 4}" y2="${plotBottom}"/>`);
    out.push(`<text class="tick" x="${r1(x(tk))}" y="${plotBottom + 17}" text-anchor="middle">${formatCount(tk)}</text>`);
  }
  out.push(`<line class="axis" x1="${left}" x2="${left}" y1="${plotTop - 4}" y2="${plotBottom}"/>`);
  out.push(`<text class="axis-title" x="${left + plotW / 2}" y="${H - 12}" text-anchor="middle">${esc(xTitle)}</text>`);
  if (rows.length === 0) out.push(`<text class="empty" x="${left + plotW / 2}" y="${plotTop + 14}" text-anchor="middle">No data for this period</text>`);
  rows.forEach((r, i) => {
    const y0 = plotTop + i * (barH + gap);
    const value = r.count === null ? SUPPRESSED : formatCount(r.count);
    const w = r.count === null ? 0 : Math.max(r.count > 0 ? 1 : 0, x(r.count) - left);
    const fill = r.other ? ` fill="url(#${id}-hatch)"` : '';
    out.push(
      `<g class="bar${r.other ? ' other' : ''}" data-label="${esc(r.full)}" data-value="${r.count === null ? SUPPRESSED : r.count}">` +
        `<title>${esc(r.label)}${r.count === null ? `, together below ${formatCount(minCount)}: not shown` : `: ${value}`}</title>` +
        `<text class="label" x="${labelW}" y="${y0 + barH / 2 + 4.5}" text-anchor="end">${esc(fitLabel(r.label, labelW, 13))}</text>` +
        `<rect class="bar-rect" x="${left}" y="${y0}" width="${r1(w)}" height="${barH}"${fill}/>` +
        `<text class="value" x="${r1(left + w + 6)}" y="${y0 + barH / 2 + 4.5}">${value}</text></g>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}

// ---------------------------------------------------------------------------------
// Tables

/** A table of a suppressed table: every shown row, then the "(other)" row. */
function rowsTable(caption: string, head: string, countHead: string, t: SuppressedTable, labelOf: (l: string) => string): string {
  const body = t.rows.map((r) => `<tr data-label="${esc(r.label)}"><th scope="row"><bdi>${esc(labelOf(r.label))}</bdi></th>${countCell(r.count)}</tr>`);
  if (t.suppressed > 0) {
    body.push(
      `<tr class="other" data-label="${OTHER}"><th scope="row">${OTHER}: ${formatCount(t.suppressed)} ${t.suppressed === 1 ? 'cell' : 'cells'} suppressed</th>${countCell(t.other)}</tr>`,
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

const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1d2330;--muted:#5b6473;--line:#d9dde4;--grid:#eceef2;--card:#f5f7fa;--c1:#0b63b5;--c2:#c2410c;--c3:#047857;--bar:#3b7dc4;--hatch:#8a94a6;--hatch-bg:#e9edf3;--sup:#8a5a00}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--fg:#e6e9ef;--muted:#a3acba;--line:#3a414d;--grid:#262b33;--card:#1d2129;--c1:#6cb4ff;--c2:#ff9b62;--c3:#46d19e;--bar:#5b9be0;--hatch:#8d97aa;--hatch-bg:#2a303a;--sup:#e0b25c}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg)}
body{margin:0 auto;max-width:1280px;padding:28px 32px 40px;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","DejaVu Sans",Helvetica,Arial,sans-serif;font-variant-numeric:tabular-nums}
h1{font-size:1.6rem;line-height:1.25;margin:0 0 .25rem}
h2{font-size:1.2rem;margin:0 0 .75rem;padding-top:.25rem}
header{border-bottom:1px solid var(--line);padding-bottom:1rem;margin-bottom:1.5rem}
header p{margin:0;color:var(--muted)}
section{margin:0 0 2.5rem}
.intro{color:var(--muted);margin:-.4rem 0 1rem;max-width:60rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(13rem,1fr));gap:12px;margin:0}
.cards>div{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:.8rem 1rem}
.cards dt{color:var(--muted);font-size:.9rem}
.cards dd{margin:.15rem 0 0;font-size:1.75rem;font-weight:600;line-height:1.2}
.cards dd.sup{font-size:1.1rem;font-weight:500;color:var(--sup);font-style:italic;padding-top:.45rem}
.cards .note{display:block;font-size:.85rem;font-weight:400;color:var(--muted);margin-top:.2rem}
.pair{display:grid;grid-template-columns:minmax(0,3fr) minmax(17rem,2fr);gap:28px;align-items:start}
@media (max-width:1000px){.pair{grid-template-columns:minmax(0,1fr)}}
@media (max-width:640px){body{padding:16px 14px 28px}svg.chart{min-width:600px}th,td{padding:.3rem .5rem}}
figure{margin:0;overflow-x:auto}
figcaption{color:var(--muted);font-size:.9rem;margin-top:.35rem}
svg.chart{display:block;width:100%;height:auto;font-family:inherit;font-size:13px}
svg.chart text{fill:var(--fg)}
svg.chart .tick{fill:var(--muted)}
svg.chart .axis-title{fill:var(--muted);font-size:13px;font-weight:600}
svg.chart .legend text{font-size:14px}
svg.chart .label{font-size:13px}
svg.chart .value{font-size:12px;fill:var(--muted)}
svg.chart .empty{fill:var(--muted);font-size:15px;font-style:italic}
svg.chart .grid{stroke:var(--grid);stroke-width:1}
svg.chart .axis{stroke:var(--muted);stroke-width:1}
svg.chart .line{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}
svg.chart .s1 .line{stroke:var(--c1)}svg.chart .s1 .mark{fill:var(--c1)}
svg.chart .s2 .line{stroke:var(--c2)}svg.chart .s2 .mark{fill:var(--c2)}
svg.chart .s3 .line{stroke:var(--c3)}svg.chart .s3 .mark{fill:var(--c3)}
svg.chart .mark{stroke:var(--bg);stroke-width:1}
svg.chart .col{stroke-width:1.2}
svg.chart .s1 .col{fill:var(--c1);stroke:var(--c1)}svg.chart .s2 .col{stroke:var(--c2)}svg.chart .s3 .col{stroke:var(--c3)}
svg.chart .pat-bg{fill:var(--bg)}
svg.chart .s2 .pat{stroke:var(--c2);stroke-width:3}svg.chart .s3 .pat-dot{fill:var(--c3)}
svg.chart .withheld{fill:none;stroke:var(--muted);stroke-width:1;stroke-dasharray:2 2}
svg.chart .hit{fill:transparent}
svg.chart .day:hover .hit{fill:var(--grid);fill-opacity:.6}
svg.chart .bar:not(.other) .bar-rect{fill:var(--bar)}
svg.chart .other .bar-rect{stroke:var(--hatch);stroke-width:1}
svg.chart .hatch-bg{fill:var(--hatch-bg)}
svg.chart .hatch{stroke:var(--hatch);stroke-width:2.5}
svg.chart .other .label{font-style:italic}
.table-wrap{border:1px solid var(--line);border-radius:8px;overflow-x:auto}
.table-wrap.long{max-height:30rem;overflow:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}
caption{text-align:left;font-weight:600;padding:.55rem .75rem;color:var(--muted);font-size:.85rem}
th,td{padding:.3rem .75rem;border-top:1px solid var(--line);text-align:left;vertical-align:top}
thead th{position:sticky;top:0;background:var(--card);font-size:.85rem;border-top:1px solid var(--line)}
tbody th{font-weight:400;overflow-wrap:anywhere}
tr[data-day] th{white-space:nowrap}
.num{text-align:right;white-space:nowrap}
td.sup{color:var(--sup);font-style:italic}
tr.other th{font-style:italic;color:var(--muted)}
td[colspan]{color:var(--muted);font-style:italic}
footer{border-top:1px solid var(--line);padding-top:1rem;color:var(--muted);font-size:.88rem}
footer p{margin:.35rem 0;max-width:62rem}
@media print{
:root{--bg:#fff;--fg:#000;--muted:#333;--line:#bbb;--grid:#e3e3e3;--card:#f3f3f3;--c1:#0b4f94;--c2:#b23a06;--c3:#03664a;--bar:#4d7fb8;--hatch:#666;--hatch-bg:#eee;--sup:#6b4500}
@page{size:A4;margin:14mm}
body{max-width:none;padding:0;font-size:10pt}
.pair{grid-template-columns:minmax(0,1fr);gap:10px}
.table-wrap,.table-wrap.long,figure{max-height:none;overflow:visible}
thead{display:table-header-group}
thead th{position:static}
section{break-inside:auto;margin-bottom:1.4rem}
figure,tr,.cards{break-inside:avoid}
.cards{grid-template-columns:repeat(4,minmax(0,1fr))}
h2{break-after:avoid}
svg.chart .day:hover .hit{fill:transparent}
}
`;

const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');
/** No script, nothing fetched, no form, no base: only the page's own style sheet applies. */
export const CONTENT_SECURITY_POLICY = `default-src 'none'; script-src 'none'; style-src 'sha256-${STYLE_HASH}'; img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'`;

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
  return `<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${esc(title)}</h2>${intro ? `<p class="intro">${intro}</p>` : ''}${body}</section>`;
}

const pair = (chart: string, caption: string, tableHtml: string) =>
  `<div class="pair"><figure>${chart}<figcaption>${caption}</figcaption></figure>${tableHtml}</div>`;

/** Renders a report (already suppressed, by buildReport) as one self-contained HTML page. */
export function renderReportHtml(r: Report, opts: RenderOptions = {}): string {
  const days = r.days.map((d) => d.day);
  const n = days.length;
  const k = formatCount(r.minCount);
  const period = n <= 1 ? `${r.from} (1 day, UTC)` : `${r.from} to ${r.to} (${formatCount(n)} days, UTC)`;
  const o = r.optout;
  const both = o.totals.measured !== null && o.totals.optedOut !== null && o.totals.measured + o.totals.optedOut > 0;
  const shareNote = both ? `${formatShare(o.totals.optedOut!, o.totals.measured! + o.totals.optedOut!)} of all events` : undefined;
  const identity = (l: string) => l;
  const label = (l: string) => (l === '' ? '(none)' : l);
  const more = (t: SuppressedTable, noun: string) =>
    t.rows.length > MAX_BARS ? ` The chart shows the ${MAX_BARS} largest of ${formatCount(t.rows.length)} ${noun}; the table has them all.` : '';

  const dayRows = r.days.map((d) => `<tr data-day="${esc(d.day)}"><th scope="row">${esc(d.day)}</th>${countCell(d.pageviews)}${countCell(d.visits)}${countCell(d.visitors)}</tr>`);
  const optoutRows = o.days.map((d) => {
    const share = d.measured !== null && d.optedOut !== null && d.measured + d.optedOut > 0 ? formatShare(d.optedOut, d.measured + d.optedOut) : '–';
    return `<tr data-day="${esc(d.day)}"><th scope="row">${esc(d.day)}</th>${countCell(d.measured)}${countCell(d.optedOut)}<td class="num">${share}</td></tr>`;
  });
  optoutRows.push(
    `<tr class="total" data-day="total"><th scope="row">Total</th>${countCell(o.totals.measured)}${countCell(o.totals.optedOut)}<td class="num">${both ? formatShare(o.totals.optedOut!, o.totals.measured! + o.totals.optedOut!) : '–'}</td></tr>`,
  );

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
      ].join('')}</dl>`,
    ),
    section(
      'per-day',
      'Page views, visits and visitors per day',
      'A visit ends after 30 minutes without an event. Visitors are distinct per day: someone who came on three days counts on each of them, so visitors are not added up over the period.',
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
          ? 'Solid columns: page views; hatched: visits; dotted: visitors. A small dashed box at the bottom is a number withheld.'
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
      'From the screen width (below 600 px mobile, below 1025 px tablet, else desktop) or the browser’s own mobile hint.',
      pair(
        barChart('chart-devices', r.devices, r.minCount, 'Visits by device class', 'Visits', 'device classes', identity),
        more(r.devices, 'device classes').trim(),
        rowsTable('Visits by device class', 'Device class', 'Visits', r.devices, identity),
      ),
    ),
    section(
      'optout',
      'Opt-out: events measured and events of visitors who opted out',
      'Visitors who opt out are not measured: their events only add one to an anonymous counter per hour (no id, no place, no device). Both count events (page views and other events), so they compare like with like.',
      pair(
        dayChart('chart-measured', days, r.minCount, [{ key: 'measured', name: 'Events measured', values: measuredValues }], 'Events measured per day', 'Events per day', panels) +
          dayChart('chart-optedout', days, r.minCount, [{ key: 'optedout', name: 'Events of visitors who opted out', values: optedOutValues, look: 1 }], 'Events of visitors who opted out, per day', 'Events per day', panels),
        `Each chart has its own scale: the share of events that opted out is in the table.${n <= MAX_COLUMN_DAYS ? ' A small dashed box at the bottom is a number withheld.' : ' A gap is a day withheld.'}`,
        table('Events per day', ['Day', 'Measured', 'Opted out', 'Opted-out share'], optoutRows, optoutRows.length),
      ),
    ),
  ];

  const generated = opts.generatedAt ? ` Generated ${opts.generatedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.` : '';
  return `<!doctype html>
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
<p><strong>Privacy.</strong> Only counts are shown, and no count below ${k}: smaller cells are folded into “${OTHER}”, and more cells are folded in when “${OTHER}” would itself be below ${k}, so that no withheld number can be worked out by subtraction. “${SUPPRESSED}” marks a number withheld for these reasons; a total is withheld when it would give away the withheld days.</p>
<p><strong>Numbers.</strong> Written in one fixed format, whatever your language settings (this page runs no script): digits grouped by three with a narrow space (12${NNBSP}345), decimal point (3.2${NNBSP}%). Days are UTC days, YYYY-MM-DD.${generated}</p>
</footer>
</body>
</html>
`;
}

/**
 * The HTML report of a site and period, from the aggregates: what an HTTP route
 * (e.g. GET /admin/report?site=&from=&to=) answers. `site`, `from` and `to` are
 * validated by parseReportQuery (a ReportQueryError means a bad request).
 */
export async function reportHtml(redis: Redis | Cluster, opts: ReportOptions & RenderOptions): Promise<string> {
  const q = parseReportQuery(opts);
  return renderReportHtml(await buildReport(redis, { prefix: opts.prefix, minCount: opts.minCount, ...q }), opts);
}
