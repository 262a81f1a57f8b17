// What SINK_WAIT_REPLICAS costs: StreamSink writes (the real sink, pipelined batches)
// to a redis-server primary with one replica on loopback, 2xx on the primary's ack
// (SINK_WAIT_REPLICAS=0) beside 2xx once the replica has the batch (WAIT 1), for a few
// numbers of concurrent writers. Prints one line per case; a warm-up runs first and is
// not printed, and the two settings alternate (ROUNDS times) so that a busy machine's
// noise falls on both alike.
// Run: npx tsx bench/replicas.ts   (WRITERS=64,512 SECONDS=3 ROUNDS=2; bounded: 300k writes per case)
import { Redis } from 'ioredis';
import { StreamSink } from '../src/sink/stream-sink.js';
import { timedWrites } from './sink-writes.js';
import { percentile } from '../test/helpers/load.js';
import { startRedis, until } from '../test/helpers/processes.js';

const WRITERS = (process.env.WRITERS ?? '64,512').split(',').map(Number);
const SECONDS = Number(process.env.SECONDS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const MAX_WRITES = 300_000;

const primary = await startRedis();
const replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port)] });
const redis = new Redis(primary.url, { enableOfflineQueue: false, lazyConnect: true });
await redis.connect();
const online = async () => /slave0:.*state=online/.test(await redis.info('replication'));
await until('the replica to be online', online, 15_000);

const version = (await redis.info('server')).match(/redis_version:(\S+)/)?.[1];
console.log(`redis-server ${version}, primary + 1 replica on loopback (appendonly no)`);
console.log(`one event per write, ${SECONDS} s per case`);
console.log(`${'case'.padEnd(36)} ${'writes/s'.padStart(9)}  ${'p50'.padStart(9)}  ${'p99'.padStart(9)}  failed`);
/** Writes from `writers` concurrent writers for SECONDS; the printed line, or nothing for the warm-up. */
async function run(writers: number, waitReplicas: number, seconds: number, print: boolean): Promise<void> {
  const key = `bench:replicas:${writers}:${waitReplicas}`;
  const sink = new StreamSink(redis, {
    maxPending: 100_000,
    maxBatch: 500,
    timeoutMs: 5000,
    maxLen: 1_000_000,
    waitReplicas,
  });
  const {
    latencies,
    failed,
    seconds: secs,
  } = await timedWrites(sink, { key, writers, seconds, maxWrites: MAX_WRITES });
  const name = `${writers} writers, SINK_WAIT_REPLICAS=${waitReplicas}`;
  const perSecond = String(Math.round(latencies.length / secs)).padStart(9);
  const p50 = percentile(latencies, 50).toFixed(2).padStart(6);
  const p99 = percentile(latencies, 99).toFixed(2).padStart(6);
  if (print) console.log(`${name.padEnd(36)} ${perSecond}  ${p50} ms  ${p99} ms  ${failed}`);
  await redis.del(key);
}

try {
  await run(64, 0, 1, false);
  await run(64, 1, 1, false);
  for (const writers of WRITERS) {
    for (let round = 0; round < ROUNDS; round++) {
      for (const waitReplicas of [0, 1]) await run(writers, waitReplicas, SECONDS, true);
    }
  }
} finally {
  redis.disconnect();
  await replica.stop();
  await primary.stop();
}
