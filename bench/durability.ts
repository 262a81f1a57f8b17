// What the durable mode costs: StreamSink writes (the real sink, pipelined batches)
// against Valkey 8 (WAITAOF) on this machine's disk, in five configurations.
// Prints one line per configuration. Run: npx tsx bench/durability.ts
// Needs scripts/fetch-valkey.sh (or WAITAOF_REDIS_SERVER). Bounded: 3 s or 30k writes each.
import { Redis } from 'ioredis';
import { StreamSink } from '../src/sink/stream-sink.js';
import { timedWrites } from './sink-writes.js';
import { percentile } from '../test/helpers/load.js';
import { startRedis, waitAofServer } from '../test/helpers/processes.js';

const bin = waitAofServer();
if (!bin) {
  console.error('no WAITAOF-capable server: run scripts/fetch-valkey.sh or set WAITAOF_REDIS_SERVER');
  process.exit(1);
}
const WRITERS = Number(process.env.WRITERS ?? 64);
const SECONDS = Number(process.env.SECONDS ?? 3);
const MAX_WRITES = 30_000;

const configs = [
  { name: 'appendonly no, 2xx on ack', aof: false, fsync: 'everysec', waitAof: false },
  { name: 'appendfsync everysec, 2xx on ack (default)', aof: true, fsync: 'everysec', waitAof: false },
  { name: 'appendfsync everysec + SINK_WAIT_AOF', aof: true, fsync: 'everysec', waitAof: true },
  { name: 'appendfsync always, 2xx on ack', aof: true, fsync: 'always', waitAof: false },
  { name: 'appendfsync always + SINK_WAIT_AOF', aof: true, fsync: 'always', waitAof: true },
] as const;

console.log(`${bin}; ${WRITERS} concurrent writers, one event per write, ${SECONDS} s each`);
for (const c of configs) {
  const server = await startRedis({ aof: c.aof, fsync: c.fsync, bin });
  const redis = new Redis(server.url, { enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
  const sink = new StreamSink(redis, {
    maxPending: 100_000,
    maxBatch: 500,
    timeoutMs: 5000,
    maxLen: 1_000_000,
    waitAof: c.waitAof,
  });
  const {
    latencies,
    failed,
    seconds: secs,
  } = await timedWrites(sink, {
    key: 'bench',
    writers: WRITERS,
    seconds: SECONDS,
    maxWrites: MAX_WRITES,
  });
  console.log(
    `${c.name.padEnd(44)} ${String(Math.round(latencies.length / secs)).padStart(7)} writes/s  p50 ${percentile(latencies, 50).toFixed(2)} ms  p99 ${percentile(latencies, 99).toFixed(2)} ms  max ${Math.max(...latencies).toFixed(1)} ms  failed ${failed}`,
  );
  redis.disconnect();
  await server.stop();
}
