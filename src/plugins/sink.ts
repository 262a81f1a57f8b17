// The stream writer on top of the Redis connection.
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { streamKeys } from '../sink/shards.js';
import { StreamSink } from '../sink/stream-sink.js';

declare module 'fastify' {
  interface FastifyInstance {
    sink: StreamSink;
    streamKeys: readonly string[];
  }
}

export default fp(
  async (app, opts: { config: Config }) => {
    const { sink: s, streamMaxLen } = opts.config;
    const sink = new StreamSink(app.redis, {
      maxPending: s.maxPending,
      maxBatch: s.maxBatch,
      timeoutMs: s.timeoutMs,
      maxLen: streamMaxLen,
      log: app.log.child({ component: 'sink' }),
      onBatch: app.metrics.sinkBatch,
    });
    app.decorate('sink', sink);
    app.decorate('streamKeys', Object.freeze(streamKeys(opts.config.streamKey, opts.config.streamShards)));
    // onClose hooks run in reverse order of registration: this drains before redis quits
    app.addHook('onClose', async () => {
      sink.close();
      await sink.drain();
    });
  },
  { name: 'sink', dependencies: ['redis', 'metrics'] },
);
