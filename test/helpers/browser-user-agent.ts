// The collector sets robots apart (src/pipeline/audience.ts): a hit sent with no
// User-Agent, Node's fetch's (`node`) or light-my-request's (`lightMyRequest`) is a
// robot's and never reaches the stream. The tests' hits stand for a person's browser, so
// they send a desktop browser's User-Agent unless a test sets its own (the audience tests
// do, and send none at all through node:http). Loaded for every test file (vitest.config.ts
// setupFiles) for fetch; startTestApp gives its app's inject the same default.
import type { FastifyInstance, InjectOptions } from 'fastify';
import { DESKTOP_CHROME_UA } from './user-agents.js';

const fetchOfNode = globalThis.fetch;

globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
  if (input instanceof Request) return fetchOfNode(input, init);
  const headers = new Headers(init?.headers);
  if (!headers.has('user-agent')) headers.set('user-agent', DESKTOP_CHROME_UA);
  return fetchOfNode(input, { ...init, headers });
};

/** The app's inject sends a desktop browser's User-Agent unless the request names one. */
export function injectAsBrowser(app: FastifyInstance): void {
  const inject = app.inject.bind(app);
  const asBrowser = (opts?: InjectOptions | string) => {
    if (opts === undefined) return inject();
    const o: InjectOptions = typeof opts === 'string' ? { url: opts } : opts;
    const headers: Record<string, string | string[] | number | undefined> = { ...o.headers };
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'user-agent')) headers['user-agent'] = DESKTOP_CHROME_UA;
    return inject({ ...o, headers });
  };
  Object.defineProperty(app, 'inject', { value: asBrowser, configurable: true, writable: true });
}
