// The CORS answers of the hit routes, written once. Every answer of a hit route, errors
// included, names the page's origin: a tracker's fetch fallback resends a hit whose answer
// it cannot read (the Piano SDK), or falls back to an image that loses the answer (matomo.js).
import type { FastifyInstance } from 'fastify';

export interface HitCors {
  /** The paths whose preflights (OPTIONS) are answered. */
  paths: readonly string[];
  /** Access-Control-Allow-Methods of a preflight answer. */
  methods: string;
  /**
   * Allow credentials (with the page's origin, never `*`): matomo.js sends its XHR
   * withCredentials, and the browser hides an answer that does not allow them.
   */
  credentials?: boolean;
  /** Allow the headers the preflight asks for (when they are plain header names), not only Content-Type. */
  echoRequestedHeaders?: boolean;
}

const REQUESTED_HEADERS = /^[A-Za-z0-9, -]{1,256}$/;

/** Adds the CORS headers to every answer of the plugin's routes and answers their preflights. */
export function answerCors(app: FastifyInstance, cors: HitCors): void {
  app.addHook('onRequest', (req, reply, done) => {
    const origin = req.headers.origin;
    if (origin && origin !== 'null') {
      reply.header('access-control-allow-origin', origin);
      if (cors.credentials) reply.header('access-control-allow-credentials', 'true');
    } else {
      reply.header('access-control-allow-origin', '*');
    }
    reply.header('vary', 'Origin');
    done();
  });

  for (const path of cors.paths) {
    app.options(path, async (req, reply) => {
      const asked = req.headers['access-control-request-headers'];
      const allowHeaders =
        cors.echoRequestedHeaders && typeof asked === 'string' && REQUESTED_HEADERS.test(asked)
          ? asked
          : 'Content-Type';
      reply
        .headers({
          'access-control-allow-methods': cors.methods,
          'access-control-allow-headers': allowHeaders,
          'access-control-max-age': '86400',
        })
        .code(204)
        .send();
    });
  }
}
