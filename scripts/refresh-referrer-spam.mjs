// Refreshes src/policy/data/referrer-spam.txt from Matomo's public referrer-spam list
// (matomo-org/referrer-spam-list, spammers.txt; public domain, CC0-1.0 in its composer.json).
// Run by hand, never in tests or CI: the collector only reads the committed file.
//
//   node scripts/refresh-referrer-spam.mjs <clone of referrer-spam-list>   (reads spammers.txt
//                                                                          and its HEAD commit)
//   node scripts/refresh-referrer-spam.mjs <https URL of a spammers.txt> [commit]
//
// Then read the diff (`git diff --stat src/policy/data/`) and commit it with the source's date.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const out = fileURLToPath(new URL('../src/policy/data/referrer-spam.txt', import.meta.url));
const [from, commitArg] = process.argv.slice(2);
if (!from) {
  console.error('usage: node scripts/refresh-referrer-spam.mjs <clone path | URL of spammers.txt> [commit]');
  process.exit(64);
}

let text;
let commit = commitArg ?? 'unknown';
let date = new Date().toISOString().slice(0, 10);
if (/^https:\/\//.test(from)) {
  const res = await fetch(from, { signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`${from}: HTTP ${res.status}`);
  text = await res.text();
} else if (existsSync(from) && statSync(from).isDirectory()) {
  const git = (...args) => execFileSync('git', ['-C', from, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  // a bare mirror has no work tree: read the committed file
  text = git('show', 'HEAD:spammers.txt');
  commit = git('rev-parse', 'HEAD').trim();
  date = git('log', '-1', '--format=%cs', 'HEAD', '--', 'spammers.txt').trim() || date;
} else {
  text = readFileSync(from, 'utf8');
}

// one host a line, lower case (the list has a few capitals), sorted, no duplicates
const hosts = [
  ...new Set(
    text
      .split(/\r?\n/)
      .map((l) => l.trim().toLowerCase().replace(/\.$/, ''))
      .filter((l) => l !== '' && !l.startsWith('#')),
  ),
].sort();
const bad = hosts.filter((h) => !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(h));
if (bad.length > 0) throw new Error(`not host names: ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''}`);
if (hosts.length < 500) throw new Error(`only ${hosts.length} hosts: not the list this script expects`);

const header = [
  '# Referrer-spam hosts: a hit whose referrer is one of these or a subdomain of one is set',
  '# apart as spam (src/policy/referrer-spam.ts). One host a line; # starts a comment.',
  "# Source: Matomo's community list, github.com/matomo-org/referrer-spam-list, spammers.txt",
  '# Licence: public domain ("Public Domain (no copyright)" in its README, CC0-1.0 in composer.json)',
  `# Commit: ${commit} (${date}); lower-cased, sorted, duplicates removed`,
  '# Refresh: node scripts/refresh-referrer-spam.mjs <clone or URL> (by hand, never in CI)',
];
writeFileSync(out, `${header.join('\n')}\n${hosts.join('\n')}\n`);
console.log(`${path.relative(process.cwd(), out)}: ${hosts.length} hosts from ${commit} (${date})`);
