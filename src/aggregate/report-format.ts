// The report page's text: escaping (every string from Redis — page names, places,
// referrer hosts come from hits, i.e. from the sites' pages — is hostile), numbers in
// one fixed format, and labels fitted to a chart without font metrics.
//
// Numbers are written in one fixed format, since a page without script cannot follow
// the reader's locale: digits grouped by three with a narrow no-break space (U+202F,
// "12 345"), a decimal point ("3.2 %"); days are UTC days, YYYY-MM-DD.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
// C0/C1 controls (but tab, LF, CR) are not allowed in HTML text; lone surrogates are not text
const NOT_TEXT =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for HTML (and SVG inside HTML), in element content and in quoted attribute values. */
export function esc(s: string): string {
  return s.replace(NOT_TEXT, '\uFFFD').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export const NNBSP = '\u202F';

/** A count in the page's fixed format: digits grouped by three with a narrow no-break space. */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, NNBSP);
}

export const formatShare = (part: number, whole: number) => `${((100 * part) / whole).toFixed(1)}${NNBSP}%`;

export const SUPPRESSED = 'suppressed';

// Explicit direction marks and overrides in a label could reorder what is around it.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/g;
const segmenter = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Rough width of text in px (no font metrics in Node): enough to keep labels inside their box. */
export function textWidth(s: string, px: number): number {
  let w = 0;
  for (const { segment } of segmenter.segment(s)) {
    const c = segment.codePointAt(0)!;
    if (
      c >= 0x1100 &&
      (c <= 0x115f ||
        (c >= 0x2e80 && c <= 0xa4cf) ||
        (c >= 0xac00 && c <= 0xd7a3) ||
        (c >= 0xf900 && c <= 0xfaff) ||
        (c >= 0xfe30 && c <= 0xfe4f) ||
        (c >= 0xff00 && c <= 0xff60) ||
        c >= 0x1f300)
    )
      w += 1.0;
    else if (/[il.,:;'|!()[\] ]/.test(segment)) w += 0.3;
    else if (/[A-Z0-9mwMW@%&]/.test(segment)) w += 0.68;
    else w += 0.55;
  }
  return w * px;
}

/** The label shortened with "…" to fit `maxPx` (whole graphemes only). */
export function fitLabel(label: string, maxPx: number, px: number): string {
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
export function countryName(code: string): string {
  if (!/^[A-Z]{2}$/.test(code)) return code;
  let name: string | undefined;
  try {
    name = regionNames.of(code);
  } catch {
    name = undefined;
  }
  return name && name !== code && name !== 'Unknown Region' ? `${name} (${code})` : code;
}

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export const dayDate = (day: string) => new Date(`${day}T00:00:00Z`);

/** Rounds an SVG coordinate to 0.1 px (a smaller file, the same drawing). */
export const r1 = (x: number) => Math.round(x * 10) / 10;
