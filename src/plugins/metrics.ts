// The Prometheus registry, opened first so that the sink and the routes can count.
import fp from 'fastify-plugin';
import { Metrics, type TrackerLabel } from '../metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
  }
  interface FastifyRequest {
    /** The privacy mode of the hit, once its body is parsed (a metrics label). */
    hitMode: string | undefined;
  }
  interface FastifyContextConfig {
    /** Set on every hit route (/event, /matomo.php, /api/event): their refusals are counted by tracker. */
    tracker?: TrackerLabel;
  }
}

export default fp(
  async (app) => {
    // read at scrape time: the sink, Redis and geolocation plugins register after this one
    const metrics = new Metrics({
      pending: () => (app.hasDecorator('sink') ? app.sink.pending : 0),
      redisStatus: () => (app.hasDecorator('redis') ? app.redis.status : 'none'),
      geoDatabases: () => (app.hasDecorator('geolocator') ? app.geolocator.databases : []),
      writesFailing: () => (app.hasDecorator('sink') ? app.sink.failing : false),
    });
    app.decorate('metrics', metrics);
    app.decorateRequest('hitMode', undefined);
  },
  { name: 'metrics' },
);
