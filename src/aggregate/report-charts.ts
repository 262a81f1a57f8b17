// The report page's charts, SVG written in Node at report time (no DOM, no browser, no
// dependency): per-day columns or lines, and horizontal bars. They draw what a Report
// holds: a withheld number (null) is drawn as withheld, never as a number, and no axis
// step is below the minimum count.
import { OTHER, type SuppressedTable } from './suppress.js';
import { dayDate, esc, fitLabel, formatCount, MONTHS, r1, SUPPRESSED, textWidth } from './report-format.js';

// ---------------------------------------------------------------------------------
// Scales and axes

/**
/**
 * Axis values: 0 to a round maximum at or above `max`, in at most 6 steps of a round
 * size of at least `minStep` (the report's minimum count: no axis label reads like a
 * count below the minimum).
 */
export function niceTicks(max: number, minStep: number): number[] {
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

/**
 * Which days get a label on the x axis: every day, every other day, Mondays, every 2nd Monday,
 * 1st of every 1/2/3/6/12 months.
 */
function dayTicks(days: string[], budget: number): DayTick[] {
  const dates = days.map(dayDate);
  const dayLabel = (d: Date) => `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  const monthLabel = (d: Date, first: boolean) =>
    first || d.getUTCMonth() === 0 ? `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}` : MONTHS[d.getUTCMonth()]!;
  const candidates: (() => DayTick[])[] = [
    ...[1, 2].map((k) => () => dates.flatMap((d, index) => (index % k === 0 ? [{ index, label: dayLabel(d) }] : []))),
    ...[1, 2].map((weeks) => () => {
      const mondays = dates.flatMap((d, index) => (d.getUTCDay() === 1 ? [{ index, label: dayLabel(d) }] : []));
      return mondays.filter((_, i) => i % weeks === 0);
    }),
    ...[1, 2, 3, 6, 12].map((months) => () => {
      const firsts = dates.flatMap((d, index) =>
        d.getUTCDate() === 1 && d.getUTCMonth() % months === 0 ? [{ index, d }] : [],
      );
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
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${id}" ` +
    `viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" ` +
    `role="img" aria-label="${esc(label)}"><title>${esc(title)}</title>`
  );
}

interface Series {
  key: string;
  name: string;
  values: (number | null)[];
  /** Which look (colour, line or fill, marker) of the five; default: its position. */
  look?: number;
}

/** Up to this many days a day chart draws columns (grouped per day); beyond, lines. */
export const MAX_COLUMN_DAYS = 31;

// Five looks (the sources chart has five series; the others up to three).
const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'down'] as const;
/**
 * Line styles, so that no series is told apart by colour alone: solid, dashed, dotted, dash-dot, short dashes,
 * with distinct markers.
 */
const DASHES = ['', '7 4', '2 3', '9 3 2 3', '4 2'];
/** Column fills, for the same reason: solid, hatched, dotted, cross-hatched, striped. */
const FILLS = ['solid', 'hatch', 'dots', 'cross', 'stripes'] as const;

function marker(kind: (typeof MARKERS)[number], x: number, y: number, cls: string): string {
  if (kind === 'circle') return `<circle class="${cls}" cx="${r1(x)}" cy="${r1(y)}" r="3.6"/>`;
  if (kind === 'square') return `<rect class="${cls}" x="${r1(x - 3.3)}" y="${r1(y - 3.3)}" width="6.6" height="6.6"/>`;
  if (kind === 'diamond')
    return (
      `<path class="${cls}" d="M${r1(x)},${r1(y - 4.6)}L${r1(x + 4.6)},${r1(y)}` +
      `L${r1(x)},${r1(y + 4.6)}L${r1(x - 4.6)},${r1(y)}Z"/>`
    );
  if (kind === 'down')
    return (
      `<path class="${cls}" d="M${r1(x)},${r1(y + 4.4)}L${r1(x + 4.2)},${r1(y - 3)}` +
      `L${r1(x - 4.2)},${r1(y - 3)}Z"/>`
    );
  return `<path class="${cls}" d="M${r1(x)},${r1(y - 4.4)}L${r1(x + 4.2)},${r1(y + 3)}L${r1(x - 4.2)},${r1(y + 3)}Z"/>`;
}

