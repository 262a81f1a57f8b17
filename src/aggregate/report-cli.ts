// `npm run report -- --site S --from YYYY-MM-DD --to YYYY-MM-DD [--format table|json] [--min-count N]`
import { parseArgs } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { ConfigError, loadAggregateConfig } from '../config.js';
import { buildReport, formatReport } from './report.js';

const usage = 'usage: npm run report -- --site S --from YYYY-MM-DD --to YYYY-MM-DD [--format table|json] [--min-count N]';

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        site: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        format: { type: 'string', default: 'table' },
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
  const today = new Date().toISOString().slice(0, 10);
  const site = args.site;
  if (!site || !/^[A-Za-z0-9_.-]{1,64}$/.test(site) || !['table', 'json'].includes(args.format!)) {
    process.stderr.write(`${usage}\n`);
    return 64;
  }
  let cfg;
  try {
    cfg = loadAggregateConfig(args['min-count'] ? { ...process.env, REPORT_MIN_COUNT: args['min-count'] } : process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 78;
    }
    throw err;
  }
  const redis =
    cfg.redis.kind === 'cluster'
      ? new Cluster([...cfg.redis.nodes], { enableAutoPipelining: true })
      : new Redis(cfg.redis.url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  try {
    const report = await buildReport(redis, { prefix: cfg.prefix, site, from: args.from ?? today, to: args.to ?? args.from ?? today, minCount: cfg.minCount });
    process.stdout.write(args.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`report failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    redis.disconnect();
  }
}

process.exitCode = await main();
