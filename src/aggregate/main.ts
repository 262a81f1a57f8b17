// `npm run aggregate`: one aggregator process (run several: they share the work).
import { hostname } from 'node:os';
import { createRedisClient } from '../redis.js';
import { loadAggregateConfig, type AggregateConfig } from '../config/index.js';
import { startFailure } from '../errors.js';
import { createLogger } from '../logger.js';
import { Aggregator } from './consumer.js';

let cfg: AggregateConfig;
try {
  cfg = loadAggregateConfig({ HOSTNAME: hostname(), ...process.env });
} catch (err) {
  process.exit(startFailure(err));
}

const log = createLogger(cfg.logLevel).child({ component: 'aggregate', consumer: cfg.consumer });
const redis = createRedisClient(cfg.redis, 'consumer');
redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis error'));

const aggregator = new Aggregator(redis, cfg, log);

const stop = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
const progress = setInterval(() => log.info({ ...aggregator.stats }, 'progress'), 10_000);
progress.unref();

log.info({ group: cfg.group, streams: cfg.streamShards, erasures: cfg.erasureStream }, 'aggregator started');
await aggregator.run(stop.signal);
clearInterval(progress);
log.info({ ...aggregator.stats }, 'aggregator stopped');
await redis.quit().catch(() => redis.disconnect());
