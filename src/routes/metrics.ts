// GET /metrics: Prometheus text format. Scrape each replica directly; the load
// balancer does not expose it (docker/haproxy.cfg).
import type { FastifyInstance } from 'fastify';

export default async function metricsRoutes(app: FastifyInstance) {
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });
}
