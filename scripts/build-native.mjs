#!/usr/bin/env node
// Builds wattgrad.node with cmake-js (offline: Node-API headers come from node-api-headers).
//
//   node scripts/build-native.mjs [--arch=90a|all] [--no-cuda] [--cuda] [--sim] [--out=DIR] [--debug] [--clean]
//
// --arch (or env WATTGRAD_CUDA_ARCH) picks the CUDA archs: "all" (the release set: sm_75/80/86/89/90,
// sm_90a and PTX compute_90) or a list like "90a" or "86,90a" for a fast developer build.
// --no-cuda (or WATTGRAD_CUDA=OFF) builds without CUDA even where nvcc exists; --cuda fails if
// nvcc is missing. The addon lands in <out>/Release/wattgrad.node (default out: build/).
// --sim builds for the GPGPU-Sim simulator (CMake WATTGRAD_SIM_CUDART): PTX-only compute_75, linked
// to the simulator's lib/libcudart.so instead of static cudart, tensor cores compiled out
// (WG_NO_TENSOR_CORES); default out build/sim. The simulator package is found at $WATTGRAD_GPGPU_SIM,
// else ../shared/gpgpu-sim beside the repository, else /work/shared/gpgpu-sim (simPackage()).
// scripts/test-sim.sh (npm run test:sim) runs the cuda tests on that build.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

export function parseArgs(argv) {
  const o = {
    arch: process.env.WATTGRAD_CUDA_ARCH || undefined,
    cuda: process.env.WATTGRAD_CUDA || undefined,
    out: undefined,
    debug: false,
    clean: false,
    sim: false,
  };
  for (const a of argv) {
    if (a.startsWith('--arch=')) o.arch = a.slice(7);
    else if (a === '--no-cuda') o.cuda = 'OFF';
    else if (a === '--cuda') o.cuda = 'ON';
    else if (a.startsWith('--out=')) o.out = a.slice(6);
    else if (a === '--debug') o.debug = true;
    else if (a === '--clean') o.clean = true;
    else if (a === '--sim') o.sim = true;
    else throw new Error(`build-native: unknown argument ${a}`);
  }
  return o;
}

/** The GPGPU-Sim package folder: $WATTGRAD_GPGPU_SIM, ../shared/gpgpu-sim beside the repo, /work/shared/gpgpu-sim; null if none. */
export function simPackage(env = process.env) {
  const cands = env.WATTGRAD_GPGPU_SIM
    ? [path.resolve(env.WATTGRAD_GPGPU_SIM)]
    : [path.resolve(root, '..', 'shared', 'gpgpu-sim'), '/work/shared/gpgpu-sim'];
  return cands.find((d) => fs.existsSync(path.join(d, 'lib', 'libcudart.so')) && fs.existsSync(path.join(d, 'env.sh'))) ?? null;
}

export function buildNative(opts = {}) {
  if (opts.sim) {
    const pkg = simPackage();
    if (!pkg) {
      throw new Error(
        `build-native --sim: no GPGPU-Sim package found (set WATTGRAD_GPGPU_SIM to the folder holding lib/libcudart.so; looked in ${process.env.WATTGRAD_GPGPU_SIM ?? `${path.resolve(root, '..', 'shared', 'gpgpu-sim')}, /work/shared/gpgpu-sim`})`,
      );
    }
    if (opts.cuda === 'OFF') throw new Error('build-native: --sim and --no-cuda exclude each other');
    opts = { ...opts, cuda: 'ON', arch: undefined, out: opts.out ?? 'build/sim', simCudart: path.join(pkg, 'lib', 'libcudart.so') };
  }
  const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  const args = [cmakeJs, opts.clean ? 'rebuild' : 'build', '--log-level', 'warn'];
  if (opts.out) args.push('--out', path.resolve(opts.out));
  if (opts.debug) args.push('--debug');
  if (opts.arch) args.push(`--CDWATTGRAD_CUDA_ARCH=${opts.arch}`);
  if (opts.cuda) args.push(`--CDWATTGRAD_CUDA=${opts.cuda}`);
  // always passed, so a build folder never keeps a stale simulator setting from an earlier configure
  args.push(`--CDWATTGRAD_SIM_CUDART=${opts.simCudart ?? ''}`);
  const env = {
    ...process.env,
    ...(opts.arch ? { WATTGRAD_CUDA_ARCH: opts.arch } : {}),
    ...(opts.cuda ? { WATTGRAD_CUDA: opts.cuda } : {}),
    WATTGRAD_SIM_CUDART: opts.simCudart ?? '',
    CMAKE_BUILD_PARALLEL_LEVEL: process.env.CMAKE_BUILD_PARALLEL_LEVEL || String(os.availableParallelism?.() ?? os.cpus().length),
  };
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) throw new Error(`build-native: cmake-js exited with ${r.status ?? r.signal}`);
  return path.join(path.resolve(root, opts.out ?? 'build'), opts.debug ? 'Debug' : 'Release', 'wattgrad.node');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const out = buildNative(parseArgs(process.argv.slice(2)));
    console.log(`built ${path.relative(process.cwd(), out)}`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
