// Loading the native addon (wattgrad.node). Never throws: when nothing loads the library runs on
// the js backend. Loading itself prints nothing; the first time user code asks for the cuda backend
// (backends(), wg.cuda.*, getBackend('cuda'): lib/backend/cuda-loader.ts) ONE warning line per
// process says what happened and what actually works from here (fallbackAdvice: a clone can run
// npm run build:native; an installed package says which platforms it ships prebuilds for).
// `wattgrad info` (which reports the same) and the energy probes never print it. WATTGRAD_QUIET=1
// silences it.
//
// Where the addon comes from, in order:
//   1. WATTGRAD_NATIVE=/path/to/wattgrad.node: that file only.
//   2. A local build, build/Release/wattgrad.node (npm run build:native), and the prebuild that
//      node-gyp-build's rules pick from prebuilds/<platform>-<arch>/ (npm run release or prebuildify, shipped in
//      the npm package). When both exist the NEWER file (mtime) is loaded and a one-time warning
//      names the stale one it skipped: a forgotten local build never silently shadows a fresh
//      prebuild, and a fresh local build wins over an old prebuild while you work on the C++.
//      PREBUILDS_ONLY=1 (node-gyp-build's variable) ignores build/.
//   3. If the chosen file fails to load (wrong libc, corrupt), the other candidate is tried.
// Which file was loaded is recorded (`path`) for `wattgrad info`.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Binding } from '../binding.js';

export type { Binding } from '../binding.js';

export interface NativeCandidate {
  path: string;
  kind: 'env' | 'local' | 'prebuild';
  mtimeMs: number;
}

export interface NativeLoad {
  binding: Binding | null;
  /** the file that was loaded */
  path: string | null;
  /** why nothing loaded (null when something did) */
  error: string | null;
  /** the files that were considered, in the order tried */
  candidates: NativeCandidate[];
  /** warnings raised while choosing (stale build, a candidate that failed before another loaded) */
  warnings: string[];
}

const require = createRequire(import.meta.url);

/** The package root: the nearest directory upwards holding wattgrad's package.json. */
export function packageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    try {
      if (JSON.parse(fs.readFileSync(pj, 'utf8')).name === 'wattgrad') return dir;
    } catch {
      /* keep looking */
    }
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(from, '..');
    dir = up;
  }
}

interface GypBuildHelpers {
  parseTuple(name: string): { name: string } | undefined;
  matchTuple(platform: string, arch: string): (t: unknown) => boolean;
  compareTuples(a: unknown, b: unknown): number;
  parseTags(file: string): { file: string } | undefined;
  matchTags(runtime: string, abi: string): (t: unknown) => boolean;
  compareTags(runtime: string): (a: unknown, b: unknown) => number;
}

/** The prebuild node-gyp-build would pick from <root>/prebuilds, or null. */
export function findPrebuild(root: string): string | null {
  let g: GypBuildHelpers;
  try {
    g = require('node-gyp-build') as GypBuildHelpers;
  } catch {
    return null;
  }
  const list = (d: string): string[] => {
    try {
      return fs.readdirSync(d);
    } catch {
      return [];
    }
  };
  const dir = path.join(root, 'prebuilds');
  const tuple = list(dir)
    .map((n) => g.parseTuple(n))
    .filter(g.matchTuple(os.platform(), os.arch()))
    .sort(g.compareTuples)[0] as { name: string } | undefined;
  if (!tuple) return null;
  const files = list(path.join(dir, tuple.name))
    .map((f) => g.parseTags(f))
    .filter(g.matchTags('node', process.versions.modules))
    .sort(g.compareTags('node')) as { file: string }[];
  return files[0] ? path.join(dir, tuple.name, files[0].file) : null;
}

function mtime(p: string): number | null {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return null;
  }
}

/** The candidates for `root`, in the order they will be tried (see the header). */
export function nativeCandidates(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): { candidates: NativeCandidate[]; warnings: string[] } {
  const warnings: string[] = [];
  if (env.WATTGRAD_NATIVE) {
    const p = path.resolve(env.WATTGRAD_NATIVE);
    return { candidates: [{ path: p, kind: 'env', mtimeMs: mtime(p) ?? 0 }], warnings };
  }
  const out: NativeCandidate[] = [];
  const local = path.join(root, 'build', 'Release', 'wattgrad.node');
  const lm = env.PREBUILDS_ONLY ? null : mtime(local);
  if (lm !== null) out.push({ path: local, kind: 'local', mtimeMs: lm });
  const pre = findPrebuild(root);
  const pm = pre ? mtime(pre) : null;
  if (pre && pm !== null) out.push({ path: pre, kind: 'prebuild', mtimeMs: pm });
  if (out.length === 2) {
    out.sort((a, b) => b.mtimeMs - a.mtimeMs);
    const [newer, older] = out as [NativeCandidate, NativeCandidate];
    if (newer.mtimeMs !== older.mtimeMs) {
      warnings.push(
        `wattgrad: ${path.relative(root, older.path)} is older than ${path.relative(root, newer.path)}; ` +
          `loading the newer one (delete the stale file or rebuild with npm run build:native)`,
      );
    }
  }
  return { candidates: out, warnings };
}

