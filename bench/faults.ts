// The figures of the fault scenarios: the same scenarios as test/faults/ and
// test/deploy/ (test/helpers/scenarios.ts), run here to PRINT how fast things happen on
// this machine (503 latencies, how soon readiness turns and comes back, when a slow
// client is cut, how long a drain takes, RSS). Nothing here is asserted: on a shared
// 2-core machine these swing by several times between runs, which is why the tests
// only check what must always hold. Everything runs on 127.0.0.1 with its own
// redis-server on a free port, and stops by itself.
//
//   npx tsx bench/faults.ts                      every scenario (~1.5 minutes)
//   npx tsx bench/faults.ts --only kill,sigterm  some of them: kill, freeze, sigterm, slow, lb
//   FAULT_RATE=3000 FAULT_SECONDS=60 npx tsx bench/faults.ts --only kill   a longer outage (bench/soak.sh)
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { uniquePrefix } from '../test/helpers/app.js';
import { type LoadResult, percentile, storedIds } from '../test/helpers/load.js';
import {
  backendRetries,
  type CollectorProcess,
  type RedisProcess,
  startCollector,
  startRedis,
} from '../test/helpers/processes.js';
import {
  dripClient,
  type OutageRun,
  redisFreezeUnderLoad,
  redisKillUnderLoad,
  replicaKillUnderLoad,
  rollingRestart,
  SLOW_BODY,
  SLOW_HEADERS,
  sigtermUnderLoad,
  startBalancedPair,
} from '../test/helpers/scenarios.js';

const RATE = Number(process.env.FAULT_RATE ?? 2000);
const SECONDS = Number(process.env.FAULT_SECONDS ?? 9);
const args = process.argv.slice(2);
const only = args.includes('--only') ? new Set(args[args.indexOf('--only') + 1]!.split(',')) : undefined;
const wanted = (name: string) => !only || only.has(name);
const HARD_LIMIT_MS = Math.max(10 * 60_000, SECONDS * 4000 + 5 * 60_000);
setTimeout(() => {
  console.error(`bench/faults.ts exceeded ${HARD_LIMIT_MS / 60_000} minutes: stopping`);
  process.exit(2);
}, HARD_LIMIT_MS).unref();

