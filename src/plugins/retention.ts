// Age-based trimming of the record streams and the erasures stream (src/sink/retention.ts).
import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { RetentionTrimmer } from '../sink/retention.js';

export default fp(
  async (app, opts: { config: Config }) => {
    const trimmer = new RetentionTrimmer(app.redis, {
      keys: [...app.streamKeys, opts.config.erasureStream],
      retentionMs: opts.config.streamRetentionMs,
      intervalMs: opts.config.retentionTrimIntervalMs,
      log: app.log.child({ component: 'retention' }),
      onTrimmed: (n) => app.metrics.retentionTrimmed(n),
    });
    app.addHook('onReady', async () => trimmer.start());
    app.addHook('onClose', async () => trimmer.stop());
  },
  { name: 'retention', dependencies: ['redis', 'sink', 'metrics'] },
);
