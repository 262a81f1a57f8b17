// Starts what the suite needs: a private redis-server on a free port (unless
// REDIS_URL is given), and the nested-layout GeoLite2 City database unpacked from
// the geolite2-city dev dependency (cached under .tmp/).
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { TestProject } from 'vitest/node';
import { freePort, waitForPort } from './net.js';

const require = createRequire(import.meta.url);
const root = path.resolve(import.meta.dirname, '../..');

async function unpackGeoLite2City(): Promise<string> {
  const dir = path.join(root, '.tmp');
  const target = path.join(dir, 'GeoLite2-City.mmdb');
  if (existsSync(target)) return target;
  mkdirSync(dir, { recursive: true });
  const gz = path.join(path.dirname(require.resolve('geolite2-city/package.json')), 'GeoLite2-City.mmdb.gz');
  const partial = `${target}.${process.pid}.part`;
  await pipeline(createReadStream(gz), createGunzip(), createWriteStream(partial));
  renameSync(partial, target);
  return target;
}

let redis: ChildProcess | undefined;

export default async function setup(project: TestProject) {
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitForPort(port, 10_000);
    redisUrl = `redis://127.0.0.1:${port}`;
  }
  project.provide('redisUrl', redisUrl);
  project.provide('geolite2CityDb', await unpackGeoLite2City());
  return async () => {
    redis?.kill('SIGTERM');
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    geolite2CityDb: string;
  }
}
