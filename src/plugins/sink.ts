// The stream writer on top of the Redis connection.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config/index.js';
import { streamKeys } from '../contract/keys.js';
import type { Sink } from '../sink/sink.js';
import { StreamSink } from '../sink/stream-sink.js';

declare module 'fastify' {
  interface FastifyInstance {
    sink: Sink;
    streamKeys: readonly string[];
    /**
     * What a 2xx waits for (`ack`, `aof-fsync`, `replicas:<n>`, `aof-fsync+replicas:<n>`);
     * `problem` is set while the durable mode cannot work (replicas: see Sink.replicasKeepUp).
     */
    durability: { mode: string; problem?: string };
  }
}

export default fp(
  async (app, opts: { config: Config }) => {
    const { sink: s, streamMaxLen } = opts.config;
    const sink: Sink = new StreamSink(app.redis, {
      maxPending: s.maxPending,
      maxBatch: s.maxBatch,
      timeoutMs: s.timeoutMs,
      maxLen: streamMaxLen,
      waitAof: s.waitAof,
      waitReplicas: s.waitReplicas,
      onReplicasShort: app.metrics.sinkReplicasShort,
      log: app.log.child({ component: 'sink' }),
      onBatch: app.metrics.sinkBatch,
      probeKeys: streamKeys(opts.config.streamKey, opts.config.streamShards),
    });
    app.decorate('sink', sink);
    const waits = [...(s.waitAof ? ['aof-fsync'] : []), ...(s.waitReplicas > 0 ? [`replicas:${s.waitReplicas}`] : [])];
    const durability: FastifyInstance['durability'] = { mode: waits.length > 0 ? waits.join('+') : 'ack' };
    app.decorate('durability', durability);
    if (s.waitAof) {
      // WAITAOF needs Redis >= 7.2 with appendonly yes: check at every (re)connection,
      // and say so in /readyz rather than failing every hit silently.
      const probe = () => {
        app.redis
          .call('waitaof', 1, 0, 1000)
          .then(() => {
            if (durability.problem) app.log.info('WAITAOF works again');
            delete durability.problem;
          })
          .catch((err: Error) => {
            durability.problem = err.message;
            app.log.error(
              { err: err.message },
              'SINK_WAIT_AOF is on but Redis refuses WAITAOF (needs Redis >= 7.2 and appendonly yes)',
            );
          });
      };
      app.redis.on('ready', probe);
      app.addHook('onClose', async () => void app.redis.off('ready', probe));
      if (app.redis.status === 'ready') probe();
    }
    app.decorate('streamKeys', Object.freeze(streamKeys(opts.config.streamKey, opts.config.streamShards)));
    // onClose hooks run in reverse order of registration: this drains before redis quits
    app.addHook('onClose', async () => {
      sink.close();
      await sink.drain();
    });
  },
  { name: 'sink', dependencies: ['redis', 'metrics'] },
);
