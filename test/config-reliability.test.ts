// The reliability settings (README "Failure behaviour"): defaults and refusals.
import { describe, expect, it } from 'vitest';
import { refused } from './helpers/config.js';
import { loadConfig } from '../src/config/index.js';

describe('reliability settings', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.sink).toMatchObject({ timeoutMs: 500, waitAof: false, maxPending: 20_000 });
    expect(c.http).toEqual({ headersTimeoutMs: 5000, requestTimeoutMs: 10_000, timeoutCheckMs: 1000 });
    expect(c.pressure).toEqual({ maxEventLoopDelayMs: 200, maxInFlightRequests: 2048 });
    expect(c.shutdown).toEqual({ delayMs: 5000, timeoutMs: 10_000 });
  });

  it('reads them, and names the variable of an invalid one', () => {
    expect(loadConfig({ SINK_WAIT_AOF: 'on' }).sink.waitAof).toBe(true);
    expect(loadConfig({ SINK_WAIT_AOF: 'false' }).sink.waitAof).toBe(false);
    expect(loadConfig({ MAX_EVENT_LOOP_DELAY_MS: '0' }).pressure.maxEventLoopDelayMs).toBe(0);
    expect(refused({ SINK_WAIT_AOF: 'maybe' })).toBe('SINK_WAIT_AOF');
    expect(refused({ HTTP_REQUEST_TIMEOUT_MS: '10s' })).toBe('HTTP_REQUEST_TIMEOUT_MS');
    expect(refused({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toBe('HTTP_HEADERS_TIMEOUT_MS');
    expect(refused({ MAX_IN_FLIGHT_REQUESTS: '0' })).toBe('MAX_IN_FLIGHT_REQUESTS');
    expect(refused({ SHUTDOWN_DELAY_MS: '-1' })).toBe('SHUTDOWN_DELAY_MS');
    expect(refused({ SHUTDOWN_TIMEOUT_MS: '5' })).toBe('SHUTDOWN_TIMEOUT_MS');
  });
});
