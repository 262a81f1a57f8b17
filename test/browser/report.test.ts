// The HTML report in Chromium, JavaScript off, opened from disk: the real SDK's
// requests through the collector and the aggregator (test/helpers/report-pipeline.ts),
// then the page. Its charts and tables must show the JSON report's numbers, and nothing
// else: no pseudonym, no hidden cell, no count below the minimum. Screenshots (light,
// dark, print; one day and 90 days) are saved under .tmp/ for people to look at.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { renderReportHtml } from '../../src/aggregate/report-html.js';
import { buildReport, OTHER, type Report, type SuppressedTable } from '../../src/aggregate/report.js';
import { uniquePrefix } from '../helpers/app.js';
import {
  EXPECTED,
  longPeriod,
  MIN_COUNT,
  type PipelineRun,
  reportThroughPipeline,
} from '../helpers/report-pipeline.js';
import { CHROMIUM, CHROMIUM_FLAGS } from './harness.js';

const OUT = path.resolve(import.meta.dirname, '../../.tmp');

describe('the HTML report in Chromium', () => {
  let run: PipelineRun;
  let browser: Browser;
  let oneDay: { report: Report; file: string };
  let ninety: { report: Report; file: string };
  const redis = new Redis(inject('redisUrl'));
  const prefix = uniquePrefix('rep90');
  const site90 = `rep90${prefix.slice(-8)}`;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    run = await reportThroughPipeline();
    const write = (name: string, report: Report) => {
      const file = path.join(OUT, name);
      writeFileSync(file, renderReportHtml(report, { generatedAt: new Date() }));
      return { report, file };
    };
    oneDay = write('report-1day.html', run.report);
    const period = await longPeriod(redis, prefix, site90, 90);
    ninety = write(
      'report-90days.html',
      await buildReport(redis, { prefix, site: site90, ...period, minCount: MIN_COUNT }),
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, timeout: 30_000 });
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await run?.close();
    for (const pattern of [`${prefix}*`, `optout:{${site90}}:*`, `setapart:{${site90}}:*`]) {
      const keys = await redis.keys(pattern);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  /** Opens a report file with JavaScript off; fails on any request but the file itself. */
  async function open(
    file: string,
    opts: { javaScript?: boolean } = {},
  ): Promise<{ page: Page; requests: string[]; console: string[]; close(): Promise<void> }> {
    const context = await browser.newContext({
      javaScriptEnabled: opts.javaScript ?? false,
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const requests: string[] = [];
    const messages: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => messages.push(m.text()));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 15_000 });
    return { page, requests, console: messages, close: () => context.close() };
  }

  const dayData = (page: Page, chart: string) =>
    page
      .locator(`#${chart} g.day`)
      .evaluateAll((els) =>
        els.map((e) =>
          Object.fromEntries(
            [...e.attributes].filter((a) => a.name.startsWith('data-')).map((a) => [a.name.slice(5), a.value]),
          ),
        ),
      );

  const asData = (n: number | null) => (n === null ? 'suppressed' : String(n));

  function expectedRows(t: SuppressedTable) {
    const rows = t.rows.map((r) => ({ label: r.label, value: String(r.count) }));
    if (t.suppressed > 0) rows.push({ label: OTHER, value: asData(t.other) });
    return rows;
  }

  for (const which of ['1 day (the real pipeline)', '90 days'] as const) {
    it(`shows the JSON report's numbers in its charts and tables: ${which}`, async () => {
      const { report: r, file } = which === '90 days' ? ninety : oneDay;
      const { page, requests, close } = await open(file);
      try {
        // per day: the chart's data and the table
        expect(await dayData(page, 'chart-days')).toEqual(
          r.days.map((d) => ({
            day: d.day,
            pageviews: asData(d.pageviews),
            visits: asData(d.visits),
            visitors: asData(d.visitors),
          })),
        );
        const dayTable = await page
          .locator('#per-day tbody tr')
          .evaluateAll((trs) =>
            trs.map((tr) =>
              [...tr.children].map((c) => c.querySelector('data')?.getAttribute('value') ?? c.textContent),
            ),
          );
        expect(dayTable).toEqual(r.days.map((d) => [d.day, asData(d.pageviews), asData(d.visits), asData(d.visitors)]));
        expect(await dayData(page, 'chart-measured')).toEqual(
          r.optout.days.map((d) => ({ day: d.day, measured: asData(d.measured) })),
        );
        expect(await dayData(page, 'chart-optedout')).toEqual(
          r.optout.days.map((d) => ({ day: d.day, optedout: asData(d.optedOut) })),
        );
        expect(await dayData(page, 'chart-set-apart')).toEqual(
          r.setApart.days.map((d) => ({ day: d.day, robots: asData(d.robots), spam: asData(d.spam) })),
        );
        expect(await dayData(page, 'chart-source-days')).toEqual(
          r.sources.days.map((d) => ({
            day: d.day,
            search: asData(d.search),
            social: asData(d.social),
            website: asData(d.website),
            direct: asData(d.direct),
            internal: asData(d.internal),
          })),
        );
        // sources: named rows with their kind, then "(other)"; the bars the same
        const sources = await page.locator('#sources tbody tr[data-label]').evaluateAll((trs) =>
          trs.map((tr) => ({
            label: tr.getAttribute('data-label'),
            kind: tr.getAttribute('data-kind'),
            value: tr.querySelector('data')?.getAttribute('value') ?? 'suppressed',
          })),
        );
        expect(sources).toEqual([
          ...r.sources.rows.map((row) => ({ label: row.label, kind: row.kind, value: String(row.count) })),
          ...(r.sources.suppressed > 0 ? [{ label: OTHER, kind: null, value: asData(r.sources.other) }] : []),
        ]);
        expect(r.sources.rows.some((row) => row.kind === 'search')).toBe(true);
        const sourceBars = await page
          .locator('#sources g.bar')
          .evaluateAll((gs) =>
            gs.map((g) => ({ label: g.getAttribute('data-label'), value: g.getAttribute('data-value') })),
          );
        expect(sourceBars).toEqual(expectedRows({ ...r.sources, rows: r.sources.rows.slice(0, 15) }));
        // tables by page, country, place, device, and the bars of their charts
        for (const [id, t] of [
          ['pages', r.pages],
          ['countries', r.countries],
          ['places', r.geo],
          ['devices', r.devices],
        ] as const) {
          const rows = await page.locator(`#${id} tbody tr[data-label]`).evaluateAll((trs) =>
            trs.map((tr) => ({
              label: tr.getAttribute('data-label'),
              value: tr.querySelector('data')?.getAttribute('value') ?? tr.querySelector('td')!.textContent,
            })),
          );
          expect(rows, id).toEqual(expectedRows(t));
          const bars = await page
            .locator(`#${id} g.bar`)
            .evaluateAll((gs) =>
              gs.map((g) => ({ label: g.getAttribute('data-label'), value: g.getAttribute('data-value') })),
            );
          expect(bars, id).toEqual(expectedRows({ ...t, rows: t.rows.slice(0, 15) }));
        }
        // totals
        const cards = await page
          .locator('#totals dd')
          .evaluateAll((dds) => dds.map((dd) => dd.querySelector('data')?.getAttribute('value') ?? 'suppressed'));
        expect(cards).toEqual(
          [
            r.totals.pageviews,
            r.totals.visits,
            r.optout.totals.measured,
            r.optout.totals.optedOut,
            r.setApart.totals.robots,
            r.setApart.totals.spam,
          ].map(asData),
        );
        // accessible charts: every one an image with a name
        const charts = await page.locator('svg.chart').evaluateAll((svgs) =>
          svgs.map((s) => ({
            role: s.getAttribute('role'),
            label: s.getAttribute('aria-label'),
            title: s.querySelector(':scope > title')?.textContent,
          })),
        );
        expect(charts).toHaveLength(10);
        for (const c of charts)
          expect(c.role === 'img' && (c.label ?? '').length > 20 && (c.title ?? '').length > 5).toBe(true);
        // the style sheet applied despite the policy: chart and table side by side
        const figure = (await page.locator('#per-day figure').boundingBox())!;
        const table = (await page.locator('#per-day .table-wrap').boundingBox())!;
        expect(table.x).toBeGreaterThan(figure.x + figure.width);
        // nothing fetched: the file only
        expect(requests).toEqual([pathToFileURL(file).href]);
      } finally {
        await close();
      }
    });
  }

  it('shows the hostile page names as text, and holds no script, pseudonym, hidden cell or count below the minimum', async () => {
    const { page, close } = await open(oneDay.file);
    try {
      const pageNames = await page.locator('#pages tbody th bdi').allTextContents();
      expect(pageNames).toEqual(EXPECTED.pages.map((p) => p.label));
      expect(await page.locator('script, img, iframe, object, embed, link, base, form').count()).toBe(0);
      const handlers = await page
        .locator('*')
        .evaluateAll((els) =>
          els.flatMap((e) => [...e.attributes].filter((a) => a.name.startsWith('on')).map((a) => a.name)),
        );
      expect(handlers).toEqual([]);
      expect(await page.locator('style').count()).toBe(1);

      const file = readFileSync(oneDay.file, 'utf8');
      const text = await page.locator('body').innerText();
      const attributes = (
        await page.locator('*').evaluateAll((els) => els.flatMap((e) => [...e.attributes].map((a) => a.value)))
      ).join('\n');
      const titles = (await page.locator('title').allTextContents()).join('\n');
      for (const where of [file, text, attributes, titles]) {
        for (const p of run.pseudonyms) expect(where).not.toContain(p.split('.')[1]);
        expect(where).not.toMatch(/\bk[01]\.[A-Za-z0-9_-]{22}/);
        for (const hidden of EXPECTED.hiddenPages) expect(where).not.toContain(hidden);
      }
      // the labels of the page: no hidden place or device
      const labels = [
        ...(await page.locator('[data-label]').evaluateAll((els) => els.map((e) => e.getAttribute('data-label')!))),
        ...(await page.locator('tbody th').allTextContents()),
        ...(await page.locator('svg text.label').allTextContents()),
      ];
      for (const hidden of [
        ...EXPECTED.hiddenDevices,
        ...EXPECTED.hiddenPlaces,
        ...EXPECTED.hiddenSources,
        'United States',
        'Sweden',
      ]) {
        expect(labels.filter((l) => l.includes(hidden))).toEqual([]);
      }
      for (const hidden of EXPECTED.hiddenSources) expect(file).not.toContain(hidden);
      // every number shown or given as data is 0 or at least the minimum
      const numbers = [
        ...(await page.locator('td.num, svg text.value, svg text.tick, #totals dd data').allTextContents()).filter(
          (s) => /^[\d\u202F]+$/.test(s),
        ),
        ...(await page.locator('data').evaluateAll((els) => els.map((e) => e.getAttribute('value')!))),
        ...(await page
          .locator('[data-value], g.day')
          .evaluateAll((els) =>
            els.flatMap((e) =>
              [...e.attributes]
                .filter((a) => a.name.startsWith('data-') && a.name !== 'data-day' && a.name !== 'data-label')
                .map((a) => a.value),
            ),
          )),
      ]
        .filter((s) => s !== 'suppressed')
        .map((s) => Number(s.replace(/\u202F/g, '')));
      expect(numbers.length).toBeGreaterThan(40);
      expect(numbers.every((n) => Number.isInteger(n))).toBe(true);
      expect(numbers.filter((n) => n > 0 && n < MIN_COUNT)).toEqual([]);
    } finally {
      await close();
    }
  });

  it('runs no script even if one got into the file: the Content-Security-Policy forbids it', async () => {
    const tampered = path.join(OUT, 'report-tampered.html');
    writeFileSync(
      tampered,
      readFileSync(oneDay.file, 'utf8').replace(
        '<main>',
        `<main><script>document.title = 'pwned'</script><p id="x" onclick="document.title='pwned'"></p>`,
      ),
    );
    const { page, console: messages, close } = await open(tampered, { javaScript: true });
    try {
      await page.locator('#x').dispatchEvent('click');
      expect(await page.title()).toMatch(/^Audience of site /);
      expect(messages.some((m) => m.includes('Content Security Policy'))).toBe(true);
    } finally {
      await close();
    }
    // control: the same file without the policy does run them
    const unprotected = path.join(OUT, 'report-tampered-no-csp.html');
    writeFileSync(
      unprotected,
      readFileSync(tampered, 'utf8').replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, ''),
    );
    const control = await open(unprotected, { javaScript: true });
    try {
      expect(await control.page.title()).toBe('pwned');
    } finally {
      await control.close();
    }
  });

  it('saves the screenshot of the documentation: totals, per day and sources of the 90 days', async () => {
    const { page, close } = await open(ninety.file);
    try {
      await page.emulateMedia({ colorScheme: 'light', media: 'screen' });
      const top = (await page.locator('header').boundingBox())!;
      const sources = (await page.locator('#sources').boundingBox())!;
      expect(sources.height).toBeGreaterThan(300);
      // the header, the totals and the first chart, then the sources section
      await page.screenshot({
        path: path.join(OUT, 'report-docs-top.png'),
        clip: { x: 0, y: top.y - 10, width: 1280, height: 880 },
      });
      await page.setViewportSize({ width: 1280, height: Math.ceil(sources.y + sources.height + 40) });
      // the sources: the period's bars and table, and the chart per day (its table below left out)
      const chart = (await page.locator('#sources .pair.stack figure').boundingBox())!;
      await page.screenshot({
        path: path.join(OUT, 'report-docs-sources.png'),
        clip: { x: 0, y: sources.y - 10, width: 1280, height: chart.y + chart.height - sources.y + 20 },
      });
    } finally {
      await close();
    }
  });

  it('saves screenshots, light and dark, and the print rendering', async () => {
    for (const [name, { file }] of [
      ['1day', oneDay],
      ['90days', ninety],
    ] as const) {
      const { page, close } = await open(file);
      try {
        for (const colorScheme of ['light', 'dark'] as const) {
          await page.emulateMedia({ colorScheme, media: 'screen' });
          const background = await page.locator('html').evaluate((e) => getComputedStyle(e).backgroundColor);
          expect(background).toBe(colorScheme === 'dark' ? 'rgb(20, 23, 28)' : 'rgb(255, 255, 255)');
          await page.screenshot({ path: path.join(OUT, `report-${name}-${colorScheme}.png`), fullPage: true });
        }
        await page.emulateMedia({ colorScheme: 'dark', media: 'print' });
        // print is always light, with every table row (no scrolling boxes)
        expect(await page.locator('html').evaluate((e) => getComputedStyle(e).backgroundColor)).toBe(
          'rgb(255, 255, 255)',
        );
        expect(await page.locator('#per-day .table-wrap').evaluate((e) => getComputedStyle(e).overflow)).toBe(
          'visible',
        );
        // the width of an A4 page inside its margins, as the print style sheet sets them
        await page.setViewportSize({ width: 690, height: 900 });
        await page.screenshot({ path: path.join(OUT, `report-${name}-print.png`), fullPage: true });
        const pdf = await page.pdf({ path: path.join(OUT, `report-${name}.pdf`), preferCSSPageSize: true });
        const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page\b/g) ?? []).length;
        expect(pages).toBeGreaterThanOrEqual(name === '90days' ? 4 : 2);
      } finally {
        await close();
      }
    }
  }, 120_000); // four full-page screenshots and a PDF of two pages: slow on a shared machine, not a timing
});
