// The report the whole way, without a browser: the real SDK's requests through the
// collector (opt-outs among them), the aggregator, then the three formats. They differ
// in rendering only: the HTML page holds the JSON report's numbers and labels, and
// nothing the JSON report does not (no pseudonym, no hidden cell, no count below the
// minimum). The same page in Chromium: test/browser/report.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esc, renderReportHtml } from '../../src/aggregate/report-html.js';
import { formatReport, OTHER } from '../../src/aggregate/report.js';
import {
  ADMIN_TOKEN,
  EXPECTED,
  MIN_COUNT,
  type PipelineRun,
  reportThroughPipeline,
} from '../helpers/report-pipeline.js';

describe('HTML report through the real pipeline', () => {
  let run: PipelineRun;
  let html: string;
  beforeAll(async () => {
    run = await reportThroughPipeline();
    html = renderReportHtml(run.report, { generatedAt: new Date() });
  });
  afterAll(async () => {
    await run?.close();
  });

  it('counts what the collector accepted, opt-outs apart, with small cells suppressed', () => {
    const r = run.report;
    expect(run.pseudonyms).toHaveLength(30);
    expect(r.totals).toEqual({ pageviews: EXPECTED.pageviews, visits: EXPECTED.visits });
    expect(r.pages).toEqual({ rows: EXPECTED.pages, other: 5, suppressed: 3 });
    expect(r.countries).toEqual({ rows: EXPECTED.countries, other: 5, suppressed: 3 });
    expect(r.geo).toEqual({ rows: EXPECTED.geo, other: 5, suppressed: 3 });
    expect(r.devices).toEqual({ rows: EXPECTED.devices, other: 5, suppressed: 2 });
    expect(r.optout.totals).toEqual({ measured: EXPECTED.events, optedOut: EXPECTED.optedOut });
    expect(r.optout.days.at(-1)).toMatchObject({ measured: EXPECTED.events, optedOut: EXPECTED.optedOut });
    // sources: the referrers of the visits' first pages; 3 and 1 folded without their names
    expect(r.sources.rows).toEqual(EXPECTED.sources);
    expect(r.sources).toMatchObject({ other: null, suppressed: 2 });
    expect(r.sources.days.at(-1)).toMatchObject({ search: 17, social: 5, website: null, direct: 5, internal: 0 }); // Bing (1) among the 17;
    expect(r.setApart.days.at(-1)).toMatchObject({ robots: EXPECTED.setApart.robot, spam: null });
  });

  it('puts every number and label of the JSON report in the page, and nothing hidden', () => {
    const r = run.report;
    for (const [id, t] of [
      ['pages', r.pages],
      ['countries', r.countries],
      ['places', r.geo],
      ['devices', r.devices],
    ] as const) {
      const section = new RegExp(`<section id="${id}"[\\s\\S]*?</section>`).exec(html)![0];
      const rows = [
        ...section.matchAll(
          /<tr (?:class="other" )?data-label="([^"]*)">[\s\S]*?<td class="num[^"]*">([\s\S]*?)<\/td><\/tr>/g,
        ),
      ].map((m) => ({
        label: m[1],
        value: /<data value="(\d+)">/.exec(m[2]!)?.[1] ?? 'suppressed',
      }));
      const expected = [...t.rows.map((row) => ({ label: esc(row.label), value: String(row.count) }))];
      if (t.suppressed) expected.push({ label: OTHER, value: t.other === null ? 'suppressed' : String(t.other) });
      expect(rows, id).toEqual(expected);
      // the chart's bars: the same rows (at most 15), "(other)" last
      const bars = [...section.matchAll(/<g class="bar(?: other)?" data-label="([^"]*)" data-value="([^"]*)">/g)].map(
        (m) => ({ label: m[1], value: m[2] }),
      );
      expect(bars, id).toEqual(expected);
    }
    const sources = /<section id="sources"[\s\S]*?<\/section>/.exec(html)![0];
    const sourceRows = [
      ...sources.matchAll(
        /<tr (?:class="other" )?data-label="([^"]*)"(?: data-kind="([a-z]+)")?>[\s\S]*?<td class="num[^"]*">([\s\S]*?)<\/td><\/tr>/g,
      ),
    ].map((m) => ({
      label: m[1],
      kind: m[2] ?? '',
      value: /<data value="(\d+)">/.exec(m[3]!)?.[1] ?? 'suppressed',
    }));
    expect(sourceRows).toEqual([
      ...r.sources.rows.map((row) => ({ label: esc(row.label), kind: row.kind, value: String(row.count) })),
      { label: OTHER, kind: '', value: 'suppressed' },
    ]);
    for (const hidden of EXPECTED.hiddenSources)
      expect(html + JSON.stringify(r) + formatReport(r)).not.toContain(hidden);
    for (const d of r.setApart.days) {
      expect(html).toContain(
        `<g class="day" data-day="${d.day}" data-robots="${d.robots ?? 'suppressed'}" data-spam="${d.spam ?? 'suppressed'}">`,
      );
    }
    for (const d of r.days) {
      expect(html).toContain(
        `data-day="${d.day}" data-pageviews="${d.pageviews ?? 'suppressed'}" data-visits="${d.visits ?? 'suppressed'}" data-visitors="${d.visitors ?? 'suppressed'}"`,
      );
    }
    for (const d of r.optout.days) {
      expect(html).toContain(`<g class="day" data-day="${d.day}" data-measured="${d.measured ?? 'suppressed'}">`);
      expect(html).toContain(`<g class="day" data-day="${d.day}" data-optedout="${d.optedOut ?? 'suppressed'}">`);
    }
  });

  it("serves the same page on the operator's listener (GET /admin/report), with the admin token only", async () => {
    const url = `/admin/report?site=${run.site}&from=${run.query.from}&to=${run.query.to}`;
    const denied = await run.app.operator.inject({ url });
    expect(denied.statusCode).toBe(401);
    expect(denied.body).not.toContain('<html');
    expect(
      (await run.app.operator.inject({ url, headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode,
    ).toBe(401);
    const res = await run.app.operator.inject({ url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toMatch(/script-src 'none'/);
    expect(res.body).toBe(renderReportHtml(run.report));
    // a bad request is a clear 400, and the public listener has no such route
    const bad = await run.app.operator.inject({
      url: `/admin/report?site=${run.site}&from=2026-02-30`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      error: 'invalid_request',
      path: 'query.from',
      message: expect.stringMatching(/calendar day/),
    });
    expect((await run.app.app.inject({ url, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).statusCode).toBe(
      404,
    );
  });

  it('holds no pseudonym, no hidden cell and no count below the minimum, in any format', () => {
    const formats = { html, json: JSON.stringify(run.report, null, 2), table: formatReport(run.report) };
    for (const [name, text] of Object.entries(formats)) {
      for (const p of run.pseudonyms) expect(text, name).not.toContain(p.split('.')[1]);
      expect(text, name).not.toMatch(/\bk[01]\.[A-Za-z0-9_-]{22}/);
      for (const hidden of EXPECTED.hiddenPages) {
        expect(text, `${name}: ${hidden}`).not.toContain(JSON.stringify(hidden).slice(1, -1));
        expect(text, `${name}: ${hidden}`).not.toContain(esc(hidden));
      }
    }
    // labels of the page (data, table rows, chart labels, tooltips): no hidden place or device
    const labels = [
      ...html.matchAll(/data-label="([^"]*)"/g),
      ...html.matchAll(/<bdi>([^<]*)<\/bdi>/g),
      ...html.matchAll(/<text class="label"[^>]*>([^<]*)</g),
      ...html.matchAll(/<title>([^<]*)<\/title>/g),
    ].map((m) => m[1]!);
    expect(labels.length).toBeGreaterThan(30);
    for (const hidden of [...EXPECTED.hiddenDevices, ...EXPECTED.hiddenPlaces, 'United States', 'Sweden']) {
      expect(labels.filter((l) => l.includes(esc(hidden)))).toEqual([]);
    }
    for (const hidden of [...EXPECTED.hiddenDevices, ...EXPECTED.hiddenPlaces]) {
      expect(formats.json).not.toContain(`"${hidden}"`);
      expect(formats.table).not.toMatch(new RegExp(`^\\s+${hidden.replace(/[?/]/g, '\\$&')}\\s`, 'm'));
    }
    // every number the page gives as data is 0 or at least the minimum
    const numbers = [...html.matchAll(/ (?:value|data-[a-z]+)="(\d+)"/g)].map((m) => Number(m[1]));
    expect(numbers.length).toBeGreaterThan(20);
    expect(numbers.filter((n) => n > 0 && n < MIN_COUNT)).toEqual([]);
    // and so is every number written as text in a table cell or on a chart (values, axes)
    const written = [
      ...html.matchAll(/<(?:td class="num"|text class="(?:value|tick)"[^>]*)>(?:<data value="\d+">)?([\d\u202F]+)</g),
    ].map((m) => Number(m[1]!.replace(/\u202F/g, '')));
    expect(written.length).toBeGreaterThan(20);
    expect(written.filter((n) => n > 0 && n < MIN_COUNT)).toEqual([]);
  });
});
