// Copies the files the code reads at run time besides its .js (the Lua scripts and the
// report's style sheet, the referrer-spam list, read with readFileSync(new URL('./x',
// import.meta.url))) from src/ to dist/, each next to the .js that reads it: tsc copies
// nothing but what it compiles. `npm run build` runs this after tsc; the Dockerfile's build
// stage runs `npm run build`. It reports on stderr: `npm run -s report` runs the build
// first, and its stdout must hold the report alone.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const ASSET = /\.(lua|css|txt)$/;

/** Every asset under dir, as a path relative to src/. */
function assets(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return assets(p);
    return e.isFile() && ASSET.test(e.name) ? [path.relative(src, p)] : [];
  });
}

const found = assets(src);
for (const rel of found) {
  mkdirSync(path.dirname(path.join(dist, rel)), { recursive: true });
  copyFileSync(path.join(src, rel), path.join(dist, rel));
}
console.error(`copy-assets: ${found.length} file(s) from src/ to dist/${found.length ? `: ${found.join(', ')}` : ''}`);
