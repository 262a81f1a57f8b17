// The HTML report of a site and period, read from the aggregates: what the operator's
// route (GET /admin/report) and the CLI call. The Redis read is here, the rendering in
// report-page.ts (a pure function of a Report), its charts in report-charts.ts.
import type { Cluster, Redis } from 'ioredis';
import { buildReport, parseReportQuery, type ReportOptions } from './report.js';
import { renderReportHtml, type RenderOptions } from './report-page.js';

export { CONTENT_SECURITY_POLICY, renderReportHtml, type RenderOptions } from './report-page.js';
export { MAX_BARS, MAX_COLUMN_DAYS } from './report-charts.js';
export { esc, formatCount } from './report-format.js';

/**
 * The HTML report of a site and period, from the aggregates: what an HTTP route
 * (e.g. GET /admin/report?site=&from=&to=) answers. `site`, `from` and `to` are
 * validated by parseReportQuery (a ReportQueryError means a bad request).
 */
export async function reportHtml(redis: Redis | Cluster, opts: ReportOptions & RenderOptions): Promise<string> {
  const q = parseReportQuery(opts);
  return renderReportHtml(await buildReport(redis, { prefix: opts.prefix, minCount: opts.minCount, ...q }), opts);
}
