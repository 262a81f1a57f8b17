// The reference aggregator's configuration (`npm run aggregate`, `npm run report`): its
// variables (fields.ts) as one typed, frozen AggregateConfig. It needs no pseudonym key.
import type { z } from 'zod';
import { consumerName, environment, loadEnv, redisTarget } from './fields.js';
import type { DeepReadonly } from './kinds.js';

// The variables in the order they are checked (the first refusal is reported), then the
// rules between variables in the transform below.
const aggregatorEnv = environment.pick({
  AGG_CONSUMER: true,
  HOSTNAME: true,
  AGG_GROUP: true,
  AGG_DEDUPE_WINDOW: true,
  REDIS_CLUSTER_NODES: true,
  REDIS_URL: true,
  STREAM_KEY: true,
  STREAM_SHARDS: true,
  ERASURE_STREAM: true,
  STREAM_RETENTION: true,
  AGG_PREFIX: true,
  AGG_BATCH: true,
  AGG_BLOCK_MS: true,
  AGG_CLAIM_IDLE_MS: true,
  REPORT_MIN_COUNT: true,
  LOG_LEVEL: true,
});

const aggregatorSchema = aggregatorEnv.transform((env, ctx) => ({
  consumer: consumerName(env, ctx),
  redis: redisTarget(env, ctx),
  streamKey: env.STREAM_KEY,
  streamShards: env.STREAM_SHARDS,
  erasureStream: env.ERASURE_STREAM,
  /** Aggregates are kept no longer than the records they come from. */
  retentionMs: env.STREAM_RETENTION,
  group: env.AGG_GROUP,
  prefix: env.AGG_PREFIX,
  batch: env.AGG_BATCH,
  blockMs: env.AGG_BLOCK_MS,
  claimIdleMs: env.AGG_CLAIM_IDLE_MS,
  dedupeWindowMs: env.AGG_DEDUPE_WINDOW,
  minCount: env.REPORT_MIN_COUNT,
  logLevel: env.LOG_LEVEL,
}));

/** Configuration of the reference aggregator and its report (deep-frozen by loadEnv). */
export type AggregateConfig = DeepReadonly<z.output<typeof aggregatorSchema>>;

/** The aggregator's configuration from the environment (HOSTNAME names the default consumer). */
export function loadAggregateConfig(env: Record<string, string | undefined> = process.env): AggregateConfig {
  return loadEnv(aggregatorSchema, env);
}
