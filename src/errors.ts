// Errors with a stable code: HttpError becomes the JSON error body of a refused request
// (the app's error handler); ConfigError stops the service at start (exit code 78).

/**
 * The public error codes: the `error` field of every JSON refusal (docs/errors.md). They
 * are part of the wire contract: clients and alerts switch on them, so a value never
 * changes meaning and a new one is added here and in the docs' table.
 */
export const ERROR_CODES = Object.freeze({
  /** 400: the hit breaks the wire format (the message and `path` say where). */
  INVALID_HIT: 'invalid_hit',
  /** 400: an admin request with a malformed body or query. */
  INVALID_REQUEST: 'invalid_request',
  /** 400: a request Fastify refused before any route saw it. */
  BAD_REQUEST: 'bad_request',
  /** 400: the Content-Length header does not match the body. */
  INVALID_CONTENT_LENGTH: 'invalid_content_length',
  /** 400: a JSON content type with no body. */
  EMPTY_BODY: 'empty_body',
  /** 400: Fastify's JSON parser refused the body (operator routes). */
  INVALID_JSON: 'invalid_json',
  /** 401: the admin bearer token is missing or wrong. */
  UNAUTHORIZED: 'unauthorized',
  /** 403 (404 on /privacy): no site of this collector has this id or lists this domain. */
  UNKNOWN_SITE: 'unknown_site',
  /** 403: the page's origin is not one of the site's domains. */
  ORIGIN_NOT_ALLOWED: 'origin_not_allowed',
  /** 404: no route at this method and path. */
  NOT_FOUND: 'not_found',
  /** 413: the body (or a Matomo query string) is larger than the collector reads. */
  BODY_TOO_LARGE: 'body_too_large',
  /** 415: a content type the route does not read. */
  UNSUPPORTED_MEDIA_TYPE: 'unsupported_media_type',
  /** 429: the site sends more events than its rate limit (Retry-After says when to retry). */
  RATE_LIMITED: 'rate_limited',
  /** 429: another access or erasure request is running. */
  ADMIN_BUSY: 'admin_busy',
  /** 503: the collector sheds load (event-loop delay, requests in flight); nothing stored. */
  OVERLOADED: 'overloaded',
  /** 503: the event store cannot be reached; nothing stored. */
  SINK_UNAVAILABLE: 'sink_unavailable',
  /** 503: too many hits wait for the event store; nothing stored. */
  SINK_OVERLOADED: 'sink_overloaded',
  /** 503: the event store did not acknowledge in time; the hit may be stored (its id makes a resend harmless). */
  SINK_TIMEOUT: 'sink_timeout',
  /** 503: the event store refused the write; nothing stored. */
  SINK_FAILED: 'sink_failed',
  /** 503: the collector is shutting down; nothing stored. */
  SINK_CLOSED: 'sink_closed',
  /**
   * 503: fewer replicas than SINK_WAIT_REPLICAS had the hit in time; it may be on the master
   * (a resend is harmless).
   */
  SINK_NOT_REPLICATED: 'sink_not_replicated',
  /** 500: a bug; the log says more (never the request's data). */
  INTERNAL_ERROR: 'internal_error',
});
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export interface HttpErrorOptions {
  statusCode: number;
  code: ErrorCode;
  message: string;
  /** Where in the request the problem is (`query.s`, `body.events.0.name`). */
  path?: string;
  headers?: Record<string, string>;
}

export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly headers: Record<string, string>;

  constructor({ statusCode, code, message, path, headers = {} }: HttpErrorOptions) {
    // An expected refusal, not a bug: no stack trace, whose capture was most of what a
    // 429 or a shed 503 cost (a flood of them must stay cheap).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.path = path;
    this.headers = headers;
  }
}

export const badRequest = (message: string, path?: string) =>
  new HttpError({ statusCode: 400, code: ERROR_CODES.INVALID_HIT, message, path });
export const forbidden = (code: ErrorCode, message: string) => new HttpError({ statusCode: 403, code, message });
export const unavailable = (code: ErrorCode, message: string, retryAfterSeconds = 1) =>
  new HttpError({ statusCode: 503, code, message, headers: { 'retry-after': String(retryAfterSeconds) } });

/** The JSON body of every refusal. */
export interface ErrorBody {
  statusCode: number;
  error: ErrorCode;
  message: string;
  path?: string;
}

/** An invalid setting: the message names the variable; the service does not start. */
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`invalid configuration: ${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** EX_CONFIG of sysexits.h: supervisors read it as "fix the configuration", not "restart". */
const EX_CONFIG = 78;

/**
 * Says on stderr why a process (the collector, the aggregator, the report) cannot start,
 * and returns its exit code: 78 for an invalid setting, 1 for anything else.
 */
export function startFailure(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    return EX_CONFIG;
  }
  process.stderr.write(`cannot start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}
