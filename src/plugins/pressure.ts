// Load shedding: when the event loop lags or too many hits are being received at
// once, POST /event answers 503 at once instead of letting latency and memory grow.
// (The sink bounds what waits for Redis on its own: SINK_MAX_PENDING.)
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { ERROR_CODES, unavailable } from '../errors.js';

declare module 'fastify' {
  interface FastifyInstance {
    pressure: Pressure;
  }
}

interface Pressure {
  /** Mean event-loop delay over the last sampling window, in ms. */
  readonly eventLoopDelayMs: number;
  /** POST /event requests received and not yet answered. */
  readonly inFlight: number;
  /** Why new hits are refused right now, or undefined. */
  overloaded(): string | undefined;
  /** onRequest hook for the routes to protect: counts the request, or refuses it. */
  guard(this: void, req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void;
}

const SAMPLE_MS = 250;
const RESOLUTION_MS = 10;

export default fp(
  async (app, opts: { config: Config }) => {
    const { maxEventLoopDelayMs, maxInFlightRequests } = opts.config.pressure;
    const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    histogram.enable();
    let delayMs = 0;
    const sampler = setInterval(() => {
      // the histogram counts the sampling resolution itself as delay
      delayMs = Number.isNaN(histogram.mean) ? 0 : Math.max(0, histogram.mean / 1e6 - RESOLUTION_MS);
      histogram.reset();
    }, SAMPLE_MS);
    sampler.unref();
    let inFlight = 0;

    const pressure: Pressure = {
      get eventLoopDelayMs() {
        return delayMs;
      },
      get inFlight() {
        return inFlight;
      },
      overloaded() {
        if (maxEventLoopDelayMs > 0 && delayMs > maxEventLoopDelayMs)
          return `event loop delayed ${Math.round(delayMs)} ms`;
        if (inFlight >= maxInFlightRequests) return `${inFlight} requests in flight`;
        return undefined;
      },
      guard(_req, reply, done) {
        const why = pressure.overloaded();
        if (why) return done(unavailable(ERROR_CODES.OVERLOADED, `hit not stored: ${why}`));
        inFlight++;
        // 'close' fires once per response, answered or aborted
        reply.raw.once('close', () => inFlight--);
        done();
      },
    };
    app.decorate('pressure', pressure);
    app.addHook('onClose', async () => {
      clearInterval(sampler);
      histogram.disable();
    });
  },
  { name: 'pressure' },
);
