// Logging that never carries a raw IP, a raw visitor id or a query string.
// Fastify's default request serializer logs remoteAddress and the full URL; it is
// replaced here, request logging is our own one line per request (app.ts), and
// redact catches the fields should anything log a request or its headers anyway.
import pino, { type Logger, type LoggerOptions } from 'pino';

/** The path without its query string: `?s=…&idclient=…` stays out of logs. */
export function pathOnly(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export const serializers = {
  req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, path: pathOnly(req.url), id: req.id }),
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
};

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    serializers: { ...serializers, err: pino.stdSerializers.err },
    redact: {
      paths: [
        'req.headers',
        'req.query',
        'req.remoteAddress',
        'req.ip',
        'ip',
        'idclient',
        'headers',
        '*.headers',
        '*.idclient',
        '*.ip',
        '*.remoteAddress',
      ],
      censor: '[redacted]',
    },
  };
}

/** JSON lines on stdout (or a given stream, for tests that scan the logs). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const opts = loggerOptions(level);
  return destination ? pino(opts, destination) : pino(opts);
}
