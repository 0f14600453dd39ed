// The CUDA int8 GEMM (native/kernels/qgemm.cu, dp4a path) on GPGPU-Sim: builds
// test/quantization/sim/qgemm-sim.cu as compute_75 PTX against the simulator's libcudart and runs
// it (18 cases: exact int32 accumulators and bit-identical float32 outputs vs a C++ copy of
// qgemmJs). dp4a itself is emulated there (WG_QGEMM_EMULATE_DP4A: GPGPU-Sim 4.2 cannot execute
// dp4a), so this checks the tiling, the u8 → s8 shift and the epilogue, not the instruction; the
// tensor-core path is not run (no mma.sync in the simulator). Slow (~1 min): WATTGRAD_SLOW_TESTS=1,
// and skipped without nvcc or the simulator package (WATTGRAD_GPGPU_SIM, ../shared/gpgpu-sim,
// /work/shared/gpgpu-sim).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const slow = process.env.WATTGRAD_SLOW_TESTS === '1';
const sim = [process.env.WATTGRAD_GPGPU_SIM, path.resolve('..', 'shared', 'gpgpu-sim'), '/work/shared/gpgpu-sim'].find(
  (d) => d && fs.existsSync(path.join(d, 'lib', 'libcudart.so')) && fs.existsSync(path.join(d, 'env.sh')),
);
const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' }).status === 0;
const why = !sim ? ' [skipped: no GPGPU-Sim package]' : !nvcc ? ' [skipped: no nvcc]' : '';

describe(`CUDA int8 GEMM on GPGPU-Sim${why}`, () => {
  it.runIf(slow && sim && nvcc)(
    'dp4a kernel (dp4a emulated): exact acc and identical out vs the reference, 18 cases',
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-qgemm-sim-'));
      try {
        const exe = path.join(dir, 'qgemm-sim');
        const src = path.resolve('test/quantization/sim/qgemm-sim.cu');
        execFileSync(
          'bash',
          [
            '-c',
            `. "${sim}/env.sh" && nvcc -std=c++17 -O2 -DWG_QGEMM_EMULATE_DP4A $H_SIM_NVCC_FLAGS -o "${exe}" "${src}" $H_SIM_NVCC_LINK`,
          ],
          { stdio: 'pipe' },
        );
        const r = spawnSync(path.join(sim!, 'bin', 'simrun'), ['-d', path.join(dir, 'run'), exe], { encoding: 'utf8' });
        const log = fs.readFileSync(path.join(dir, 'run', 'sim.log'), 'utf8');
        const lines = log.split('\n').filter((l) => l.startsWith('case ') || l.startsWith('qgemm-sim:'));
        expect(r.status, lines.slice(-5).join('\n')).toBe(0);
        expect(lines.filter((l) => l.endsWith(' ok')).length).toBe(18);
        expect(lines).toContain('qgemm-sim: all 18 cases passed');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
    600_000,
  );
});
