// What the tracker browser tests share: the collector (with a sites file), a page server
// on 127.0.0.1 (another port: cross-origin, as in production) and Debian's Chromium.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import { startTestApp, type TestApp, writeSitesFile } from '../helpers/app.js';
import { CHROMIUM, CHROMIUM_FLAGS } from './harness.js';

export interface TrackerPage {
  collector: TestApp;
  /** The collector's base URL (a tracker's apiHost or tracker URL). */
  collectorUrl: string;
  pageOrigin: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startTrackerPage(
  sites: Record<string, unknown>,
  serve: http.RequestListener,
): Promise<TrackerPage> {
  const collector = await startTestApp({ SITES_FILE: writeSitesFile(sites) });
  const collectorUrl = await collector.app.listen({ port: 0, host: '127.0.0.1' });
  const pageServer = http.createServer(serve);
  await new Promise<void>((resolve) => pageServer.listen(0, '127.0.0.1', resolve));
  const pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
  const close = async () => {
    await new Promise<void>((resolve) => pageServer.close(() => resolve()));
    await collector.close();
  };
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, timeout: 30_000 });
  } catch (err) {
    await close();
    throw new Error(`cannot start Chromium at ${CHROMIUM}: ${(err as Error).message}`, { cause: err });
  }
  return {
    collector,
    collectorUrl,
    pageOrigin,
    browser,
    async close() {
      await browser.close().catch(() => {});
      await close();
    },
  };
}
