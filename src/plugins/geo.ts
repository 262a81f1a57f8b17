// The geolocation databases, opened when the app starts (never on the first hit).
import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { Geolocator } from '../pipeline/geolocate.js';

declare module 'fastify' {
  interface FastifyInstance {
    geolocator: Geolocator;
  }
}

export default fp(
  async (app, opts: { config: Config }) => {
    const geolocator =
      opts.config.geoipDbs.length === 0
        ? Geolocator.disabled()
        : await Geolocator.open(opts.config.geoipDbs, {
            log: app.log.child({ component: 'geo' }),
            watchMs: opts.config.geoipWatchMs,
          });
    if (!geolocator.enabled) app.log.info('geolocation disabled (GEOIP_DB=off)');
    app.decorate('geolocator', geolocator);
    app.addHook('onClose', async () => geolocator.close());
  },
  { name: 'geo' },
);