/** Loads the first candidate that loads; never throws. */
export function loadNativeFrom(root: string, env: NodeJS.ProcessEnv = process.env): NativeLoad {
  const { candidates, warnings } = nativeCandidates(root, env);
  const errors: string[] = [];
  for (const c of candidates) {
    try {
      const binding = require(c.path) as Binding;
      if (errors.length > 0) warnings.push(`wattgrad: skipped ${errors.join('; ')}`);
      return { binding, path: c.path, error: null, candidates, warnings };
    } catch (e) {
      const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
      errors.push(`${path.relative(root, c.path) || c.path}: ${msg}`);
    }
  }
  const error =
    candidates.length === 0
      ? `no native build found (looked for build/Release/wattgrad.node and prebuilds/${os.platform()}-${os.arch()}/)`
      : errors.join('; ');
  return { binding: null, path: null, error, candidates, warnings };
}

let loaded: NativeLoad | null = null;
let warned = false;

/** The platform folders (e.g. 'linux-x64') under <root>/prebuilds that hold an addon. */
export function shippedPrebuilds(root: string): string[] {
  let dirs: string[];
  try {
    dirs = fs.readdirSync(path.join(root, 'prebuilds'));
  } catch {
    return [];
  }
  return dirs
    .filter((d) => {
      try {
        return fs.readdirSync(path.join(root, 'prebuilds', d)).some((f) => f.endsWith('.node'));
      } catch {
        return false;
      }
    })
    .sort();
}

/**
 * What to do when the addon did not load, for the layout at `root`: in a clone of the repository
 * (scripts/build-native.mjs is there) the build command; in an installed package (no scripts/) the
 * platforms it ships prebuilds for and how to get CUDA elsewhere.
 */
export function fallbackAdvice(
  root: string,
  load: Pick<NativeLoad, 'candidates'>,
  env: NodeJS.ProcessEnv = process.env,
  platform = `${os.platform()}-${os.arch()}`,
): string {
  if (env.WATTGRAD_NATIVE) return `check WATTGRAD_NATIVE (${env.WATTGRAD_NATIVE}) or unset it`;
  if (fs.existsSync(path.join(root, 'scripts', 'build-native.mjs'))) {
    return 'to use CUDA, build the addon in this clone: npm run build:native (needs CMake and a C++ compiler; the CUDA toolkit for the kernels)';
  }
  const shipped = shippedPrebuilds(root);
  const tried = load.candidates.find((c) => c.kind === 'prebuild');
  const have = shipped.length ? `this package ships prebuilt addons for ${shipped.join(', ')}` : 'this package ships no prebuilt addon';
  const why = tried
    ? `the prebuild for ${platform} did not load`
    : shipped.includes(platform)
      ? `the prebuild for ${platform} was not picked`
      : `none for ${platform}`;
  return (
    `${have} (${why}); for CUDA here, build wattgrad.node from a clone of the wattgrad repository (npm ci && npm run build:native) ` +
    'and set WATTGRAD_NATIVE=/path/to/build/Release/wattgrad.node'
  );
}

/** The addon, loaded once per process; never throws and prints nothing (see warnNativeOnce). */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  loaded = loadNativeFrom(packageRoot());
  return loaded;
}

/**
 * The one fallback / stale-build warning line of this process, printed the first time it is called
 * (by the cuda status behind backends(), wg.cuda and getBackend('cuda')); later calls are no-ops.
 * WATTGRAD_QUIET=1 silences it.
 */
export function warnNativeOnce(): void {
  const n = loadNative();
  if (warned) return;
  warned = true;
  if (process.env.WATTGRAD_QUIET === '1') return;
  if (!n.binding) {
    console.warn(`wattgrad: native addon not loaded (${n.error}); using the js backend only; ${fallbackAdvice(packageRoot(), n)}`);
  } else if (n.warnings.length > 0) {
    console.warn(n.warnings.join(' | '));
  }
}

/** Marks the warning as given: callers that report the load result themselves (`wattgrad info`). */
export function nativeWarningReported(): void {
  warned = true;
}

/** For `wattgrad info`: which file was loaded, what it carries, or why nothing loaded. */
export function nativeInfo(): { path: string | null; error: string | null; buildInfo: Binding['buildInfo'] | null; warnings: string[] } {
  const n = loadNative();
  return { path: n.path, error: n.error, buildInfo: n.binding?.buildInfo ?? null, warnings: n.warnings };
}

/** Tests only: forget the cached load (the addon itself stays loaded in the process). */
export function resetNativeForTests(): void {
  loaded = null;
  warned = false;
}
