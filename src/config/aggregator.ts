// The reference aggregator's configuration (`npm run aggregate`, `npm run report`): its
// variables (fields.ts) as one typed, frozen AggregateConfig. It needs no pseudonym key.
import { consumerName, environment, loadEnv, redisTarget, type RedisTarget } from './fields.js';

/** Configuration of the reference aggregator and its report (`npm run aggregate`, `npm run report`). */
export interface AggregateConfig {
  readonly redis: RedisTarget;
  readonly streamKey: string;
  readonly streamShards: number;
  readonly erasureStream: string;
  /** Aggregates are kept no longer than the records they come from. */
  readonly retentionMs: number;
  /** Consumer group name, shared by every aggregator process. */
  readonly group: string;
  /** This process's name in the group (unique per process). */
  readonly consumer: string;
  /** Prefix of every aggregate key. */
  readonly prefix: string;
  /** Entries read per XREADGROUP call. */
  readonly batch: number;
  /** How long a read blocks when there is nothing new. */
  readonly blockMs: number;
  /** Entries pending on another consumer for longer than this are claimed (XAUTOCLAIM). */
  readonly claimIdleMs: number;
  /** How long a record id is remembered for dropping duplicates. */
  readonly dedupeWindowMs: number;
  /** Report cells below this count are suppressed. */
  readonly minCount: number;
  readonly logLevel: string;
}

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

const aggregatorSchema = aggregatorEnv.transform(
  (env, ctx): AggregateConfig => ({
    consumer: consumerName(env, ctx),
    redis: redisTarget(env, ctx),
    streamKey: env.STREAM_KEY,
    streamShards: env.STREAM_SHARDS,
    erasureStream: env.ERASURE_STREAM,
    retentionMs: env.STREAM_RETENTION,
    group: env.AGG_GROUP,
    prefix: env.AGG_PREFIX,
    batch: env.AGG_BATCH,
    blockMs: env.AGG_BLOCK_MS,
    claimIdleMs: env.AGG_CLAIM_IDLE_MS,
    dedupeWindowMs: env.AGG_DEDUPE_WINDOW,
    minCount: env.REPORT_MIN_COUNT,
    logLevel: env.LOG_LEVEL,
  }),
);

/** The aggregator's configuration from the environment (HOSTNAME names the default consumer). */
export function loadAggregateConfig(env: Record<string, string | undefined> = process.env): AggregateConfig {
  return loadEnv(aggregatorSchema, env);
}
