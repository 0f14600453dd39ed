// Host emulation of the CUDA kernels that neither this machine nor the GPU simulator can run
// (test/native/tc-emu/README.md): the tensor-core GEMM of native/kernels/matmul_tc.cuh (mma.sync
// m16n8k8 TF32, m16n8k16 bf16/f16, cvt.rna.tf32) compiled unchanged as host C++ with g++, every
// CUDA thread a fiber, the warp instructions emulated from the PTX ISA fragment tables, compared
// with a float64 GEMM on the rounded inputs (odd shapes, all transposes, K = 0, batch broadcast,
// tails, misaligned bases, grid-stride loops; each under three thread schedules). And the int32
// elementwise rules (native/kernels/elementwise_ops.cuh) compared value by value with the js
// kernels; the SIMT GEMM core (gemm_simt.cuh) on the same cases. No GPU needed; g++ is (CI has it:
// it builds the addon). Cost: ~15 s build + ~20 s run
// on 2 cores.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsKernels, JsHandle } from '../../lib/backend/js/index.js';
import type { BinaryOp, UnaryOp } from '../../lib/backend/kernels.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.join(here, 'tc-emu');
const gxx = ((): string | null => {
  for (const c of [process.env.CXX, 'g++']) {
    if (!c) continue;
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return c;
    } catch {
      /* next */
    }
  }
  return null;
})();

interface TcResult {
  case: string;
  ok: boolean;
  bad: number;
  unwritten: number;
  outOfBounds: number;
  worstTolRatio?: number;
  first?: string;
}

