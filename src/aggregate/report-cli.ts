// `npm run report -- --site S --from YYYY-MM-DD --to YYYY-MM-DD [--format table|json|html] [--out FILE]
//   [--min-count N]`
import { rename, rm, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createRedisClient } from '../redis.js';
import { loadAggregateConfig } from '../config/index.js';
import { startFailure } from '../errors.js';
import { renderReportHtml } from './report-html.js';
import { buildReport, formatReport, parseReportQuery, ReportQueryError } from './report.js';

const usage =
  'usage: npm run report -- --site S --from YYYY-MM-DD --to YYYY-MM-DD ' +
  '[--format table|json|html] [--out FILE] [--min-count N]';

/** Writes the whole file or nothing: a reader never sees half a report. */
async function writeWhole(file: string, text: string): Promise<void> {
  const partial = `${file}.${process.pid}.part`;
  try {
    await writeFile(partial, text, { mode: 0o644 });
    await rename(partial, file);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        site: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string', default: 'table' },
        out: { type: 'string' },
        'min-count': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage}\n`);
    return 64;
  }
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (!['table', 'json', 'html'].includes(args.format)) {
    process.stderr.write(`--format must be table, json or html\n${usage}\n`);
    return 64;
  }
  let query;
  try {
    query = parseReportQuery({ site: args.site, from: args.from, to: args.to });
  } catch (err) {
    if (!(err instanceof ReportQueryError)) throw err;
    process.stderr.write(`--${err.message}\n${usage}\n`);
    return 64;
  }
  let cfg;
  try {
    cfg = loadAggregateConfig(
      args['min-count'] ? { ...process.env, REPORT_MIN_COUNT: args['min-count'] } : process.env,
    );
  } catch (err) {
    return startFailure(err);
  }
  const redis = createRedisClient(cfg.redis, 'cli');
  try {
    const report = await buildReport(redis, { prefix: cfg.prefix, ...query, minCount: cfg.minCount });
    const text =
      args.format === 'json'
        ? `${JSON.stringify(report, null, 2)}\n`
        : args.format === 'html'
          ? renderReportHtml(report, { generatedAt: new Date() })
          : `${formatReport(report)}\n`;
    if (args.out) await writeWhole(args.out, text);
    else process.stdout.write(text);
    return 0;
  } catch (err) {
    process.stderr.write(`report failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

process.exitCode = await main();
