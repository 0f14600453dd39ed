// int32 kernels wrap like the js backend on every backend (issue 12): the js backend computes in
// float64 and stores with ToInt32 (wrap modulo 2^32, NaN/±inf → 0), binary mul is Math.imul; CUDA
// used to convert with a saturating float→int and disagreed on 65536·65536, INT_MAX + 1, −INT_MIN,
// casts of 3e9 or ±inf. Kernel level (the op layer may refuse such values before they reach a
// kernel): each backend's kernels against the js kernels on the same boundary values. On js this
// pins the reference itself; on cuda (a GPU, or the simulator stage) the CUDA kernels.
// test/native/tc-emu.test.ts checks the same device functions compiled on the host, value by value.
import { describe, expect, it } from 'vitest';
import type { Backend, BinaryOp, UnaryOp } from '../../lib/backend/kernels.js';
import { createJsBackend } from '../../lib/backend/js/index.js';
import { getBackend } from '../../lib/index.js';
import { suiteDevices } from '../util/backends.js';
import { onSimulator } from '../util/scale.js';

const XS = [0, 1, -1, 2, -7, 46341, 65535, 65536, -65536, 1 << 30, 123456789, 2147483647, -2147483648, 2147483646];
const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'lt', 'ge'];
const UNARY: [UnaryOp, number, number][] = [
  ['neg', 0, 0],
  ['abs', 0, 0],
  ['square', 0, 0],
  ['sign', 0, 0],
  ['relu', 0, 0],
  ['clamp', -65536, 65536],
  ['add_scalar', 1, 0],
  ['add_scalar', 3e9, 0],
  ['add_scalar', 0.5, 0],
  ['mul_scalar', 65536, 0],
  ['mul_scalar', -1, 0],
  ['mul_scalar', 2.5, 0],
  ['rsub_scalar', -2147483648, 0],
  ['pow_scalar', 2, 0],
  ['pow_scalar', 3, 0],
  ['pow_scalar', 31, 0],
  ['gt_scalar', 0, 0],
  // a fractional exponent takes float64 pow (a library call GPGPU-Sim cannot run: SIM_LIMITS.deviceCall)
  ...(onSimulator ? [] : [['pow_scalar', 0.5, 0] as [UnaryOp, number, number]]),
];
const CASTS = [
  0,
  2.5,
  -2.5,
  2147483647.9,
  2147483648,
  -2147483649,
  3e9,
  -3e9,
  4294967301,
  1e15 + 3,
  9.3e18,
  5e20,
  1e300,
  NaN,
  Infinity,
  -Infinity,
];

const js = createJsBackend();

/** The positions where got and want differ, as "input: got G, js W" lines (empty when equal). */
function diff(got: Int32Array, want: Int32Array, input: (i: number) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) out.push(`${input(i)}: got ${got[i]}, js ${want[i]}`);
  return out;
}

function run(be: Backend, f: (be: Backend) => { h: ReturnType<Backend['alloc']>; n: number }): Int32Array {
  const { h, n } = f(be);
  const out = be.readSync(h, 'int32', n) as Int32Array;
  be.free(h);
  return Int32Array.from(out);
}

function upload(be: Backend, v: ArrayLike<number>, dtype: 'int32' | 'float64'): ReturnType<Backend['alloc']> {
  const h = be.alloc(v.length, dtype);
  be.upload(h, dtype === 'int32' ? Int32Array.from(v) : Float64Array.from(v), dtype);
  return h;
}

for (const { device } of suiteDevices().devices) {
  describe(`int32 kernels wrap like js [${device}]`, () => {
    const be = device === 'cpu' ? js : getBackend(device);
    const n = XS.length;

    it('binary add/sub/mul/div/max/min/compare on all pairs of boundary values', () => {
      for (const op of BINARY) {
        const got = run(be, (b) => {
          const x = upload(b, XS, 'int32'),
            y = upload(b, XS, 'int32'),
            o = b.alloc(n * n, 'int32');
          b.kernels.binary(op, x, y, o, [n, n], [1, 0], [0, 1], 'int32');
          b.free(x);
          b.free(y);
          return { h: o, n: n * n };
        });
        const want = run(js, (b) => {
          const x = upload(b, XS, 'int32'),
            y = upload(b, XS, 'int32'),
            o = b.alloc(n * n, 'int32');
          b.kernels.binary(op, x, y, o, [n, n], [1, 0], [0, 1], 'int32');
          return { h: o, n: n * n };
        });
        expect(diff(got, want, (q) => `${op}(${XS[Math.floor(q / n)]}, ${XS[q % n]})`).join('\n')).toBe('');
      }
      // the values issue 12 names
      const at = (op: BinaryOp, a: number, c: number): number => {
        const r = run(be, (b) => {
          const x = upload(b, [a], 'int32'),
            y = upload(b, [c], 'int32'),
            o = b.alloc(1, 'int32');
          b.kernels.binary(op, x, y, o, [1], [1], [1], 'int32');
          b.free(x);
          b.free(y);
          return { h: o, n: 1 };
        });
        return r[0]!;
      };
      expect(at('mul', 65536, 65536)).toBe(0);
      expect(at('add', 2147483647, 1)).toBe(-2147483648);
      expect(at('div', -2147483648, -1)).toBe(-2147483648);
      expect(at('div', 7, 0)).toBe(0);
    });

    it('unary ops and scalars on int32 (neg of INT_MIN, x + 3e9, x · 65536, powers)', () => {
      for (const [op, a, b2] of UNARY) {
        const f = (b: Backend): { h: ReturnType<Backend['alloc']>; n: number } => {
          const x = upload(b, XS, 'int32'),
            o = b.alloc(n, 'int32');
          b.kernels.unary(op, x, o, n, 'int32', a, b2);
          b.free(x);
          return { h: o, n };
        };
        expect(diff(run(be, f), run(js, f), (i) => `${op}(${XS[i]}; ${a}, ${b2})`).join('\n')).toBe('');
      }
    });

    it('casts float64 → int32 truncate and wrap (3e9, ±inf, NaN, beyond 2^63)', () => {
      const f = (b: Backend): { h: ReturnType<Backend['alloc']>; n: number } => {
        const x = upload(b, CASTS, 'float64'),
          o = b.alloc(CASTS.length, 'int32');
        b.kernels.cast(x, o, CASTS.length, 'float64', 'int32');
        b.free(x);
        return { h: o, n: CASTS.length };
      };
      const got = run(be, f);
      expect(diff(got, run(js, f), (i) => `cast(${CASTS[i]})`).join('\n')).toBe('');
      expect(got[CASTS.indexOf(3e9)]).toBe(3e9 - 2 ** 32);
      expect(got[CASTS.indexOf(Infinity)]).toBe(0);
    });
  });
}