describe.skipIf(!gxx)('CUDA kernels under host emulation (g++)', () => {
  let dir = '';
  let exe = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-tc-emu-'));
    exe = path.join(dir, 'harness');
    const r = spawnSync(
      gxx!,
      ['-std=c++17', '-O2', '-pthread', '-DWG_TC_EMULATION', `-I${path.join(src, 'shim')}`, path.join(src, 'harness.cc'), '-o', exe],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`building the emulation harness failed:\n${r.stderr}`);
  }, 180_000);
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('tensor-core GEMM (tf32, bf16, f16) matches a float64 reference in every case', () => {
    const r = spawnSync(exe, ['tc'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const lines = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    const results = lines.map((l) => JSON.parse(l) as TcResult);
    const failed = results.filter((x) => !x.ok);
    expect(r.stderr, 'the harness aborted').toBe('');
    expect(
      failed.map((x) => `${x.case}: ${x.bad} wrong, ${x.unwritten} unwritten, ${x.outOfBounds} out of bounds; ${x.first ?? ''}`),
    ).toEqual([]);
    // 13 shapes × 4 transposes × 3 formats × 3 schedules on the tensor-core kernel and on both SIMT
    // tile shapes; the shim's block reductions (3 schedules), the launch plan near INT_MAX, the cvt probes
    expect(results.length).toBe(13 * 4 * 3 * 3 * 3 + 3 + 2);
    for (const path of ['simt64', 'simt128']) expect(results.some((x) => x.case.startsWith(`${path} bf16 TT K=0`))).toBe(true);
    for (const fmt of ['tf32', 'bf16', 'f16'])
      for (const t of ['NN', 'NT', 'TN', 'TT']) {
        expect(results.some((x) => x.case.startsWith(`tc ${fmt} ${t} K=0`))).toBe(true);
        expect(results.some((x) => x.case.startsWith(`tc ${fmt} ${t} broadcast A`))).toBe(true);
      }
    expect(r.status).toBe(0);
  }, 120_000);

  it("int32 elementwise results are the js backend's, bit for bit (wrap-around, ToInt32, Math.imul)", () => {
    const out = execFileSync(exe, ['int32'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));
    const j = JSON.parse(out) as {
      xs: number[];
      scalars: (number | string)[];
      casts: (number | string)[];
      unaryOps: UnaryOp[];
      binaryOps: BinaryOp[];
      unary: number[];
      binary: number[];
      cast: number[];
    };
    const xs = Int32Array.from(j.xs);
    const scalars = j.scalars.map(num);
    const nx = xs.length,
      ns = scalars.length;
    const jsInt = (n: number): JsHandle => new JsHandle(new Int32Array(n), 'int32');
    // the unary ops the js backend allows on int32 (the CUDA launcher rejects the rest as well)
    const intUnary = new Set<UnaryOp>([
      'neg',
      'abs',
      'sign',
      'square',
      'relu',
      'clamp',
      'add_scalar',
      'mul_scalar',
      'rsub_scalar',
      'gt_scalar',
      'lt_scalar',
      'ge_scalar',
      'le_scalar',
      'eq_scalar',
      'ne_scalar',
      'pow_scalar',
    ]);
    const mismatches: string[] = [];
    j.unaryOps.forEach((op, o) => {
      if (!intUnary.has(op)) return;
      for (let s = 0; s < ns; s++) {
        const a = scalars[s]!,
          b = scalars[(s + 1) % ns]!;
        const x = new JsHandle(xs.slice(), 'int32'),
          y = jsInt(nx);
        jsKernels.unary(op, x, y, nx, 'int32', a, b);
        const want = y.data as Int32Array;
        for (let i = 0; i < nx; i++) {
          const got = j.unary[(o * nx + i) * ns + s]!;
          if (got !== want[i]) mismatches.push(`${op}(${xs[i]}; ${a}, ${b}): cuda ${got}, js ${want[i]}`);
        }
      }
    });
    j.binaryOps.forEach((op, o) => {
      // all pairs (x_i, x_j) at once: out (nx, nx), a broadcast along dim 1, b along dim 0
      const a = new JsHandle(xs.slice(), 'int32'),
        b = new JsHandle(xs.slice(), 'int32'),
        y = jsInt(nx * nx);
      jsKernels.binary(op, a, b, y, [nx, nx], [1, 0], [0, 1], 'int32');
      const want = y.data as Int32Array;
      for (let q = 0; q < nx * nx; q++) {
        const got = j.binary[o * nx * nx + q]!;
        if (got !== want[q]) mismatches.push(`${op}(${xs[Math.floor(q / nx)]}, ${xs[q % nx]}): cuda ${got}, js ${want[q]}`);
      }
    });
    const casts = Float64Array.from(j.casts.map(num));
    const c = jsInt(casts.length);
    jsKernels.cast(new JsHandle(casts, 'float64'), c, casts.length, 'float64', 'int32');
    casts.forEach((v, i) => {
      if (j.cast[i] !== (c.data as Int32Array)[i]) mismatches.push(`cast(${v}): cuda ${j.cast[i]}, js ${(c.data as Int32Array)[i]}`);
    });
    expect(mismatches.slice(0, 20)).toEqual([]);
    // the cases issue 12 names, as values: 65536·65536 wraps to 0, INT_MAX + 1 to INT_MIN, -INT_MIN is INT_MIN, 3e9 and ±inf
    const bi = (op: BinaryOp, x: number, y: number): number =>
      j.binary[j.binaryOps.indexOf(op) * nx * nx + j.xs.indexOf(x) * nx + j.xs.indexOf(y)]!;
    expect(bi('mul', 65536, 65536)).toBe(0);
    expect(bi('add', 2147483647, 1)).toBe(-2147483648);
    expect(j.unary[(j.unaryOps.indexOf('neg') * nx + j.xs.indexOf(-2147483648)) * ns]).toBe(-2147483648);
    expect(j.cast[j.casts.indexOf(3e9)]).toBe(3e9 - 2 ** 32);
    expect(j.cast[j.casts.indexOf('Infinity')]).toBe(0);
    expect(j.cast[j.casts.indexOf('-Infinity')]).toBe(0);
  }, 60_000);
});
