// SIGTERM under load, against the real collector process: readiness turns 503 first
// while hits are still taken, a client that stops on that signal (as a load balancer
// does) sees no connection reset, a client that ignores it is still served (and told to
// close), every 2xx hit is in the stream, and the process exits with code 0 — which
// close-with-grace only gives when the drain finished within SHUTDOWN_DELAY_MS +
// SHUTDOWN_TIMEOUT_MS. How long each step took is a figure of bench/faults.ts.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uniquePrefix } from '../helpers/app.js';
import { storedIds, summary } from '../helpers/load.js';
import { type CollectorProcess, startCollector } from '../helpers/processes.js';
import { sigtermUnderLoad } from '../helpers/scenarios.js';

// the drain window: long enough that the late client (100 ms after SIGTERM, for 500 ms)
// is inside it however busy the machine is
const DELAY_MS = 3000;
const TIMEOUT_MS = 5000;

describe('graceful shutdown (real process)', () => {
  let collector: CollectorProcess;
  let client: Redis;
  const streamKey = uniquePrefix('shutdown');

  beforeAll(async () => {
    collector = await startCollector({
      REDIS_URL: inject('redisUrl'),
      STREAM_KEY: streamKey,
      GEOIP_DB: 'off',
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: String(DELAY_MS),
      SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS),
      // what is tested is the drain, not the sink's timeout: a Redis slowed down by a busy
      // machine must not turn a hit into a 503 here
      SINK_TIMEOUT_MS: '5000',
    });
    client = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    await collector?.stop();
    await client?.del(streamKey);
    client?.disconnect();
  });

  it('drains, answers everything it accepted, loses no 2xx hit and exits 0', async () => {
    const run = await sigtermUnderLoad(collector, {
      ratePerSecond: 2000,
      seconds: 8,
      termAfterMs: 2500,
      probeEveryMs: 250,
      exitWithinMs: DELAY_MS + TIMEOUT_MS + 10_000,
    });
    const all = [...run.load.outcomes, ...run.late.outcomes];
    const ids = await storedIds(client, [streamKey]);

    expect(run.exit.code, collector.text()).toBe(0);
    expect(all.filter((o) => o.error).map((o) => o.error)).toEqual([]);
    expect(all.filter((o) => o.status === 204 && !ids.has(o.recordId)).map((o) => o.page)).toEqual([]);
    expect(Object.keys(run.load.statuses), summary('until the first failed probe', run.load)).toEqual(['204']);
    // still served while draining, each answer closing its connection
    expect(run.late.outcomes.map((o) => [o.status, o.connection])).toEqual(run.late.outcomes.map(() => [204, 'close']));
    expect(run.late.outcomes.length).toBeGreaterThan(0);
    // readiness turned before the process went away
    expect(
      run.ready.some((s) => s.at >= run.termAt && s.status === 503),
      JSON.stringify(run.ready),
    ).toBe(true);
    expect(collector.output.some((l) => l.includes('shutting down'))).toBe(true);
  });
});
