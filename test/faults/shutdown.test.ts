// SIGTERM under load, against the real collector process: readiness turns 503 first
// while hits are still taken, a client that stops on that signal (as a load balancer
// does) sees no connection reset, every 2xx hit is in the stream, and the process
// exits 0 within SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TEST_KEYS, uniquePrefix } from '../helpers/app.js';
import { percentile, pollStatus, runLoad, storedIds } from '../helpers/fault-load.js';
import { type CollectorProcess, sleep, startCollector } from '../helpers/fault-processes.js';

const DELAY_MS = 1500;
const TIMEOUT_MS = 5000;

describe('graceful shutdown (real process)', () => {
  let collector: CollectorProcess;
  let client: Redis;
  const streamKey = uniquePrefix('shutdown');

  beforeAll(async () => {
    collector = await startCollector({
      REDIS_URL: inject('redisUrl'),
      STREAM_KEY: streamKey,
      PSEUDONYM_KEYS: TEST_KEYS,
      GEOIP_DB: 'off',
      LOG_LEVEL: 'info',
      SHUTDOWN_DELAY_MS: String(DELAY_MS),
      SHUTDOWN_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    client = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    await collector?.stop();
    await client?.del(streamKey);
    client?.disconnect();
  });

  it('drains, answers everything it accepted, loses no 2xx hit and exits 0', async () => {
    // the "load balancer": probes readiness every 250 ms and stops routing on the first failure
    const ready = pollStatus(`${collector.base}/readyz`, 250);
    const drained = () => ready.samples.some((s) => s.status !== 200);
    let termAt = 0;
    const term = (async () => {
      await sleep(2500);
      termAt = Date.now();
      collector.proc.kill('SIGTERM');
      await sleep(100);
      // a client that ignores readiness, inside the drain window: still served, told to go
      return runLoad({ base: collector.base, ratePerSecond: 40, durationMs: 500, maxRequests: 10, concurrency: 2 });
    })();
    const { outcomes, startedAt } = await runLoad({
      base: collector.base,
      ratePerSecond: 2000,
      durationMs: 8000,
      maxRequests: 16_000,
      concurrency: 64,
      stop: drained,
    });
    const late = (await term).outcomes;
    const exit = await collector.exit;
    ready.stop();

    const ok = [...outcomes, ...late].filter((o) => o.status === 204);
    const ids = await storedIds(client, [streamKey]);
    const missing = ok.filter((o) => !ids.has(o.recordId));
    const afterTerm = outcomes.filter((o) => startedAt + o.sentAt >= termAt);
    const errors = [...outcomes, ...late].filter((o) => o.error);
    const notReadyAt = ready.samples.find((s) => s.at >= termAt && s.status !== 200)?.at;
    const figures = {
      requests: outcomes.length,
      accepted_2xx: ok.length,
      accepted_after_sigterm: afterTerm.filter((o) => o.status === 204).length + late.filter((o) => o.status === 204).length,
      missing_2xx: missing.length,
      connection_errors: errors.length,
      readyz_503_after_sigterm_ms: notReadyAt ? notReadyAt - termAt : null,
      exit_after_sigterm_ms: exit.at - termAt,
      exit_code: exit.code,
      latency_ms_p99: percentile(ok.map((o) => o.ms), 99),
    };
    console.log('SIGTERM figures', JSON.stringify(figures));

    expect(exit.code).toBe(0);
    expect(errors.map((o) => o.error)).toEqual([]);
    expect(missing.map((o) => o.index)).toEqual([]);
    expect(outcomes.every((o) => o.status === 204)).toBe(true);
    // still served while draining, each answer closing its connection
    expect(late.map((o) => [o.status, o.connection])).toEqual(late.map(() => [204, 'close']));
    expect(late.length).toBeGreaterThan(0);
    expect(figures.readyz_503_after_sigterm_ms).not.toBeNull();
    expect(figures.exit_after_sigterm_ms).toBeLessThan(DELAY_MS + TIMEOUT_MS);
    expect(collector.output.some((l) => l.includes('shutting down'))).toBe(true);
  });
});
