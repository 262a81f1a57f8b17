// Entry point: configuration, app, listen, graceful shutdown.
// With WORKERS=N (N > 1) this process becomes a node:cluster primary that forks N
// workers, each building its own app on the shared port; SIGTERM (or SIGINT) to the
// primary drains every worker before it exits.
import cluster, { type Worker } from 'node:cluster';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { type Config, loadConfig } from './config/index.js';
import { startFailure } from './errors.js';
import { createLogger } from './logger.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  process.exit(startFailure(err));
}

if (config.workers > 1 && cluster.isPrimary) runPrimary(config);
else await runServer(config);

async function runServer(config: Config): Promise<void> {
  let app: Awaited<ReturnType<typeof buildApp>>;
  try {
    app = await buildApp(config);
  } catch (err) {
    process.exit(startFailure(err));
  }

  // SIGTERM/SIGINT: not ready for SHUTDOWN_DELAY_MS (load balancers drain), then close;
  // past SHUTDOWN_TIMEOUT_MS more, exit anyway (code 1). A second signal exits at once.
  // A hit that never got its 2xx may be lost then, never one that did.
  const { delayMs, timeoutMs } = config.shutdown;
  const inCluster = cluster.isWorker;
  const grace = closeWithGrace(
    // under a primary, SIGINT reaches the whole process group: the primary turns it into
    // one SIGTERM per worker, so a second signal does not cut the drain short
    { delay: delayMs + timeoutMs, ...(inCluster ? { skip: ['SIGINT'] } : {}) },
    async ({ signal, err }) => {
      if (err) {
        app.log.error({ err }, 'closing after an error');
        await app.shutdown(0);
        return;
      }
      app.log.info({ signal, delayMs }, 'shutting down: not ready, draining');
      await app.shutdown(delayMs);
      app.log.info('closed');
    },
  );
  if (inCluster) {
    process.on('SIGINT', () => undefined);
    // the primary went away without telling us: drain and leave
    cluster.worker!.on('disconnect', () => void grace.close());
  }

  await app.listen({ port: config.port, host: config.host });
  if (config.adminPort !== undefined) await app.operator.listen({ port: config.adminPort, host: config.adminHost });
  else app.log.info('ADMIN_PORT=off: no operator listener (/metrics and /admin are not served)');
}

function runPrimary(config: Config): void {
  const log = createLogger(config.logLevel).child({ component: 'primary' });
  const listening = new Set<number>();
  let stopping = false;
  let exitCode = 0;

  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.on('listening', () => listening.add(worker.id));
    return worker;
  };

  cluster.on('exit', (worker, code, signal) => {
    const started = listening.delete(worker.id);
    if (code !== 0 || signal) exitCode = exitCode || code || 1;
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      return;
    }
    if (!started) {
      // a worker that cannot start (configuration, database, port) will not start on
      // a second try either: stop everything instead of forking in a loop
      log.error({ worker: worker.id, code, signal }, 'worker failed to start; stopping');
      stop(code || 1);
      return;
    }
    log.error({ worker: worker.id, code, signal }, 'worker died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, 500).unref();
  });

  function stop(code = 0): void {
    if (stopping) return;
    stopping = true;
    exitCode = exitCode || code;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
    if (workers.length === 0) process.exit(exitCode);
    for (const w of workers) w.process.kill('SIGTERM');
    // each worker has SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS to drain; do not wait
    // forever for a stuck one
    setTimeout(
      () => {
        log.error('workers did not stop in time; killing them');
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
        process.exit(1);
      },
      config.shutdown.delayMs + config.shutdown.timeoutMs + 2000,
    ).unref();
  }

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      log.info({ signal: sig, workers: config.workers }, 'closing');
      stop(0);
    });
  }

  log.info({ workers: config.workers }, 'starting workers');
  for (let i = 0; i < config.workers; i++) fork();
}
