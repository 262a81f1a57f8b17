import { describe, expect, it } from 'vitest';
import { badRequest, ConfigError, forbidden, HttpError, unavailable } from '../src/errors.js';

describe('HttpError', () => {
  it('carries the status, a stable code, the message and the headers of the refusal', () => {
    const e = unavailable('sink_timeout', 'hit not stored: not acknowledged in time', 2);
    expect(e).toBeInstanceOf(HttpError);
    expect(e).toMatchObject({ statusCode: 503, code: 'sink_timeout', message: 'hit not stored: not acknowledged in time', headers: { 'retry-after': '2' } });
    expect(badRequest('events: expected an array', 'events')).toMatchObject({ statusCode: 400, code: 'invalid_hit', path: 'events', headers: {} });
    expect(forbidden('origin_not_allowed', 'no')).toMatchObject({ statusCode: 403, code: 'origin_not_allowed' });
  });

  it('captures no stack trace (an expected answer, not a bug) and leaves the process setting as it was', () => {
    const before = Error.stackTraceLimit;
    const e = new HttpError(429, 'rate_limited', 'too many events');
    expect(e.stack?.split('\n')).toHaveLength(1);
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('a bug').stack?.split('\n').length).toBeGreaterThan(1);
  });
});

describe('ConfigError', () => {
  it('names the variable in its message and has a code', () => {
    const e = new ConfigError('PORT', 'must be a whole number from 0 to 65535');
    expect(e.message).toBe('invalid configuration: PORT: must be a whole number from 0 to 65535');
    expect(e).toMatchObject({ code: 'ERR_CONFIG', variable: 'PORT', name: 'ConfigError' });
  });
});
