// The folders of src/ import each other one way only: read every import of every
// module, and check the folder graph has no cycle and keeps the documented directions
// (docs/contributing.md): routes → pipeline → policy → contract; the sink and the
// aggregator know the contract, never the pipeline.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../src');

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? modules(p) : /\.ts$/.test(name) ? [p] : [];
  });
}

/** `pipeline` for src/pipeline/x.ts, `app.ts` for a file at the top of src/. */
const unit = (file: string) => path.relative(src, file).split(path.sep)[0]!;

/** unit → the units it imports (type imports too: they are dependencies of the code). */
function graph(): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const file of modules(src)) {
    const from = unit(file);
    const edges = g.get(from) ?? new Set<string>();
    g.set(from, edges);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const to = unit(path.resolve(path.dirname(file), m[1]!)).replace(/\.js$/, '.ts');
      if (to !== from && !to.startsWith('..')) edges.add(to);
    }
  }
  return g;
}

/** Every cycle's path, found by depth-first search. */
function cycles(g: Map<string, Set<string>>): string[][] {
  const found: string[][] = [];
  const visit = (node: string, stack: string[]) => {
    for (const next of g.get(node) ?? []) {
      const at = stack.indexOf(next);
      if (at !== -1) found.push([...stack.slice(at), next]);
      else visit(next, [...stack, next]);
    }
  };
  for (const node of g.keys()) visit(node, [node]);
  return found;
}

/** What each folder may import (besides itself): anything else is a layering mistake. */
const ALLOWED: Record<string, string[]> = {
  contract: [],
  config: ['pipeline', 'errors.ts'], // the PseudonymKey type only
  policy: ['contract', 'config', 'errors.ts'],
  pipeline: ['contract', 'policy'],
  formats: ['contract', 'policy', 'pipeline'],
  sink: ['contract'],
  aggregate: ['contract', 'config', 'logger.ts', 'errors.ts', 'redis.ts'],
  plugins: ['contract', 'config', 'policy', 'pipeline', 'sink', 'errors.ts', 'metrics.ts', 'redis.ts'],
  routes: ['contract', 'config', 'policy', 'pipeline', 'formats', 'sink', 'plugins', 'aggregate', 'errors.ts'],
};

describe('layers of src/', () => {
  const g = graph();

  it('has no folder importing one that imports it back, directly or around a loop', () => {
    expect(g.size).toBeGreaterThan(8);
    expect(cycles(g)).toEqual([]);
  });

  it('keeps every folder to the imports its layer allows', () => {
    for (const [folder, allowed] of Object.entries(ALLOWED)) {
      const actual = [...(g.get(folder) ?? [])].filter((to) => !allowed.includes(to));
      expect(actual, `${folder} imports`).toEqual([]);
    }
  });
});