const ms = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? null : Math.round(n));
const mb = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);
const lat = (values: number[]) => ({
  p50: ms(percentile(values, 50)),
  p99: ms(percentile(values, 99)),
  max: ms(values.length ? Math.max(...values) : NaN),
});
function print(name: string, figures: object) {
  console.log(`\n${name}`);
  for (const [k, v] of Object.entries(figures))
    console.log(`  ${k.padEnd(34)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
}

const redis: RedisProcess = await startRedis({ aof: true, fsync: 'everysec' });
const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
client.on('error', () => undefined);
await client.connect();
const collectors: CollectorProcess[] = [];
const collector = async (env: Record<string, string>) => {
  const c = await startCollector({ REDIS_URL: redis.url, GEOIP_DB: 'off', ...env });
  collectors.push(c);
  return c;
};

async function outageFigures(run: OutageRun, rate: number, streamKey: string, faultName: string, recoveryName: string) {
  const ids = await storedIds(client, [streamKey]);
  const { load } = run;
  const refused = load.outcomes.filter((o) => o.status === 503);
  const firstOkAfter = load.accepted.find((o) => load.startedAt + o.sentAt >= run.recoveredAt);
  const before = run.rss.filter((s) => s.at < run.faultAt).map((s) => s.bytes);
  const during = run.rss.filter((s) => s.at >= run.faultAt && s.at <= run.recoveredAt).map((s) => s.bytes);
  const notReadyAt = run.ready.find((s) => s.at >= run.faultAt && s.status !== 200)?.at;
  const readyAgainAt = run.ready.find((s) => s.at >= run.recoveredAt && s.status === 200)?.at;
  return {
    requests: `${load.outcomes.length} in ${load.ms} ms (asked: ${rate}/s)`,
    statuses: load.statuses,
    missing_2xx: [...load.accepted, ...run.after.accepted].filter((o) => !ids.has(o.recordId)).length,
    refused_503_that_landed_anyway: refused.filter((o) => ids.has(o.recordId)).length,
    latency_503_ms: lat(refused.map((o) => o.ms)),
    latency_2xx_ms: lat(load.accepted.map((o) => o.ms)),
    [`readyz_not_200_after_${faultName}_ms`]: notReadyAt ? notReadyAt - run.faultAt : null,
    [`readyz_200_after_${recoveryName}_ms`]: readyAgainAt ? readyAgainAt - run.recoveredAt : null,
    [`first_2xx_sent_after_${recoveryName}_ms`]: firstOkAfter
      ? load.startedAt + firstOkAfter.sentAt - run.recoveredAt
      : null,
    after_recovery: `${run.after.accepted.length} of ${run.after.outcomes.length} hits 2xx`,
    rss_baseline_mb: before.length ? mb(before.at(-1)!) : null,
    rss_growth_during_fault_mb: before.length && during.length ? mb(Math.max(...during) - before.at(-1)!) : null,
  };
}

const timeline = (r: LoadResult) => JSON.stringify(r.timeline);

try {
  console.log(
    `bench/faults.ts on ${new Date().toISOString()}, node ${process.version}, load average ${(await import('node:os'))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  if (wanted('kill')) {
    const streamKey = uniquePrefix('bench-kill');
    const c = await collector({ STREAM_KEY: streamKey });
    const run = await redisKillUnderLoad(c, redis, { ratePerSecond: RATE, seconds: SECONDS });
    print(
      `Redis kill -9 under ${RATE} hits/s for ${SECONDS} s, restarted ${Math.round(SECONDS * 280)} ms later (test/faults/redis-outage.test.ts)`,
      await outageFigures(run, RATE, streamKey, 'kill', 'restart'),
    );
    await c.stop();
  }

  if (wanted('freeze')) {
    const streamKey = uniquePrefix('bench-freeze');
    const c = await collector({ STREAM_KEY: streamKey });
    const run = await redisFreezeUnderLoad(c, redis, { ratePerSecond: 1000, seconds: 7, faultMs: 4000 });
    print('Redis SIGSTOP for 4 s under 1000 hits/s (test/faults/redis-outage.test.ts)', {
      ...(await outageFigures(run, 1000, streamKey, 'stop', 'cont')),
      watchdog_reconnected: c.output.some((l) => l.includes('redis stopped answering: reconnecting')),
    });
    await c.stop();
  }

  if (wanted('sigterm')) {
    const streamKey = uniquePrefix('bench-term');
    const c = await collector({
      STREAM_KEY: streamKey,
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: '3000',
      SHUTDOWN_TIMEOUT_MS: '5000',
      SINK_TIMEOUT_MS: '5000',
    });
    const run = await sigtermUnderLoad(c, {
      ratePerSecond: 2000,
      seconds: 8,
      termAfterMs: 2500,
      probeEveryMs: 250,
      exitWithinMs: 20_000,
    });
    const ids = await storedIds(client, [streamKey]);
    const ok = [...run.load.accepted, ...run.late.accepted];
    const notReadyAt = run.ready.find((s) => s.at >= run.termAt && s.status !== 200)?.at;
    print(
      'SIGTERM under 2000 hits/s, SHUTDOWN_DELAY_MS=3000, client stops on the first failed probe (every 250 ms) (test/faults/shutdown.test.ts)',
      {
        requests: run.load.outcomes.length,
        accepted_2xx: ok.length,
        accepted_after_sigterm:
          run.late.accepted.length +
          run.load.accepted.filter((o) => run.load.startedAt + o.sentAt >= run.termAt).length,
        missing_2xx: ok.filter((o) => !ids.has(o.recordId)).length,
        connection_errors: [...run.load.outcomes, ...run.late.outcomes].filter((o) => o.error).length,
        readyz_503_after_sigterm_ms: notReadyAt ? notReadyAt - run.termAt : null,
        exit_after_sigterm_ms: run.exit.at - run.termAt,
        exit_code: run.exit.code,
        latency_2xx_ms: lat(ok.map((o) => o.ms)),
      },
    );
  }

  if (wanted('slow')) {
    // as test/app.slow-clients.test.ts, but against the collector process
    const c = await collector({
      STREAM_KEY: uniquePrefix('bench-slow'),
      HTTP_HEADERS_TIMEOUT_MS: '1000',
      HTTP_REQUEST_TIMEOUT_MS: '2000',
      HTTP_TIMEOUT_CHECK_MS: '200',
    });
    const headers: number[] = [];
    const body: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [h, b] = await Promise.all([
        dripClient(c.port, SLOW_HEADERS.first, SLOW_HEADERS.drip),
        dripClient(c.port, SLOW_BODY.first, SLOW_BODY.drip),
      ]);
      headers.push(Math.round(h.ms));
      body.push(Math.round(b.ms));
    }
    print(
      'slow clients, HTTP_HEADERS_TIMEOUT_MS=1000, HTTP_REQUEST_TIMEOUT_MS=2000, HTTP_TIMEOUT_CHECK_MS=200, 3 of each (test/app.slow-clients.test.ts)',
      {
        slow_headers_cut_after_ms: headers,
        slow_body_cut_after_ms: body,
      },
    );
    await c.stop();
  }

  if (wanted('lb')) {
    if (spawnSync('haproxy', ['-v']).error) {
      console.log('\nhaproxy: not installed, skipped');
    } else {
      const streamKey = uniquePrefix('bench-lb');
      const pair = await startBalancedPair({
        REDIS_URL: redis.url,
        STREAM_KEY: streamKey,
        SHUTDOWN_DELAY_MS: '1500',
        SINK_TIMEOUT_MS: '5000',
      });
      try {
        const kill = await replicaKillUnderLoad(pair, { killAfterMs: 1500, maxMs: 5000 });
        const killRetries = await backendRetries(pair.socket);
        await pair.startReplica(0);
        const rolling = await rollingRestart(pair, { maxMs: 12_000, pauseBetweenMs: 800 });
        const ids = await storedIds(client, [streamKey]);
        const lost = (r: LoadResult) => r.accepted.filter((o) => !ids.has(o.recordId)).length;
        print('haproxy (docker/haproxy.cfg) in front of two collector processes (test/deploy/load-balancer.test.ts)', {
          kill_requests: `${kill.load.outcomes.length} in ${kill.load.ms} ms, by status ${JSON.stringify(kill.load.statuses)}, 2xx lost ${lost(kill.load)}`,
          kill_marked_down_after_ms: kill.downAfterMs,
          kill_per_second_2xx_other: timeline(kill.load),
          kill_haproxy_retries: killRetries,
          kill_latency_2xx_ms: lat(kill.load.accepted.map((o) => o.ms)),
          rolling_requests: `${rolling.load.outcomes.length} in ${rolling.load.ms} ms, by status ${JSON.stringify(rolling.load.statuses)}, 2xx lost ${lost(rolling.load)}`,
          rolling_steps: rolling.steps.join('; '),
          rolling_per_second_2xx_other: timeline(rolling.load),
          rolling_haproxy_retries_total: await backendRetries(pair.socket),
        });
      } finally {
        await pair.stop();
      }
    }
  }
} finally {
  for (const c of collectors) await c.stop();
  for (const key of await client.keys('test:bench-*')) await client.del(key);
  client.disconnect();
  await redis.stop();
}
