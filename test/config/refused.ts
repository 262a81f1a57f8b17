// What a configuration refusal looks like, for the tests of src/config/.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

/** The ConfigError load() throws; fails the test if it accepts. */
export function refusal(load: () => unknown): ConfigError {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('configuration was accepted');
}

/** The variable a ConfigError names when load() refuses; fails the test if it accepts. */
export const refusedBy = (load: () => unknown): string => refusal(load).variable;

/** The variable loadConfig(env) refuses. */
export const refused = (env: Record<string, string>): string => refusedBy(() => loadConfig(env));

const root = path.resolve(import.meta.dirname, '../..');

/** Runs an entry point (tsx) with only `env` (and PATH) and returns its exit code and stderr. */
export function runEntry(entry: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}
