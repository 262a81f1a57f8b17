// Entry point: configuration, app, listen, graceful shutdown.
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw err;
}

let app;
try {
  app = await buildApp(config);
} catch (err) {
  process.stderr.write(`cannot start: ${(err as Error).message}\n`);
  process.exit(err instanceof ConfigError ? 78 : 1);
}

// SIGTERM/SIGINT: not ready for SHUTDOWN_DELAY_MS (load balancers drain), then close;
// past SHUTDOWN_TIMEOUT_MS more, exit anyway (code 1). A second signal exits at once.
// A hit that never got its 2xx may be lost then, never one that did.
const { delayMs, timeoutMs } = config.shutdown;
closeWithGrace({ delay: delayMs + timeoutMs }, async ({ signal, err }) => {
  if (err) {
    app.log.error({ err }, 'closing after an error');
    await app.shutdown(0);
    return;
  }
  app.log.info({ signal, delayMs }, 'shutting down: not ready, draining');
  await app.shutdown(delayMs);
  app.log.info('closed');
});

await app.listen({ port: config.port, host: config.host });
