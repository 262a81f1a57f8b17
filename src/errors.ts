// Errors with a stable code: HttpError becomes the JSON error body of a refused request
// (the app's error handler); ConfigError stops the service at start (exit code 78).

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly path?: string,
    readonly headers: Record<string, string> = {},
  ) {
    // An expected refusal, not a bug: no stack trace, whose capture was most of what a
    // 429 or a shed 503 cost (a flood of them must stay cheap).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, path?: string) => new HttpError(400, 'invalid_hit', message, path);
export const forbidden = (code: string, message: string) => new HttpError(403, code, message);
export const unavailable = (code: string, message: string, retryAfterSeconds = 1) =>
  new HttpError(503, code, message, undefined, { 'retry-after': String(retryAfterSeconds) });

/** The JSON body of every refusal. */
export interface ErrorBody {
  statusCode: number;
  error: string;
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
