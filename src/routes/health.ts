// GET /healthz: the process answers. GET /readyz: it can take hits right now.
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: { closing: boolean };
  }
}

const PING_TIMEOUT_MS = 500;

async function redisAnswers(app: FastifyInstance): Promise<boolean> {
  if (app.redis.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      app.redis.ping().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS))),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export default async function healthRoutes(app: FastifyInstance, opts: { maxPending: number }) {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const checks = {
      redis: (await redisAnswers(app)) ? 'ok' : 'failing',
      geolocation: app.geolocator.enabled ? 'ok' : 'disabled',
      shutdown: app.lifecycle.closing ? 'closing' : 'ok',
      load: app.sink.pending >= opts.maxPending * 0.9 || app.pressure.overloaded() ? 'overloaded' : 'ok',
      // WAITAOF refused, or replicas that keep missing SINK_WAIT_REPLICAS (probed while they do)
      durability: app.durability.problem || !(await app.sink.replicasKeepUp()) ? 'failing' : app.durability.mode,
      // Redis answers PING but refuses writes (out of memory, read-only): not ready
      writes: (await app.sink.isHealthy()) ? 'ok' : 'failing',
    };
    const ready =
      checks.redis === 'ok' &&
      checks.shutdown === 'ok' &&
      checks.load === 'ok' &&
      checks.durability !== 'failing' &&
      checks.writes === 'ok';
    reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
}
