// What the durable mode costs: StreamSink writes (the real sink, pipelined batches)
// against Valkey 8 (WAITAOF) on this machine's disk, in five configurations.
// Prints one line per configuration. Run: npx tsx bench/durability.ts
// Needs scripts/fetch-valkey.sh (or WAITAOF_REDIS_SERVER). Bounded: 3 s or 30k writes each.
import { Redis } from 'ioredis';
import { StreamSink } from '../src/sink/stream-sink.js';
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
const record = JSON.stringify({
  id: 'q5ggfUEeNuGdksSRQ6P59g.0',
  site: '123456',
  event: 'page.display',
  mode: 'exempt',
  ts: Date.now(),
  visitor: 'k1.g_gL3Fc49mFmIYWodAzG7w',
  geo: { country: 'FR', region: 'Île-de-France', city: 'Paris' },
  props: {
    page: 'home',
    visitor_privacy_mode: 'exempt',
    visitor_privacy_consent: false,
    device_timestamp_utc: 1764428400.123,
    event_url_full: 'https://example.com/some/page',
  },
});

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
  const latencies: number[] = [];
  let failed = 0;
  const until = Date.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (Date.now() < until && latencies.length + failed < MAX_WRITES) {
        const t0 = performance.now();
        try {
          await sink.write([{ key: 'bench', hit: record }]);
          latencies.push(performance.now() - t0);
        } catch {
          failed++;
        }
      }
    }),
  );
  const secs = (performance.now() - started) / 1000;
  console.log(
    `${c.name.padEnd(44)} ${String(Math.round(latencies.length / secs)).padStart(7)} writes/s  p50 ${percentile(latencies, 50).toFixed(2)} ms  p99 ${percentile(latencies, 99).toFixed(2)} ms  max ${Math.max(...latencies).toFixed(1)} ms  failed ${failed}`,
  );
  redis.disconnect();
  await server.stop();
}
