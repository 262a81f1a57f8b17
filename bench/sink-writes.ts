// What bench/durability.ts and bench/replicas.ts share: one record as the collector writes
// it, and concurrent writers driving the real StreamSink for a bounded time and count.
import type { StreamSink } from '../src/sink/stream-sink.js';

/** A record v1 as the collector encodes an exempt page view. */
export const SAMPLE_RECORD = JSON.stringify({
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

export interface TimedWrites {
  /** Milliseconds from each write to its acknowledgement. */
  latencies: number[];
  failed: number;
  seconds: number;
}

/** `writers` concurrent writers, one event per write to `key`, for `seconds` or `maxWrites` writes. */
export async function timedWrites(
  sink: StreamSink,
  o: { key: string; writers: number; seconds: number; maxWrites: number },
): Promise<TimedWrites> {
  const latencies: number[] = [];
  let failed = 0;
  const end = Date.now() + o.seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: o.writers }, async () => {
      while (Date.now() < end && latencies.length + failed < o.maxWrites) {
        const t0 = performance.now();
        try {
          await sink.write([{ key: o.key, hit: SAMPLE_RECORD }]);
          latencies.push(performance.now() - t0);
        } catch {
          failed++;
        }
      }
    }),
  );
  return { latencies, failed, seconds: (performance.now() - started) / 1000 };
}
