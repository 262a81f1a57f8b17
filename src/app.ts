// buildApp(config, deps) → the public Fastify instance, with every resource opened and
// every route registered, not listening, and the operator's instance as `app.operator`.
// server.ts listens on both; tests use inject or listen on port 0.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config/index.js';
import { ERROR_CODES, type ErrorBody, type ErrorCode, HttpError } from './errors.js';
import { createLogger, lazyChildLoggerFactory, routeOf } from './logger.js';
import { Pseudonymiser } from './pipeline/pseudonymise.js';
import { LIMITS } from './contract/wire.js';
import geoPlugin from './plugins/geo.js';
import metricsPlugin from './plugins/metrics.js';
import pressurePlugin from './plugins/pressure.js';
import rateLimitPlugin from './plugins/rate-limit.js';
import redisPlugin from './plugins/redis.js';
import retentionPlugin from './plugins/retention.js';
import sinkPlugin from './plugins/sink.js';
import adminRoutes from './routes/admin.js';
import collectRoutes from './routes/collect.js';
import healthRoutes from './routes/health.js';
import matomoRoutes from './routes/matomo.js';
import metricsRoutes from './routes/metrics.js';
import plausibleRoutes from './routes/plausible.js';
import privacyRoutes from './routes/privacy.js';
import { loadReferrerSpamList } from './policy/referrer-spam.js';
import { loadSites, type SitePolicies } from './policy/sites.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Graceful shutdown: not ready for delayMs while still serving, then close. */
    shutdown(delayMs: number): Promise<void>;
    /** The operator's listener (/metrics, /admin/*, health), served on ADMIN_PORT. */
    operator: FastifyInstance;
  }
}

export interface AppDeps {
  logger?: Logger;
  /** An existing client (tests, fault injection); the app then does not close it. */
  redis?: Redis | Cluster;
  /** Site policies; by default read from SITES_FILE. */
  sites?: SitePolicies;
}

/** Fastify's own 4xx codes, as stable error names. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ERROR_CODES.BODY_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ERROR_CODES.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ERROR_CODES.INVALID_CONTENT_LENGTH,
  FST_ERR_CTP_EMPTY_JSON_BODY: ERROR_CODES.EMPTY_BODY,
  FST_ERR_CTP_INVALID_JSON_BODY: ERROR_CODES.INVALID_JSON,
};

/** Error bodies, the 404 body and the one log line per request, alike on both listeners. */
function answerAlike(app: FastifyInstance, logger: Logger): void {
  // One line per answered request: method, route (never the path as sent), status, time.
  // (a callback hook, not an async one: no promise per request on the hot path)
  const debug = logger.isLevelEnabled('debug');
  app.addHook('onResponse', (req, reply, done) => {
    if (reply.statusCode < 400 && !debug) return done();
    const line = {
      method: req.method,
      route: routeOf(req),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (reply.statusCode >= 500) req.log.warn(line, 'request failed');
    else if (reply.statusCode >= 400) req.log.info(line, 'request refused');
    else req.log.debug(line, 'request');
    done();
  });

  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    let body: ErrorBody;
    if (err instanceof HttpError) {
      reply.headers(err.headers);
      body = {
        statusCode: err.statusCode,
        error: err.code,
        message: err.message,
        ...(err.path ? { path: err.path } : {}),
      };
    } else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      body = {
        statusCode: err.statusCode,
        error: FASTIFY_CODES[err.code] ?? ERROR_CODES.BAD_REQUEST,
        message: err.message,
      };
    } else {
      req.log.error({ err }, 'unexpected error');
      body = { statusCode: 500, error: ERROR_CODES.INTERNAL_ERROR, message: 'internal error' };
    }
    if (body.statusCode === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
    const tracker = req.routeOptions.config.tracker;
    if (tracker) app.metrics.hitRefused(tracker, body.error, req.hitMode);
    reply.code(body.statusCode).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    const body: ErrorBody = {
      statusCode: 404,
      error: ERROR_CODES.NOT_FOUND,
      message: `no route for ${req.method} at this path`,
    };
    reply.code(404).send(body);
  });
}

