// The per-request logger is made lazily (src/logger.ts LazyChildLogger): it must log
// the same lines, with the request id and the same redaction, as a pino child.
import { Writable } from 'node:stream';
import Fastify, { LogController } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createLogger, LazyChildLogger, lazyChildLoggerFactory } from '../src/logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, stream };
}

describe('lazy per-request logger', () => {
  it('makes no pino child for a request that does not log, and logs like one for a request that does', async () => {
    const { lines, stream } = capture();
    const app = Fastify({
      loggerInstance: createLogger('info', stream),
      logController: new LogController({ disableRequestLogging: true }),
      childLoggerFactory: lazyChildLoggerFactory,
    });
    const made: boolean[] = [];
    app.get('/quiet', async (req) => {
      made.push((req.log as unknown as LazyChildLogger).made);
      return 'ok';
    });
    app.get('/loud', async (req) => {
      req.log.info({ ip: '203.0.113.7', idclient: 'raw-visitor', headers: { cookie: 'c' }, path: '/loud' }, 'hello');
      req.log.debug('not at info');
      made.push((req.log as unknown as LazyChildLogger).made);
      expect(req.log.level).toBe('info');
      return 'ok';
    });
    expect((await app.inject({ url: '/quiet' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/loud' })).statusCode).toBe(200);
    await app.close();
    expect(made).toEqual([false, true]);
    const hello = lines.filter((l) => l.msg === 'hello');
    expect(hello).toHaveLength(1);
    expect(hello[0]).toMatchObject({
      level: 30,
      path: '/loud',
      ip: '[redacted]',
      idclient: '[redacted]',
      headers: '[redacted]',
    });
    expect(typeof hello[0]!.reqId).toBe('string');
    expect(JSON.stringify(lines)).not.toContain('203.0.113.7');
    expect(JSON.stringify(lines)).not.toContain('raw-visitor');
    expect(lines.some((l) => l.msg === 'not at info')).toBe(false);
  });

  it('children and bindings go through the real pino child', () => {
    const { lines, stream } = capture();
    const parent = createLogger('debug', stream);
    const lazy = lazyChildLoggerFactory(parent, { reqId: 'r1' }, {});
    expect(lazy.bindings()).toEqual({ reqId: 'r1' });
    lazy.child({ component: 'x' }).warn({ ip: '198.51.100.1' }, 'from child');
    expect(lines[0]).toMatchObject({ reqId: 'r1', component: 'x', ip: '[redacted]', msg: 'from child', level: 40 });
  });
});
