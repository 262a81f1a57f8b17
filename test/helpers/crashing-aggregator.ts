// A test-only aggregator process (run with tsx) that dies like a crash at the worst
// moment: after counting at least N records (argv[2]) and before acknowledging them,
// it SIGKILLs itself. Otherwise it runs as src/aggregate/main.ts does: the same
// configuration loader, the real Aggregator, the same "aggregator started" line.
import { createRedisClient } from '../../src/redis.js';
import pino from 'pino';
import { Aggregator } from '../../src/aggregate/consumer.js';
import { loadAggregateConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';

const crashAfter = Number(process.argv[2]);
if (!Number.isInteger(crashAfter) || crashAfter < 1)
  throw new Error('usage: crashing-aggregator.ts <records counted before the crash>');

const cfg = loadAggregateConfig();
// Synchronous stdout: pino's default writes asynchronously, and the last line before the
// SIGKILL (which the test reads) would then be lost now and then on a busy machine.
const log = createLogger(cfg.logLevel, pino.destination({ dest: 1, sync: true })).child({
  component: 'aggregate',
  consumer: cfg.consumer,
});
const redis = createRedisClient(cfg.redis, 'consumer');
redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis error'));

const aggregator = new Aggregator(redis, cfg, log, {
  beforeAck: (stats) => {
    if (stats.applied < crashAfter) return;
    log.warn({ ...stats }, 'dying before XACK');
    process.kill(process.pid, 'SIGKILL');
  },
});

const stop = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
log.info(
  { group: cfg.group, streams: cfg.streamShards, erasures: cfg.erasureStream, crashAfter },
  'aggregator started',
);
await aggregator.run(stop.signal);
await redis.quit().catch(() => redis.disconnect());