function fastifyOptions(config: Config, logger: Logger) {
  return {
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // req.log becomes a pino child (with its redaction) only if the request logs
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: LIMITS.bodyBytes,
    // Slow clients are cut off (408, then the socket closes): the headers must arrive
    // within HTTP_HEADERS_TIMEOUT_MS and the whole request within HTTP_REQUEST_TIMEOUT_MS,
    // checked every HTTP_TIMEOUT_CHECK_MS (Node's default check is every 30 s).
    requestTimeout: config.http.requestTimeoutMs,
    http: { headersTimeout: config.http.headersTimeoutMs, connectionsCheckingInterval: config.http.timeoutCheckMs },
    // longer than the usual load balancer idle timeout (60 s), so the balancer closes first
    keepAliveTimeout: 72_000,
    // While closing, requests already on an open connection are still served (with
    // Connection: close): the sink writes them before Redis quits, or answers 503.
    return503OnClosing: false,
    forceCloseConnections: 'idle' as const,
  };
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const sites = deps.sites ?? loadSites(config.sitesFile); // throws ConfigError before anything opens
  const referrerSpam = loadReferrerSpamList(); // once for every hit route
  const logger = deps.logger ?? createLogger(config.logLevel);
  const app: FastifyInstance = Fastify(fastifyOptions(config, logger));
  app.decorate('lifecycle', { closing: false });
  app.addHook('preClose', async () => {
    app.lifecycle.closing = true;
  });
  app.decorate('shutdown', async (delayMs: number) => {
    // Readiness first: /readyz turns 503 and every answer carries Connection: close, so
    // a load balancer stops sending here and keep-alive clients move away; hits are
    // still taken meanwhile. Then close: stop listening, answer what is in flight, let
    // the sink write what it accepted, and only then quit Redis (onClose order).
    app.lifecycle.closing = true;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    await app.close();
  });
  // (callback hooks, not async ones, on every request: no promise per hook)
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (app.lifecycle.closing) reply.header('connection', 'close');
    done(null, payload);
  });

  if (config.pseudonymKeyGenerated) {
    app.log.warn('PSEUDONYM_KEYS is not set: using a random key made at start; pseudonyms will not survive a restart');
  }
  answerAlike(app, logger);

  await app.register(metricsPlugin);
  await app.register(redisPlugin, { config, redis: deps.redis });
  await app.register(geoPlugin, { config });
  await app.register(sinkPlugin, { config });
  await app.register(retentionPlugin, { config });
  await app.register(pressurePlugin, { config });
  await app.register(rateLimitPlugin, { config, sites });

  const pseudonymiser = new Pseudonymiser(config.pseudonymKeys);
  // The public listener: what browsers reach through the load balancer.
  await app.register(healthRoutes, { maxPending: config.sink.maxPending });
  await app.register(collectRoutes, { config, pseudonymiser, sites, referrerSpam });
  // Third-party trackers, adapted to the same events and the same pipeline (issue 13)
  await app.register(matomoRoutes, { config, pseudonymiser, sites, referrerSpam });
  await app.register(plausibleRoutes, { config, pseudonymiser, sites, referrerSpam });
  await app.register(privacyRoutes, { config, pseudonymiser, sites, referrerSpam });

  // The operator's listener (ADMIN_PORT on ADMIN_HOST): metrics and data-subject
  // requests, never reachable on the public port whatever the load balancer does.
  // It shares the resources above and closes before them.
  const operator: FastifyInstance = Fastify(fastifyOptions(config, logger.child({ listener: 'operator' })));
  for (const name of [
    'metrics',
    'redis',
    'geolocator',
    'sink',
    'streamKeys',
    'durability',
    'pressure',
    'lifecycle',
  ] as const) {
    (operator.decorate as (n: string, v: unknown) => void)(name, app[name]);
  }
  answerAlike(operator, logger);
  await operator.register(healthRoutes, { maxPending: config.sink.maxPending });
  await operator.register(metricsRoutes);
  // Data-subject requests exist only when an operator set a token.
  if (config.adminToken) await operator.register(adminRoutes, { config, pseudonymiser });
  app.decorate('operator', operator);
  app.addHook('onReady', async () => {
    await operator.ready();
  });
  app.addHook('preClose', async () => {
    await operator.close();
  });
  return app;
}