/** Fill patterns of the columns of series i (ids unique in the page: prefixed by the chart's id). */
function columnPatterns(id: string, looks: number[]): string {
  const out: string[] = [];
  for (const i of looks) {
    const fill = FILLS[i % FILLS.length]!;
    if (fill === 'hatch') {
      out.push(
        `<pattern id="${id}-f${i + 1}" class="s${i + 1}" patternUnits="userSpaceOnUse" ` +
          `width="7" height="7" patternTransform="rotate(45)">` +
          `<rect class="pat-bg" width="7" height="7"/><line class="pat" x1="0" y1="0" x2="0" y2="7"/></pattern>`,
      );
    } else if (fill === 'dots') {
      out.push(
        `<pattern id="${id}-f${i + 1}" class="s${i + 1}" patternUnits="userSpaceOnUse" width="6" height="6">` +
          `<rect class="pat-bg" width="6" height="6"/><circle class="pat-dot" cx="3" cy="3" r="1.6"/></pattern>`,
      );
    } else if (fill === 'cross') {
      out.push(
        `<pattern id="${id}-f${i + 1}" class="s${i + 1}" patternUnits="userSpaceOnUse" ` +
          `width="7" height="7" patternTransform="rotate(45)">` +
          `<rect class="pat-bg" width="7" height="7"/><line class="pat" x1="0" y1="0" x2="0" y2="7"/>` +
          `<line class="pat" x1="0" y1="0" x2="7" y2="0"/></pattern>`,
      );
    } else if (fill === 'stripes') {
      out.push(
        `<pattern id="${id}-f${i + 1}" class="s${i + 1}" patternUnits="userSpaceOnUse" width="6" height="5">` +
          `<rect class="pat-bg" width="6" height="5"/><line class="pat" x1="0" y1="1" x2="6" y2="1"/></pattern>`,
      );
    }
  }
  return out.length ? `<defs>${out.join('')}</defs>` : '';
}

const columnFill = (id: string, i: number) =>
  FILLS[i % FILLS.length] === 'solid' ? '' : ` fill="url(#${id}-f${i + 1})"`;

/**
 * A chart over the report's days. Up to MAX_COLUMN_DAYS days: columns, grouped per day
 * (one day reads as three columns, not three lonely dots); beyond: one line per series.
 * A suppressed day has no column, or a gap in the line.
 */
