import { expect } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

/** The variable a ConfigError names when load() refuses; fails the test if it accepts. */
export function refusedBy(load: () => unknown): string {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).variable;
  }
  throw new Error('configuration was accepted');
}

/** The variable loadConfig(env) refuses. */
export const refused = (env: Record<string, string>): string => refusedBy(() => loadConfig(env));
