// The physical limit: a bare Fastify server that parses the same JSON body as the
// collector (text/plain or application/json, as the SDK sends it) and answers 204,
// doing nothing else. Same framework version, same body limit, no logger.
import Fastify from 'fastify';

const app = Fastify({ logger: false, bodyLimit: 64 * 1024, keepAliveTimeout: 72_000 });
app.removeAllContentTypeParsers();
app.addContentTypeParser(['text/plain', 'application/json'], { parseAs: 'string' }, (_req, body, done) => {
  try {
    done(null, JSON.parse(body));
  } catch (err) {
    err.statusCode = 400;
    done(err, undefined);
  }
});
app.post('/event', async (_req, reply) => {
  reply.code(204).send();
});
app.get('/healthz', async () => ({ status: 'ok' }));

const port = Number(process.env.PORT ?? 0);
await app.listen({ port, host: '127.0.0.1' });
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
