#!/usr/bin/env node
// npm run release [-- --no-cuda] [-- --arch=LIST] [-- --pack-destination=DIR]
//
// The release: builds the linux-x64 prebuild (prebuilds/linux-x64/wattgrad.node, through
// scripts/prebuild.mjs: CUDA for every release arch, stripped), checks that it loads, then runs
// `npm pack` (whose prepack compiles lib/ to dist/) and checks that the tarball holds the library,
// the prebuild and the embedded MNIST file. Before building it checks what the build needs and
// stops with one clear message when something is missing: the platform (linux-x64 only), CMake, a
// C++ compiler, the dev dependencies (npm ci), and nvcc (the CUDA toolkit; `--no-cuda` makes a
// package whose prebuild carries no CUDA kernels, e.g. for CI without a toolkit).
// Note: prebuildify builds in build/ and moves the addon out, so build/Release/wattgrad.node is gone
// afterwards (npm run build:native brings it back).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(import.meta.url);
const TUPLE = 'linux-x64';

function fail(msg) {
  console.error(`release: ${msg}`);
  process.exit(1);
}
const runs = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).status === 0;

const opts = { cuda: true, arch: undefined, dest: root };
for (const a of process.argv.slice(2)) {
  if (a === '--no-cuda') opts.cuda = false;
  else if (a.startsWith('--arch=')) opts.arch = a.slice(7);
  else if (a.startsWith('--pack-destination=')) opts.dest = path.resolve(a.slice(19));
  else fail(`unknown argument ${a} (expected --no-cuda, --arch=LIST, --pack-destination=DIR)`);
}

// ---- what the build needs ------------------------------------------------------------------------
const here_ = `${process.platform}-${process.arch}`;
if (here_ !== TUPLE) fail(`the release builds the ${TUPLE} prebuild, and this machine is ${here_}; run it on linux-x64 (glibc)`);
for (const dep of ['cmake-js', 'prebuildify', 'node-addon-api', 'node-api-headers', 'typescript']) {
  try {
    require.resolve(`${dep}/package.json`);
  } catch {
    fail(`the dev dependency ${dep} is not installed; run npm ci first`);
  }
}
if (!runs('cmake', ['--version'])) fail('cmake not found; install CMake >= 3.18 (Debian/Ubuntu: apt-get install cmake)');
const cxx = [process.env.CXX, 'c++', 'g++', 'clang++'].filter(Boolean).find((c) => runs(c, ['--version']));
if (!cxx) fail('no C++ compiler found (tried $CXX, c++, g++, clang++); install one (Debian/Ubuntu: apt-get install g++)');
if (opts.cuda) {
  const nvcc = [process.env.CUDACXX, 'nvcc', '/usr/local/cuda/bin/nvcc'].filter(Boolean).find((c) => runs(c, ['--version']));
  if (!nvcc) {
    fail(
      'nvcc not found: the release prebuild carries the CUDA kernels (sm_75 to sm_90a + PTX). Install the CUDA toolkit ' +
        '(nvcc on PATH, $CUDACXX or /usr/local/cuda/bin/nvcc), or run npm run release -- --no-cuda for a package whose prebuild has no CUDA',
    );
  }
  if (!process.env.CUDACXX && !runs('nvcc', ['--version'])) process.env.CUDACXX = nvcc;
}

// ---- the prebuild ---------------------------------------------------------------------------------
const prebuild = path.join(root, 'prebuilds', TUPLE, 'wattgrad.node');
fs.rmSync(path.dirname(prebuild), { recursive: true, force: true });
const pbArgs = [path.join(here, 'prebuild.mjs'), opts.cuda ? '--cuda' : '--no-cuda', ...(opts.arch ? [`--arch=${opts.arch}`] : [])];
console.log(`release: building the ${TUPLE} prebuild (${opts.cuda ? `CUDA, archs ${opts.arch ?? 'all'}` : 'no CUDA'}) with ${cxx}`);
const pb = spawnSync(process.execPath, pbArgs, { cwd: root, stdio: 'inherit' });
if (pb.status !== 0)
  fail(
    `the prebuild failed (node ${pbArgs.map((a) => path.relative(root, a) || a).join(' ')} exited with ${pb.status ?? pb.signal}); see the compiler output above`,
  );
if (!fs.existsSync(prebuild)) fail(`the prebuild finished but ${path.relative(root, prebuild)} is missing`);
const probe = spawnSync(
  process.execPath,
  ['-e', `const b = require(${JSON.stringify(prebuild)}); console.log(JSON.stringify(b.buildInfo))`],
  { encoding: 'utf8' },
);
if (probe.status !== 0) fail(`${path.relative(root, prebuild)} does not load: ${(probe.stderr || '').trim().split('\n')[0]}`);
const info = JSON.parse(probe.stdout.trim());
if (opts.cuda && !info.cuda)
  fail(`${path.relative(root, prebuild)} was built without CUDA although nvcc was found; check the CMake output above`);
console.log(
  `release: ${path.relative(root, prebuild)} loads (cuda ${info.cuda ? `yes, archs ${info.cudaArchs}` : 'no'}, ${(fs.statSync(prebuild).size / 2 ** 20).toFixed(1)} MiB)`,
);

// ---- the tarball ----------------------------------------------------------------------------------
fs.mkdirSync(opts.dest, { recursive: true });
const pack = spawnSync('npm', ['pack', '--json', '--pack-destination', opts.dest], {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
});
if (pack.status !== 0) fail('npm pack failed (its prepack runs npm run build: see the tsc errors above)');
let out;
try {
  out = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0];
} catch {
  fail(`could not read npm pack's JSON output:\n${pack.stdout}`);
}
const files = new Set(out.files.map((f) => f.path));
for (const need of [
  'dist/index.js',
  'dist/index.d.ts',
  'dist/cli.js',
  `prebuilds/${TUPLE}/wattgrad.node`,
  'data/mnist-10k.bin.br',
  'data/MNIST-LICENSE',
  'LICENSE',
]) {
  if (!files.has(need)) fail(`the tarball ${out.filename} lacks ${need}`);
}
const bad = [...files].filter((f) => f.startsWith('build/') || f.startsWith('node_modules/') || f.startsWith('test/'));
if (bad.length) fail(`the tarball ${out.filename} holds files it must not ship: ${bad.slice(0, 5).join(', ')}`);
console.log(
  `release: ${path.join(path.relative(process.cwd(), opts.dest) || '.', out.filename)}: ${(out.size / 2 ** 20).toFixed(1)} MiB packed, ` +
    `${(out.unpackedSize / 2 ** 20).toFixed(1)} MiB unpacked, ${files.size} files (dist/, the ${TUPLE} prebuild, the embedded MNIST digits)`,
);
