import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  badRequest,
  ConfigError,
  ERROR_CODES,
  forbidden,
  HttpError,
  startFailure,
  unavailable,
} from '../src/errors.js';
import { SinkError, type SinkErrorCode } from '../src/sink/sink.js';

describe('HttpError', () => {
  it('carries the status, a stable code, the message and the headers of the refusal', () => {
    const e = unavailable(ERROR_CODES.SINK_TIMEOUT, 'hit not stored: not acknowledged in time', 2);
    expect(e).toBeInstanceOf(HttpError);
    expect(e).toMatchObject({
      statusCode: 503,
      code: 'sink_timeout',
      message: 'hit not stored: not acknowledged in time',
      headers: { 'retry-after': '2' },
    });
    expect(badRequest('events: expected an array', 'events')).toMatchObject({
      statusCode: 400,
      code: 'invalid_hit',
      path: 'events',
      headers: {},
    });
    expect(forbidden(ERROR_CODES.ORIGIN_NOT_ALLOWED, 'no')).toMatchObject({
      statusCode: 403,
      code: 'origin_not_allowed',
    });
  });

  it('captures no stack trace (an expected answer, not a bug) and leaves the process setting as it was', () => {
    const before = Error.stackTraceLimit;
    const e = new HttpError({ statusCode: 429, code: ERROR_CODES.RATE_LIMITED, message: 'too many events' });
    expect(e.stack?.split('\n')).toHaveLength(1);
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('a bug').stack?.split('\n').length).toBeGreaterThan(1);
  });
});

describe('ERROR_CODES', () => {
  it('are the lower-case spelling of their names, as clients have always read them', () => {
    for (const [name, code] of Object.entries(ERROR_CODES)) expect(code).toBe(name.toLowerCase());
  });

  it('has a code for every SinkError, so a refused write answers its own code', () => {
    const sinkCodes: SinkErrorCode[] = [
      'SINK_UNAVAILABLE',
      'SINK_OVERLOADED',
      'SINK_TIMEOUT',
      'SINK_FAILED',
      'SINK_CLOSED',
    ];
    for (const c of sinkCodes) expect(ERROR_CODES[new SinkError(c, 'x').code]).toBe(c.toLowerCase());
  });

  it('is the table of docs/errors.md, no more and no less', () => {
    const doc = readFileSync(path.resolve(import.meta.dirname, '../docs/errors.md'), 'utf8');
    const table = /<!-- error-codes:start -->([\s\S]*?)<!-- error-codes:end -->/.exec(doc)?.[1] ?? '';
    const documented = [...table.matchAll(/^\|\s*`([a-z_]+)`\s*\|\s*\d{3}\s*\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.values(ERROR_CODES).sort());
  });
});

describe('ConfigError', () => {
  it('names the variable in its message and has a code', () => {
    const e = new ConfigError('PORT', 'must be a whole number from 0 to 65535');
    expect(e.message).toBe('invalid configuration: PORT: must be a whole number from 0 to 65535');
    expect(e).toMatchObject({ code: 'ERR_CONFIG', variable: 'PORT', name: 'ConfigError' });
  });

  it('stops a process with exit code 78 and the message alone; anything else with 1', () => {
    const said: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (said.push(String(chunk)), true));
    try {
      expect(startFailure(new ConfigError('PORT', 'must be a whole number'))).toBe(78);
      expect(startFailure(new Error('redis is away'))).toBe(1);
    } finally {
      write.mockRestore();
    }
    expect(said[0]).toBe('invalid configuration: PORT: must be a whole number\n');
    expect(said[1]).toMatch(/^cannot start: Error: redis is away/);
  });
});
