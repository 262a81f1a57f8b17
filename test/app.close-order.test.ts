// app.close() lets the sink write everything it accepted before Redis quits: hits
// queued behind a slow write still get their 204 and are in the stream.
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logger.js';
import { TEST_KEYS } from './helpers/app.js';
import { injectAsBrowser } from './helpers/browser-user-agent.js';
import { usePrivateRedis } from './helpers/private-redis.js';
import { sleep, until } from './helpers/processes.js';

describe('close order', () => {
  const redis = usePrivateRedis();

  it('drains the sink before quitting Redis', async () => {
    const config = loadConfig({
      REDIS_URL: redis.url,
      PSEUDONYM_KEYS: TEST_KEYS,
      GEOIP_DB: 'off',
      SINK_TIMEOUT_MS: '20000',
      STREAM_KEY: 'close-order',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      STREAM_TRIM_INTERVAL: 'off',
    });
    // (no load shedding: a busy machine must not turn these hits into 503s before the sink;
    // no age trimming: its XTRIM at start, held by the pause below, would keep close()
    // waiting by itself, and the test would pass without the sink's drain)
    const app = await buildApp(config, { logger: createLogger('silent') });
    injectAsBrowser(app);
    await app.ready();
    // writes wait in Redis until CLIENT UNPAUSE below (the pause itself is only a bound)
    await redis.client.client('PAUSE', 20_000, 'WRITE');
    try {
      const hit = (i: number) =>
        app.inject({
          method: 'POST',
          url: `/event?s=1&idclient=v${i}`,
          headers: { 'content-type': 'text/plain' },
          payload: `{"events":[{"name":"page.display","data":{"page":"${i}"}}]}`,
        });
      // a first batch goes out and waits in Redis; the rest queue in the sink behind it
      const replies = Array.from({ length: 10 }, (_, i) => hit(i));
      await until('the first batch to be sent', () => app.sink.pending === 10, 10_000, 10);
      await sleep(50);
      replies.push(...Array.from({ length: 50 }, (_, i) => hit(10 + i)));
      await until('the other hits to queue behind it', () => app.sink.pending === 60, 10_000, 10);
      const closed = app.close();
      await sleep(100);
      expect(app.sink.pending).toBe(60); // nothing acknowledged yet, and close is waiting
      await redis.client.client('UNPAUSE');
      await closed;
      const statuses = (await Promise.all(replies)).map((r) => r.statusCode);
      expect(statuses).toEqual(statuses.map(() => 204));
      expect(await redis.client.xlen('close-order')).toBe(60);
      // and Redis was quit after that (bounded wait for the socket to close)
      await new Promise((r) =>
        app.redis.status === 'end' ? r(undefined) : (app.redis.once('end', r), setTimeout(r, 2000)),
      );
      expect(app.redis.status).toBe('end');
    } finally {
      await redis.client.client('UNPAUSE');
    }
  });
});
