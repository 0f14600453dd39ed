// Loading the addon and falling back: lib/native.ts never throws, records which file it loaded,
// prefers the newer of build/Release and the prebuild (warning about the stale one), tries the
// next candidate when one fails to load, and prints ONE warning line per process (silenced by
// WATTGRAD_QUIET=1) at the first cuda query when nothing loads, advising what works in a clone vs
// an installed package. The addon reports cuda unavailable with its reason here
// (no GPU), and WATTGRAD_REQUIRE_CUDA=1 turns that into a failure (the GPU machine run).
// Cost: ~100 ms (copies the addon into temp dirs).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import {
  fallbackAdvice,
  loadNative,
  loadNativeFrom,
  nativeCandidates,
  packageRoot,
  resetNativeForTests,
  shippedPrebuilds,
} from '../../lib/native.js';
import { cudaStatus } from '../../lib/backend/cuda-loader.js';
import { backends } from '../../lib/backend/registry.js';
import { defaultNvml } from '../../lib/energy/nvml.js';
import { main } from '../../lib/cli.js';
import { cudaAvailability } from '../../lib/backend/cuda/availability.js';
import { createCudaRuntime } from '../../lib/backend/cuda/runtime.js';
import { CudaUnavailableError } from '../../lib/backend/cuda/errors.js';
import { onSimulator, simLabel } from '../util/scale.js';

const real = loadNative();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-load-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fakeRoot(name: string): string {
  const r = path.join(tmp, name);
  fs.mkdirSync(r, { recursive: true });
  fs.writeFileSync(path.join(r, 'package.json'), JSON.stringify({ name: 'wattgrad' }));
  return r;
}
function place(root: string, rel: string, from: string | null, mtimeSec: number): string {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  if (from) fs.copyFileSync(from, p);
  else fs.writeFileSync(p, 'not an ELF file');
  fs.utimesSync(p, mtimeSec, mtimeSec);
  return p;
}

describe('loading the native addon', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    resetNativeForTests();
  });

  it('finds the package root and never throws', () => {
    expect(fs.existsSync(path.join(packageRoot(), 'CMakeLists.txt'))).toBe(true);
    expect(real.binding !== null || typeof real.error === 'string').toBe(true);
    if (real.binding) expect(real.path).toMatch(/wattgrad\.node$/);
  });

  it('reports why nothing loaded for an empty root', () => {
    const r = loadNativeFrom(fakeRoot('empty'), {});
    expect(r.binding).toBeNull();
    expect(r.error).toMatch(/no native build found.*build\/Release\/wattgrad\.node/);
  });

  it.skipIf(!real.binding)('prefers the newer of build/Release and the prebuild, and warns about the stale one', () => {
    const root = fakeRoot('both');
    const local = place(root, 'build/Release/wattgrad.node', real.path, 1_000_000);
    const pre = place(root, `prebuilds/${os.platform()}-${os.arch()}/wattgrad.node`, real.path, 2_000_000);
    let c = nativeCandidates(root, {});
    expect(c.candidates.map((x) => x.path)).toEqual([pre, local]);
    expect(c.warnings[0]).toMatch(/build\/Release\/wattgrad\.node is older than prebuilds/);
    fs.utimesSync(local, 3_000_000, 3_000_000);
    c = nativeCandidates(root, {});
    expect(c.candidates[0]!.path).toBe(local);
    // node-gyp-build's PREBUILDS_ONLY ignores build/
    expect(nativeCandidates(root, { PREBUILDS_ONLY: '1' }).candidates.map((x) => x.kind)).toEqual(['prebuild']);
  });

  it.skipIf(!real.binding)('falls back to the other candidate when the newer one fails to load', () => {
    const root = fakeRoot('broken');
    place(root, 'build/Release/wattgrad.node', null, 3_000_000); // newer but corrupt
    const pre = place(root, `prebuilds/${os.platform()}-${os.arch()}/wattgrad.node`, real.path, 1_000_000);
    const r = loadNativeFrom(root, {});
    expect(r.path).toBe(pre);
    expect(r.binding).not.toBeNull();
    expect(r.warnings.join('\n')).toMatch(/skipped build\/Release\/wattgrad\.node/);
  });

  it('prints one warning line per process, at the first cuda query, not while loading, nor from info or an energy probe', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.stubEnv('WATTGRAD_NATIVE', path.join(tmp, 'missing.node'));
    vi.stubEnv('WATTGRAD_QUIET', '');
    try {
      resetNativeForTests();
      const r = loadNative();
      expect(r.binding).toBeNull();
      expect(defaultNvml().available).toBe(false); // the energy probe stays silent
      expect(warn).not.toHaveBeenCalled();
      backends();
      backends();
      expect(cudaStatus().available).toBe(false);
      expect(warn).toHaveBeenCalledTimes(1);
      const line = String(warn.mock.calls[0]![0]);
      expect(line).not.toContain('\n');
      expect(line).toMatch(/native addon not loaded.*missing\.node.*using the js backend only; check WATTGRAD_NATIVE/);
      expect(cudaAvailability().reason).toMatch(/^native addon not loaded/);

      // `wattgrad info` reports the load result itself: no warning line from it, even as the first query
      warn.mockClear();
      resetNativeForTests();
      const out: string[] = [];
      const io = {
        stdout: {
          write: (t: string) => {
            out.push(t);
            return true;
          },
        },
        stderr: {
          write: (t: string) => {
            out.push(t);
            return true;
          },
        },
      };
      expect(await main(['info'], io as never)).toBe(0);
      expect(out.join('')).toMatch(/native addon: not loaded \(.*missing\.node.*\)\n {2}check WATTGRAD_NATIVE/);
      backends();
      expect(warn).not.toHaveBeenCalled();

      vi.stubEnv('WATTGRAD_QUIET', '1');
      resetNativeForTests();
      backends();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('advises npm run build:native in a clone, and the shipped platforms in an installed package', () => {
    const clone = fakeRoot('clone');
    place(clone, 'scripts/build-native.mjs', null, 1_000_000);
    const inClone = fallbackAdvice(clone, loadNativeFrom(clone, {}), {});
    expect(inClone).toMatch(/build the addon in this clone: npm run build:native/);

    const installed = fakeRoot('installed'); // node_modules/wattgrad: no scripts/, prebuilds for linux-x64 only
    place(installed, 'prebuilds/linux-x64/wattgrad.node', null, 1_000_000);
    const other = fallbackAdvice(installed, { candidates: [] }, {}, 'darwin-arm64');
    expect(other).toMatch(/^this package ships prebuilt addons for linux-x64 \(none for darwin-arm64\)/);
    expect(other).toMatch(/from a clone of the wattgrad repository.*WATTGRAD_NATIVE=/);
    expect(other).not.toMatch(/in this clone/);
    const broken = fallbackAdvice(installed, { candidates: [{ kind: 'prebuild', path: 'x', mtimeMs: 0 }] }, {}, 'linux-x64');
    expect(broken).toMatch(/ships prebuilt addons for linux-x64 \(the prebuild for linux-x64 did not load\)/);
    expect(shippedPrebuilds(installed)).toEqual(['linux-x64']);
    const bare = fakeRoot('bare');
    expect(fallbackAdvice(bare, { candidates: [] }, {}, 'linux-x64')).toMatch(
      /^this package ships no prebuilt addon \(none for linux-x64\)/,
    );
  });
});

