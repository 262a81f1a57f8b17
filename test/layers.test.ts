// The folders and top-level files of src/ import each other one way only: read every
// import of every module, check the graph has no cycle, and check it is exactly the
// table of docs/contributing.md ("Layers"): an import the table does not list fails,
// and so does a line of the table the code no longer needs (the doc cannot drift).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const src = path.resolve(import.meta.dirname, '../src');
const contributing = path.resolve(import.meta.dirname, '../docs/contributing.md');

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

/** The table of docs/contributing.md: `| \`routes\` | \`contract\`, \`pipeline\` |` → routes: [contract, pipeline]. */
function documentedLayers(): Map<string, string[]> {
  const doc = readFileSync(contributing, 'utf8');
  const table = /<!-- layers:start -->([\s\S]*?)<!-- layers:end -->/.exec(doc)?.[1];
  if (table === undefined) throw new Error('docs/contributing.md has no layers table between its markers');
  const layers = new Map<string, string[]>();
  for (const line of table.split('\n')) {
    const cells = /^\|\s*`([^`]+)`\s*\|(.*)\|\s*$/.exec(line.trim());
    if (!cells) continue;
    layers.set(cells[1]!, [...cells[2]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!).sort());
  }
  return layers;
}

const sorted = (m: Map<string, Iterable<string>>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()] as const).sort(([a], [b]) => a.localeCompare(b)));

describe('layers of src/', () => {
  const g = graph();

  it('has no folder importing one that imports it back, directly or around a loop', () => {
    expect(g.size).toBeGreaterThan(8);
    expect(cycles(g)).toEqual([]);
  });

  it('imports exactly what the table of docs/contributing.md says, for every folder and top-level file', () => {
    expect(sorted(g)).toEqual(sorted(documentedLayers()));
  });

  it('finds a cycle and an import the table does not list (the checks can fail)', () => {
    const looped = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['a'])],
    ]);
    expect(cycles(looped)).not.toEqual([]);
    const extra = new Map(g);
    extra.set('contract', new Set(['pipeline']));
    expect(sorted(extra)).not.toEqual(sorted(documentedLayers()));
  });
});
