// docs/configuration.md and the schema of src/config/fields.ts name the same variables:
// a variable the code reads is documented, and the docs describe no variable the code
// ignores.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { environment, SECRET_FILES } from '../../src/config/fields.js';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/configuration.md'), 'utf8');
const read = [...Object.keys(environment.shape), ...SECRET_FILES.map((name) => `${name}_FILE`)].sort();

/** The variables the docs' tables describe: the backquoted names of each row's first cell. */
function documented(): string[] {
  const names = new Set<string>();
  for (const row of doc.matchAll(/^\|([^|\n]+)\|/gm)) {
    for (const m of row[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(m[1]!);
  }
  return [...names].sort();
}

describe('docs/configuration.md', () => {
  it('describes every variable the configuration reads, in the first cell of a table row or in its text', () => {
    const missing = read.filter((name) => !documented().includes(name) && !new RegExp(`\`${name}[=\`]`).test(doc));
    expect(missing).toEqual([]);
  });

  it('describes no variable the configuration does not read', () => {
    expect(documented().filter((name) => !read.includes(name))).toEqual([]);
  });
});