export function dayChart(
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
  const label =
    `${columns ? 'Column' : 'Line'} chart, ${title}, ${period}. ` +
    `${shownValues.length ? ranges : 'No data'}. The numbers are in the table.`;
  const out: string[] = [svgOpen(id, W, H, title, label)];
  if (columns)
    out.push(
      columnPatterns(
        id,
        series.map((s) => s.look),
      ),
    );

  // legend, above the plot: a sample of each series' line and marker, or column fill
  let lx = left;
  series.forEach(({ name, look: i }) => {
    const dash = dashOf(i);
    const sample = columns
      ? `<rect class="col" x="${lx}" y="7" width="22" height="14"${columnFill(id, i)}/>`
      : `<line class="line" x1="${lx}" y1="14" x2="${lx + 30}" y2="14"${dash}/>` +
        `${withMarkers ? marker(MARKERS[i]!, lx + 15, 14, 'mark') : ''}`;
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
    out.push(
      `<line class="axis" x1="${r1(x(t.index))}" x2="${r1(x(t.index))}" y1="${plotBottom}" y2="${plotBottom + 5}"/>`,
    );
    const half = textWidth(t.label, 13) / 2;
    const tx = Math.min(Math.max(x(t.index), half + 2), W - half - 2);
    out.push(`<text class="tick" x="${r1(tx)}" y="${plotBottom + 20}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  const years = [...new Set([days[0]!.slice(0, 4), days[n - 1]!.slice(0, 4)])].join('–');
  out.push(
    `<text class="axis-title" x="${left + plotW / 2}" y="${H - 8}" text-anchor="middle">Day (UTC), ${years}</text>`,
  );
  if (shownValues.length === 0) {
    out.push(
      `<text class="empty" x="${left + plotW / 2}" y="${(plotTop + plotBottom) / 2}" ` +
        `text-anchor="middle">No data for this period</text>`,
    );
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
          out.push(
            `<rect class="withheld" x="${r1(x0 + 1.5)}" y="${plotBottom - 7}" ` +
              `width="${r1(Math.max(1, colW - 3))}" height="6"/>`,
          );
          return;
        }
        if (v === 0) return;
        out.push(
          `<rect class="col" x="${r1(x0 + 0.75)}" y="${r1(y(v))}" width="${r1(colW - 1.5)}" ` +
            `height="${r1(plotBottom - y(v))}"${columnFill(id, i)}/>`,
        );
        const text = formatCount(v);
        if (textWidth(text, 12) <= colW + 4)
          out.push(
            `<text class="value" x="${r1(x0 + colW / 2)}" y="${r1(y(v) - 5)}" text-anchor="middle">${text}</text>`,
          );
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
    const tip = series
      .map((s) => `${s.name} ${s.values[d] === null ? SUPPRESSED : formatCount(s.values[d]!)}`)
      .join(', ');
    out.push(
      `<g class="day" data-day="${esc(day)}"${attrs}>` +
        `<rect class="hit" x="${r1(left + d * band)}" y="${plotTop}" ` +
        `width="${r1(band)}" height="${plotBottom - plotTop}"/>` +
        `<title>${esc(day)}: ${esc(tip)}</title></g>`,
    );
  });
  out.push('</g></svg>');
  return out.join('');
}

/** How many bars a bar chart shows at most; the table beside it has every row. */
export const MAX_BARS = 15;

/** A horizontal bar chart of a suppressed table: its largest rows, then "(other)" hatched. */
export function barChart(
  id: string,
  t: SuppressedTable,
  minCount: number,
  title: string,
  xTitle: string,
  noun: string,
  labelOf: (l: string) => string,
): string {
  const W = 760;
  type Bar = { label: string; full: string; count: number | null; other: boolean };
  const rows: Bar[] = t.rows
    .slice(0, MAX_BARS)
    .map((r) => ({ label: labelOf(r.label), full: r.label, count: r.count, other: false }));
  if (t.suppressed > 0)
    rows.push({
      label: `${OTHER}: ${t.suppressed} ${t.suppressed === 1 ? 'cell' : 'cells'} suppressed`,
      full: OTHER,
      count: t.other,
      other: true,
    });
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
    `<defs><pattern id="${id}-hatch" patternUnits="userSpaceOnUse" ` +
      `width="6" height="6" patternTransform="rotate(45)">` +
      `<rect class="hatch-bg" width="6" height="6"/><line class="hatch" x1="0" y1="0" x2="0" y2="6"/></pattern></defs>`,
  );
  for (const tk of ticks) {
    out.push(`<line class="grid" x1="${r1(x(tk))}" x2="${r1(x(tk))}" y1="${plotTop - 4}" y2="${plotBottom}"/>`);
    out.push(
      `<text class="tick" x="${r1(x(tk))}" y="${plotBottom + 17}" text-anchor="middle">${formatCount(tk)}</text>`,
    );
  }
  out.push(`<line class="axis" x1="${left}" x2="${left}" y1="${plotTop - 4}" y2="${plotBottom}"/>`);
  out.push(`<text class="axis-title" x="${left + plotW / 2}" y="${H - 12}" text-anchor="middle">${esc(xTitle)}</text>`);
  if (rows.length === 0)
    out.push(
      `<text class="empty" x="${left + plotW / 2}" y="${plotTop + 14}" ` +
        `text-anchor="middle">No data for this period</text>`,
    );
  rows.forEach((r, i) => {
    const y0 = plotTop + i * (barH + gap);
    const value = r.count === null ? SUPPRESSED : formatCount(r.count);
    const w = r.count === null ? 0 : Math.max(r.count > 0 ? 1 : 0, x(r.count) - left);
    const fill = r.other ? ` fill="url(#${id}-hatch)"` : '';
    out.push(
      `<g class="bar${r.other ? ' other' : ''}" data-label="${esc(r.full)}" ` +
        `data-value="${r.count === null ? SUPPRESSED : r.count}">` +
        `<title>${esc(r.label)}` +
        `${r.count === null ? `, together below ${formatCount(minCount)}: not shown` : `: ${value}`}</title>` +
        `<text class="label" x="${labelW}" y="${y0 + barH / 2 + 4.5}" text-anchor="end">` +
        `${esc(fitLabel(r.label, labelW, 13))}</text>` +
        `<rect class="bar-rect" x="${left}" y="${y0}" width="${r1(w)}" height="${barH}"${fill}/>` +
        `<text class="value" x="${r1(left + w + 6)}" y="${y0 + barH / 2 + 4.5}">${value}</text></g>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}
