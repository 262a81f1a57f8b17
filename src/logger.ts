// Logging that never carries a raw IP, a raw visitor id, a path or a query string.
// Fastify's default request serializer logs remoteAddress and the full URL; it is
// replaced here by the request's route (`/event`, never `/c/<id>/<ip>/<e-mail>` as
// sent), request logging is our own one line per request (app.ts), and redact
// catches the fields should anything log a request or its headers anyway.
import pino, { type Logger, type LoggerOptions } from 'pino';

/** What a log line says of where a request went: its route pattern, never the path as sent. */
export function routeOf(req: { routeOptions?: { url?: string } }): string {
  return req.routeOptions?.url ?? '(no route)';
}

const serializers = {
  req: (req: { method?: string; routeOptions?: { url?: string }; id?: string }) => ({
    method: req.method,
    route: routeOf(req),
    id: req.id,
  }),
  res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
};

function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    serializers: { ...serializers, err: pino.stdSerializers.err },
    redact: {
      paths: [
        'req.headers',
        'req.query',
        'req.url',
        'url',
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

type Log = (...args: unknown[]) => void;
type ChildCapable = { child(bindings: Record<string, unknown>, opts?: object): ChildCapable } & Record<string, unknown>;

/**
 * Fastify's per-request logger, made lazily: pino's `child()` runs the bindings (the
 * request id) through redaction, which costs on every request although a request
 * logs only when it fails (or at debug level). The child is made, from the same
 * parent, bindings and options (so with the same redaction and serializers), the
 * first time the request logs or asks for something of it.
 */
export class LazyChildLogger {
  readonly #parent: ChildCapable;
  readonly #bindings: Record<string, unknown>;
  readonly #opts: object;
  #child: ChildCapable | undefined;

  constructor(parent: ChildCapable, bindings: Record<string, unknown>, opts: object) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#opts = opts;
  }

  /** Whether the pino child exists yet (for tests). */
  get made(): boolean {
    return this.#child !== undefined;
  }

  #get(): ChildCapable {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#opts));
  }

  get level(): string {
    return this.#get().level as string;
  }
  set level(level: string) {
    this.#get().level = level;
  }
  isLevelEnabled(level: string): boolean {
    return (this.#get().isLevelEnabled as (l: string) => boolean)(level);
  }
  bindings(): Record<string, unknown> {
    return (this.#get().bindings as () => Record<string, unknown>)();
  }
  // A line below the level makes no child either (a flood of refused hits logs nothing
  // at LOG_LEVEL=warn, and must not pay for a child per request).
  #log(level: string, args: unknown[]): void {
    if (this.#child === undefined && !(this.#parent.isLevelEnabled as (l: string) => boolean)(level)) return;
    (this.#get()[level] as Log)(...args);
  }
  fatal(...args: unknown[]): void {
    this.#log('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#log('error', args);
  }
  warn(...args: unknown[]): void {
    this.#log('warn', args);
  }
  info(...args: unknown[]): void {
    this.#log('info', args);
  }
  debug(...args: unknown[]): void {
    this.#log('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#log('trace', args);
  }
  silent(): void {}
  child(bindings: Record<string, unknown>, opts?: object): ChildCapable {
    return this.#get().child(bindings, opts);
  }
}

/** For Fastify's `childLoggerFactory` option. */
export function lazyChildLoggerFactory<L>(logger: L, bindings: Record<string, unknown>, opts: object): L {
  return new LazyChildLogger(logger as unknown as ChildCapable, bindings, opts) as unknown as L;
}