// The body of a skipped describe still runs at collection (vitest registers its tests), and so do
// skipIf conditions: nothing here may dereference the binding outside it()/hooks.
const cudaBuild = !!real.binding?.buildInfo.cuda;

describe.skipIf(!real.binding)('the loaded addon', () => {
  const b = real.binding!; // only dereferenced inside the tests, which run only with a binding

  it(simLabel('has no libcuda / libcudart dependency (static runtime, driver dlopened)', 'staticCudart'), () => {
    let needed = '';
    try {
      needed = execFileSync('readelf', ['-d', real.path!], { encoding: 'utf8' });
    } catch {
      return;
    }
    const libs = needed.split('\n').filter((l) => l.includes('NEEDED'));
    expect(libs.length).toBeGreaterThan(0);
    if (onSimulator) {
      // the simulator build links the simulator's libcudart.so, and still no driver library
      expect(libs.join('\n')).toMatch(/\[libcudart\.so\]/);
      expect(libs.join('\n')).not.toMatch(/libcuda\.so|libnvidia/);
      expect(b.buildInfo.tensorCores, 'tensor cores compiled out (WG_NO_TENSOR_CORES)').toBe(false);
      expect(b.cudaStatus().note).toBe('simulator build, no tensor cores');
      return;
    }
    expect(libs.join('\n')).not.toMatch(/libcuda|libcudart|libnvidia/);
    expect(b.buildInfo.simulator).toBe(false);
    expect(b.cudaStatus().note).toBeUndefined();
  });

  it('describes itself and reports cuda availability with a reason, never throwing', () => {
    expect(b.buildInfo.napiVersion).toBe(8);
    const s = b.cudaStatus();
    expect(typeof s.available).toBe('boolean');
    if (!s.available) expect(s.reason).toMatch(/\S/);
    const a = cudaAvailability();
    expect(a.path).toBe(real.path);
    if (!a.available) expect(a.reason.length).toBeGreaterThan(0);
  });

  it.skipIf(!onSimulator)('a simulator build says so: buildInfo, cudaStatus().note and `wattgrad info`', async () => {
    expect(b.buildInfo).toMatchObject({ simulator: true, tensorCores: false, cuda: true, cudaArchs: 'ptx75' });
    const { main } = await import('../../lib/cli.js');
    const lines: string[] = [];
    const sink = { write: (t: string) => (lines.push(t), true), isTTY: false };
    expect(await main(['info'], { stdout: sink, stderr: sink })).toBe(0);
    expect(lines.join('')).toMatch(/cuda: simulator build, no tensor cores/);
  });

  it('requires cuda when WATTGRAD_REQUIRE_CUDA=1', () => {
    const a = cudaAvailability();
    if (process.env.WATTGRAD_REQUIRE_CUDA === '1') {
      expect(a.available, `cuda unavailable: ${a.reason}`).toBe(true);
    }
  });

  it.skipIf(cudaAvailability().available || !cudaBuild)(
    'without a device the runtime throws CudaUnavailableError naming the reason',
    () => {
      let err: unknown;
      try {
        createCudaRuntime(b, 0);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CudaUnavailableError);
      expect((err as Error).message).toMatch(/^cuda unavailable: /);
      expect(() => b.alloc!(16)).toThrow(/cuda unavailable/);
      expect(b.memoryStats!().allocated).toBe(0);
    },
  );
});
