#!/usr/bin/env node
// node scripts/clang-format.mjs --check | --write
// clang-format (.clang-format at the root) over native/**/*.{cc,h,cu,cuh}: --check is what
// `npm run lint` runs (clang-format --dry-run -Werror: exit 1 and the diagnostics when a file is
// not formatted), --write formats in place (`npm run format`). $CLANG_FORMAT picks the binary.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2];
if (mode !== '--check' && mode !== '--write') {
  console.error('usage: node scripts/clang-format.mjs --check | --write');
  process.exit(2);
}
const bin = process.env.CLANG_FORMAT || 'clang-format';
const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.error(`clang-format: '${bin}' not found; install it (Debian/Ubuntu: apt-get install clang-format) or set CLANG_FORMAT`);
  process.exit(1);
}

const files = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(cc|h|cu|cuh)$/.test(e.name)) files.push(path.relative(root, p));
  }
};
walk(path.join(root, 'native'));
files.sort();

const args = mode === '--check' ? ['--dry-run', '-Werror', '--style=file'] : ['-i', '--style=file'];
const r = spawnSync(bin, [...args, ...files], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  if (mode === '--check') console.error(`clang-format: native/ is not formatted (${probe.stdout.trim()}); run npm run format`);
  process.exit(r.status ?? 1);
}
console.log(`clang-format: ${files.length} files ${mode === '--check' ? 'formatted' : 'written'} (${probe.stdout.trim()})`);
