// The HTML rendering of a report, on small reports made by hand: escaping of hostile
// labels, withheld numbers, empty periods, long labels, one day and 800 days. The
// same page through the real pipeline and in Chromium: test/browser/report.test.ts.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  CONTENT_SECURITY_POLICY,
  esc,
  formatCount,
  MAX_BARS,
  MAX_COLUMN_DAYS,
  renderReportHtml,
  reportHtml,
} from '../../src/aggregate/report-html.js';
import { type Report, ReportQueryError, suppress } from '../../src/aggregate/report.js';
import { classifySource, type SourceKind } from '../../src/aggregate/sources.js';
import { DAY_MS, utcDay } from '../../src/aggregate/store.js';
import { uniquePrefix } from '../helpers/app.js';

const K = 5;
const shown = (n: number) => (n > 0 && n < K ? null : n);

function dayList(from: string, n: number): string[] {
  const start = Date.parse(`${from}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => utcDay(start + i * DAY_MS));
}

/** A report as buildReport makes it, from raw per-day numbers and cells. */
function makeReport(
  days: string[],
  opts: {
    perDay?: (i: number) => { pageviews: number; visits: number; visitors: number; measured: number; optedOut: number };
    pages?: Record<string, number>;
    geo?: Record<string, number>;
    countries?: Record<string, number>;
    devices?: Record<string, number>;
    sources?: Record<string, number>;
    site?: string;
  } = {},
): Report {
  const per = days.map(
    (_, i) =>
      opts.perDay?.(i) ?? {
        pageviews: 100 + i,
        visits: 40 + (i % 7),
        visitors: 30 + (i % 5),
        measured: 120 + i,
        optedOut: 10 + (i % 3),
      },
  );
  const sum = (f: (d: (typeof per)[number]) => number) => per.reduce((a, d) => a + f(d), 0);
  return {
    site: opts.site ?? '123456',
    from: days[0]!,
    to: days[days.length - 1]!,
    minCount: K,
    totals: { pageviews: shown(sum((d) => d.pageviews)), visits: shown(sum((d) => d.visits)) },
    days: days.map((day, i) => ({
      day,
      pageviews: shown(per[i]!.pageviews),
      visits: shown(per[i]!.visits),
      visitors: shown(per[i]!.visitors),
    })),
    pages: suppress(opts.pages ?? { home: 60, news: 29, sport: 2 }, K),
    geo: suppress(opts.geo ?? { 'GB / England / Bracknell': 19, 'FR / Pays de la Loire / Ahuille': 10 }, K),
    countries: suppress(opts.countries ?? { GB: 19, FR: 10 }, K),
    devices: suppress(opts.devices ?? { mobile: 15, desktop: 14 }, K),
    sources: sourcesOf(
      days,
      opts.sources ?? { '(direct)': 16, 'www.google.fr': 6, 'www.google.com': 3, 'news.example.org': 4 },
    ),
    optout: {
      days: days.map((day, i) => ({ day, measured: shown(per[i]!.measured), optedOut: shown(per[i]!.optedOut) })),
      totals: { measured: shown(sum((d) => d.measured)), optedOut: shown(sum((d) => d.optedOut)) },
    },
    setApart: {
      days: days.map((day, i) => ({ day, robots: shown(per[i]!.visits * 2), spam: shown(i % 4) })),
      totals: { robots: shown(sum((d) => d.visits * 2)), spam: null },
    },
  };
}

/** Sources as buildReport gives them, from stored fields (hosts, (direct)): named by classifySource, per day by kind (all on the first day). */
function sourcesOf(days: string[], stored: Record<string, number>): Report['sources'] {
  const named = new Map<string, number>();
  const kindOf = new Map<string, SourceKind>();
  const byKind = new Map<SourceKind, number>();
  for (const [field, n] of Object.entries(stored)) {
    const { kind, name } = classifySource(field);
    named.set(name, (named.get(name) ?? 0) + n);
    kindOf.set(name, kind);
    byKind.set(kind, (byKind.get(kind) ?? 0) + n);
  }
  const t = suppress(named, K);
  const onDay = (i: number, kind: SourceKind) => (i > 0 ? 0 : shown(byKind.get(kind) ?? 0));
  return {
    ...t,
    rows: t.rows.map((r) => ({ ...r, kind: kindOf.get(r.label)! })),
    days: days.map((day, i) => ({
      day,
      search: onDay(i, 'search'),
      social: onDay(i, 'social'),
      website: onDay(i, 'website'),
      direct: onDay(i, 'direct'),
      internal: onDay(i, 'internal'),
    })),
  };
}

// Everything the renderer may write: a hostile label that got through would show up
// as another tag or attribute.
const TAGS = new Set(
  'html head meta title style body header h1 h2 p main section dl div dt dd span data figure figcaption svg g rect line path circle text defs pattern table caption thead tbody tr th td bdi strong footer'.split(
    ' ',
  ),
);
const ATTRS = new Set(
  'lang charset http-equiv content name id class aria-labelledby aria-label role xmlns viewbox width height x y x1 x2 y1 y2 cx cy r d fill stroke-dasharray text-anchor patternunits patterntransform value title scope colspan'.split(
    ' ',
  ),
);

/** Every opening tag of the page, with its attribute names, and what the scan could not read. */
function tags(html: string): { tags: { name: string; attrs: string[] }[]; unreadable: string[] } {
  const out: { name: string; attrs: string[] }[] = [];
  const unreadable: string[] = [];
  // attribute values are escaped: no '<' or '>' inside a tag but its ends
  for (const m of html.matchAll(/<(\/?)([A-Za-z][\w-]*)([^<>]*)>/g)) {
    if (m[1]) continue;
    const rest = m[3]!.replace(/\/$/, '');
    // once every name="value" and bare name is taken out, nothing may be left
    if (rest.replace(/\s[^\s=>"'/]+(?:="[^"]*")?/g, '').trim() !== '') unreadable.push(m[0]);
    out.push({
      name: m[2]!.toLowerCase(),
      attrs: [...rest.matchAll(/\s([^\s=>"'/]+)(?:="[^"]*")?/g)].map((a) => a[1]!.toLowerCase()),
    });
  }
  return { tags: out, unreadable };
}

function expectOnlyOwnMarkup(html: string): void {
  const { tags: all, unreadable } = tags(html);
  expect(unreadable).toEqual([]);
  // every '<' starts a tag the scan read, a closing tag, or the doctype
  expect((html.match(/</g) ?? []).length).toBe(all.length + (html.match(/<\//g) ?? []).length + 1);
  const names = new Set(all.map((t) => t.name));
  const attrs = new Set(all.flatMap((t) => t.attrs).filter((a) => !a.startsWith('data-')));
  expect([...names].filter((n) => !TAGS.has(n))).toEqual([]);
  expect([...attrs].filter((a) => !ATTRS.has(a))).toEqual([]);
}

/** Every number the page gives as data: <data value>, data-value and the per-day data-* attributes. */
function dataNumbers(html: string): number[] {
  const values = [...html.matchAll(/ (?:value|data-[a-z]+)="(\d+)"/g)].map((m) => Number(m[1]));
  return values;
}

describe('renderReportHtml', () => {
  it('escapes hostile labels everywhere: tables, charts, tooltips, data attributes', () => {
    const hostile = [
      '<script>alert(1)</script>',
      '"><svg onload=alert(2)>',
      "'><img src=x onerror=alert(3)>",
      '</style><style>body{display:none}</style>',
      '</title></svg><script>alert(4)</script>',
      '<!--',
      ']]><![CDATA[',
      '&amp;lt;',
      'nul\u0000 and bidi \u202Eevil',
    ];
    const pages = Object.fromEntries(hostile.map((h, i) => [h, 50 + i]));
    const html = renderReportHtml(
      makeReport(dayList('2026-11-29', 1), {
        pages,
        geo: { [`FR / ${hostile[1]} / ${hostile[0]}`]: 9 },
        countries: { [hostile[2]!]: 9 },
        devices: { [hostile[3]!]: 9 },
        site: '"><script>x</script>',
      }),
    );
    expectOnlyOwnMarkup(html);
    // the payloads are text: no tag or attribute of theirs (expectOnlyOwnMarkup), escaped
    expect(html).not.toMatch(/<script|<img|<svg onload|<\/title><\/svg>/i);
    expect(html.match(/<style>/g)).toHaveLength(1);
    expect(html.match(/<\/style>/g)).toHaveLength(1);
    expect(html).not.toContain('\u0000');
    // the labels are there, escaped, in full
    expect(html).toContain('<bdi>&lt;script&gt;alert(1)&lt;/script&gt;</bdi>');
    expect(html).toContain('data-label="&quot;&gt;&lt;svg onload=alert(2)&gt;"');
    expect(html).toContain('&amp;amp;lt;');
    expect(html).toContain('<title>Audience of site &quot;&gt;&lt;script&gt;x&lt;/script&gt;, 2026-11-29</title>');
  });

  it('escapes the five characters and replaces what cannot be text', () => {
    expect(esc(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(esc('a\u0000b\u001Fc\u007Fd\uD800e')).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe');
    expect(esc('tab\tline\nok 😀')).toBe('tab\tline\nok 😀');
  });

  it('forbids scripts by a Content-Security-Policy whose style hash is the page’s style sheet', () => {
    const html = renderReportHtml(makeReport(dayList('2026-11-29', 1)));
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">`);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'none'");
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)![1]!;
    expect(CONTENT_SECURITY_POLICY).toContain(`'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    // nothing fetched: no URL anywhere but the SVG namespace
    expect(html.match(/https?:\/\/[^\s"]*/g)).toEqual(
      Array(html.match(/<svg /g)!.length).fill('http://www.w3.org/2000/svg'),
    );
  });

  it('writes withheld numbers as "suppressed", never as a number, and leaves folded labels out', () => {
    const days = dayList('2026-11-28', 3);
    const small = [
      { pageviews: 60, visits: 29, visitors: 3, measured: 63, optedOut: 4 },
      { pageviews: 2, visits: 1, visitors: 1, measured: 2, optedOut: 12 },
      { pageviews: 40, visits: 20, visitors: 19, measured: 41, optedOut: 1 },
    ];
    const r = makeReport(days, {
      perDay: (i) => small[i]!,
      pages: { home: 60, news: 29, sport: 2, 'secret-page': 1 },
      devices: { mobile: 3 },
      sources: { '(direct)': 20 },
    });
    // nothing withheld among the set-apart counts here: the cells counted below are the others
    r.setApart = { days: days.map((day) => ({ day, robots: 0, spam: 0 })), totals: { robots: 0, spam: 0 } };
    // as buildReport would: the opt-out total would give the hidden days away
    r.optout.totals.optedOut = null;
    const html = renderReportHtml(r);
    // sport (2) and secret-page (1) are folded without their names; news (29) stays shown,
    // and "(other)", 3, is withheld
    for (const folded of ['sport', 'secret-page']) expect(html).not.toContain(folded);
    expect(html).toContain(
      '<tr data-label="news"><th scope="row"><bdi>news</bdi></th><td class="num"><data value="29">29</data></td>',
    );
    expect(html).toContain(
      '<tr class="other" data-label="(other)"><th scope="row">(other): 2 cells suppressed</th><td class="num sup">',
    );
    // devices: the only cell is below the minimum, and so is "(other)"
    expect(html).toMatch(/\(other\): 1 cell suppressed<\/th><td class="num sup">/);
    expect(html).toContain(
      'data-day="2026-11-29" data-pageviews="suppressed" data-visits="suppressed" data-visitors="suppressed"',
    );
    expect(html).toMatch(/<dt>Events of visitors who opted out<\/dt><dd class="sup">suppressed/);
    for (const n of dataNumbers(html)) expect(n === 0 || n >= K, `a number below ${K}: ${n}`).toBe(true);
    // the hidden numbers in no tooltip or label either
    for (const hidden of [
      'Visitors 3',
      'Page views 2',
      'Visits 1',
      'Events opted out 4',
      'Events measured 2',
      '>3<',
      '>2<',
      '>1<',
      '>4<',
    ]) {
      expect(html).not.toContain(hidden);
    }
    expect(html).toContain('<title>(other): 1 cell suppressed, together below 5: not shown</title>');
    const cells = html.match(/<td class="num sup">/g) ?? [];
    expect(cells.length).toBe(
      3 /* day 2 */ +
        1 /* visitors day 1 */ +
        2 /* opt-out day 2 measured, days 1 and 3 opted out */ +
        1 +
        1 /* opt-out total */ +
        1 /* devices other */ +
        1 /* pages other */,
    );
  });

  it('shows sources named by kind, folds the small ones without their names, and the set-apart counts', () => {
    const days = dayList('2026-11-29', 2);
    const r = makeReport(days, {
      sources: {
        '(direct)': 16,
        'www.google.fr': 6,
        'www.google.com': 3,
        't.co': 5,
        'news.example.org': 4,
        '(internal)': 2,
      },
    });
    const html = renderReportHtml(r);
    expectOnlyOwnMarkup(html);
    expect(html).toContain(
      '<tr data-label="Google" data-kind="search"><th scope="row"><bdi>Google</bdi></th><td class="kind">search engine</td><td class="num"><data value="9">9</data></td>',
    );
    expect(html).toContain('<tr data-label="X (Twitter)" data-kind="social">');
    expect(html).toContain('<tr data-label="(direct)" data-kind="direct"><th scope="row"><bdi>Direct</bdi></th>');
    expect(html).toContain('<title>Google · search engine: 9</title>');
    // news.example.org (4) and (internal) (2): folded, unnamed, withheld together (6 ≥ 5: shown)
    expect(html).not.toContain('news.example.org');
    expect(html).toContain(
      '<tr class="other" data-label="(other)"><th scope="row">(other): 2 sources suppressed</th><td></td><td class="num"><data value="6">6</data></td>',
    );
    // per day by kind: the first day holds them all (makeReport), "Other websites" 4 withheld
    const perDay = /<svg[^>]*id="chart-source-days"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(perDay).toContain(
      'data-day="2026-11-29" data-search="9" data-social="5" data-website="suppressed" data-direct="16" data-internal="suppressed"',
    );
    expect(perDay.match(/<g class="legend s\d">/g)).toHaveLength(5);
    // set apart, beside the audience: the cards and the per-day table
    expect(html).toMatch(/<dt>Hits set apart as robots<\/dt><dd><data value="\d+">/);
    expect(html).toContain('id="chart-set-apart"');
    expect(html).toMatch(
      /<tr class="total" data-day="total"><th scope="row">Total<\/th><td class="num"><data value="\d+">[^<]+<\/data><\/td><td class="num sup">/,
    );
    // over MAX_SOURCE_DAYS days, sources per day are left to the JSON
    const long = renderReportHtml(makeReport(dayList('2026-01-01', 100)));
    expect(long).not.toContain('chart-source-days');
    expect(long).toContain('the page leaves out sources per day');
  });

  it('renders an empty period without NaN, with "no data"', () => {
    const r = makeReport(dayList('2026-11-29', 1), {
      perDay: () => ({ pageviews: 0, visits: 0, visitors: 0, measured: 0, optedOut: 0 }),
      pages: {},
      geo: {},
      countries: {},
      devices: {},
    });
    const html = renderReportHtml(r);
    expectOnlyOwnMarkup(html);
    expect(html).not.toMatch(/NaN|Infinity|undefined|null/);
    expect(html.match(/No data for this period/g)!.length).toBeGreaterThanOrEqual(4 /* tables */ + 4 /* bar charts */);
  });

  it('shortens long labels in the charts and keeps them whole in the tables', () => {
    const long = `news/2026/${'a-very-long-article-title-'.repeat(12)}end`;
    const cjk = '日本語のページ名がとても長い場合の表示テスト用ページです'.repeat(3);
    const html = renderReportHtml(makeReport(dayList('2026-11-29', 1), { pages: { [long]: 50, [cjk]: 40, home: 60 } }));
    expect(html).toContain(`<bdi>${long}</bdi>`);
    expect(html).toContain(`<bdi>${cjk}</bdi>`);
    expect(html).toContain(`data-label="${long}"`);
    const chartLabels = [...html.matchAll(/<text class="label"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
    const shortened = chartLabels.filter((l) => l.endsWith('…'));
    expect(shortened).toHaveLength(2);
    for (const l of shortened) expect(l.length).toBeLessThan(45);
    expect(shortened[0]).toMatch(/^news\/2026\/a-very-long-article-t/);
    // the tooltip of the bar has it whole
    expect(html).toContain(`<title>${long}: 50</title>`);
  });

  it('shows the largest rows in the chart and every row in the table', () => {
    const pages = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`page-${String(i).padStart(2, '0')}`, 1000 - i]),
    );
    const html = renderReportHtml(makeReport(dayList('2026-11-29', 1), { pages }));
    const chart = /<svg[^>]*id="chart-pages"[\s\S]*?<\/svg>/.exec(html)![0];
    expect(chart.match(/<g class="bar"/g)).toHaveLength(MAX_BARS);
    expect(html.match(/<tr data-label="page-\d\d">/g)).toHaveLength(40);
    expect(html).toContain(`The chart shows the ${MAX_BARS} largest of 40 pages; the table has them all.`);
  });

  it('draws one day as columns, 90 days as lines, 800 days as lines with month ticks, every day in the data', () => {
    for (const n of [1, MAX_COLUMN_DAYS, 90, 800]) {
      const days = dayList('2024-09-03', n);
      const html = renderReportHtml(makeReport(days));
      expectOnlyOwnMarkup(html);
      expect(html).not.toMatch(/NaN|Infinity|undefined/);
      const chart = /<svg[^>]*id="chart-days"[\s\S]*?<\/svg>/.exec(html)![0];
      expect(chart.match(/<g class="day" /g)).toHaveLength(n);
      expect(chart.includes('<path class="line"')).toBe(n > MAX_COLUMN_DAYS);
      expect(chart.match(/<rect class="col"/g)?.length ?? 0).toBe(n <= MAX_COLUMN_DAYS ? 3 * n + 3 /* legend */ : 0);
      const ticks = [...chart.matchAll(/<text class="tick" x="[\d.]+" y="[\d.]+" text-anchor="middle">([^<]+)</g)].map(
        (m) => m[1],
      );
      expect(ticks.length).toBeGreaterThanOrEqual(1);
      expect(ticks.length).toBeLessThanOrEqual(10);
      if (n === 1) expect(ticks).toEqual(['3 Sep']);
      if (n === 90) expect(ticks).toEqual(['9 Sep', '23 Sep', '7 Oct', '21 Oct', '4 Nov', '18 Nov']);
      if (n === 800)
        expect(ticks).toEqual(['Oct 2024', 'Jan 2025', 'Apr', 'Jul', 'Oct', 'Jan 2026', 'Apr', 'Jul', 'Oct']);
      expect(html).toContain(`data-day="${days[n - 1]}"`);
      expect(Buffer.byteLength(html)).toBeLessThan(1_500_000);
    }
  });

  it('writes numbers in one stated format, and the same report gives the same bytes', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1234)).toBe('1\u202F234');
    expect(formatCount(1234567)).toBe('1\u202F234\u202F567');
    const r = makeReport(dayList('2026-11-01', 30));
    expect(renderReportHtml(r)).toBe(renderReportHtml(structuredClone(r)));
    expect(renderReportHtml(r)).toContain('digits grouped by three with a narrow space');
    expect(renderReportHtml(r, { generatedAt: new Date('2026-12-01T08:30:00Z') })).toContain(
      'Generated 2026-12-01 08:30 UTC.',
    );
  });

  it('gives every chart an accessible name and a title, and a table beside it', () => {
    const html = renderReportHtml(makeReport(dayList('2026-11-01', 30)));
    const svgs = [...html.matchAll(/<svg [^>]*>/g)].map((m) => m[0]);
    expect(svgs).toHaveLength(10); // 30 days: sources per day are in the page (up to MAX_SOURCE_DAYS)
    for (const s of svgs) {
      expect(s).toContain('role="img"');
      expect(s).toMatch(/aria-label="[^"]{20,}"/);
    }
    expect(html.match(/<svg [^>]*><title>[^<]+<\/title>/g)).toHaveLength(10);
    expect(html.match(/<table>/g)).toHaveLength(9);
    expect(html).toMatch(
      /aria-label="Column chart, Page views, visits and visitors per day, 2026-11-01 to 2026-11-30\. Page views from 100 to 129; Visits from 40 to 46; Visitors from 30 to 34\./,
    );
  });
});

describe('reportHtml (what a route calls)', () => {
  const redis = new Redis(inject('redisUrl'));
  afterAll(() => redis.disconnect());

  it('validates the request and renders the aggregates', async () => {
    const prefix = uniquePrefix('rephtml');
    await expect(
      reportHtml(redis, { prefix, site: 'bad site', from: '2026-11-01', to: '2026-11-02', minCount: 5 }),
    ).rejects.toBeInstanceOf(ReportQueryError);
    await expect(
      reportHtml(redis, { prefix, site: 's', from: '2026-11-31', to: '2026-12-01', minCount: 5 }),
    ).rejects.toThrow('from is not a calendar day: 2026-11-31');
    const html = await reportHtml(redis, { prefix, site: 's', from: '2026-11-01', to: '2026-11-02', minCount: 5 });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<h1>Audience of site s</h1>');
    expect(html).toContain('<p>2026-11-01 to 2026-11-02 (2 days, UTC)</p>');
  });
});
