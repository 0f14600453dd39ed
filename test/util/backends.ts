// One op suite, every backend (candle's test_device!, tfjs's describeWithFlags): write a block
// once, it runs on 'cpu' (js) always and on 'cuda' when backends() says cuda is available.
// WATTGRAD_REQUIRE_CUDA=1 turns a missing cuda into a failing test that states the reason.
//
//   describeBackends('elementwise', (ctx) => {
//     it('adds', () => tidy(() => ctx.close(ctx.t([1, 2]).add(ctx.t([3, 4])), [4, 6])));
//   });
//
// Every test is leak-checked: the live tensor count after it must equal the count before it
// (wrap test bodies in tidy(); grads are freed with their leaf).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backends, memory, tensor, type DType, type NestedArray, type Tensor } from '../../lib/index.js';
import type { TensorOptions } from '../../lib/index.js';

export interface Tolerance {
  rtol: number;
  atol: number;
}

export interface BackendCtx {
  /** 'cpu' or 'cuda:0' */
  device: string;
  name: 'js' | 'cuda';
  /** tolerances by dtype on this backend */
  tol(dtype: DType): Tolerance;
  /** a tensor on this device (float32 unless told) */
  t(data: NestedArray | Float32Array | Float64Array | Int32Array, opts?: TensorOptions & { shape?: number[] }): Tensor;
  /** asserts shape and values of `actual` against nested `expected` within the dtype's tolerance */
  close(actual: Tensor, expected: NestedArray, tol?: Partial<Tolerance>): void;
}

const TOL: Record<'js' | 'cuda', Partial<Record<DType, Tolerance>>> = {
  js: {
    float32: { rtol: 1e-5, atol: 1e-6 },
    float64: { rtol: 1e-12, atol: 1e-12 },
    int32: { rtol: 0, atol: 0 },
  },
  cuda: {
    float32: { rtol: 1e-4, atol: 1e-5 },
    float64: { rtol: 1e-10, atol: 1e-12 },
    int32: { rtol: 0, atol: 0 },
    bfloat16: { rtol: 1e-2, atol: 1e-2 },
    float16: { rtol: 2e-3, atol: 1e-3 },
  },
};

export function shapeOf(x: NestedArray): number[] {
  const s: number[] = [];
  let cur: NestedArray = x;
  while (Array.isArray(cur)) {
    s.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return s;
}

export function flat(x: NestedArray): number[] {
  return Array.isArray(x) ? x.flatMap((v) => flat(v)) : [x];
}

/** Elementwise |a - e| <= atol + rtol·|e|, NaN equal to NaN, ±Infinity exact. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, what = ''): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      if (!Number.isNaN(a)) expect.fail(`${what}[${i}]: expected NaN, got ${a}`);
      continue;
    }
    if (!Number.isFinite(e)) {
      if (a !== e) expect.fail(`${what}[${i}]: expected ${e}, got ${a}`);
      continue;
    }
    if (!(Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e))) {
      expect.fail(
        `${what}[${i}]: expected ${e}, got ${a} (|diff| ${Math.abs(a - e)}, atol ${tol.atol}, rtol ${tol.rtol})\n  actual   ${Array.from(actual).slice(0, 24).join(', ')}\n  expected ${Array.from(expected).slice(0, 24).join(', ')}`,
      );
    }
  }
}

export function makeCtx(name: 'js' | 'cuda', device: string): BackendCtx {
  const tol = (dtype: DType): Tolerance => TOL[name][dtype] ?? { rtol: 1e-5, atol: 1e-6 };
  return {
    device,
    name,
    tol,
    t: (data, opts = {}) => tensor(data, { device, ...opts }),
    close(actual, expected, over = {}) {
      expect(actual.device).toBe(device);
      expect([...actual.shape], 'shape').toEqual(shapeOf(expected));
      assertClose(actual.dataSync(), flat(expected), { ...tol(actual.dtype), ...over }, `${actual.dtype} ${JSON.stringify(actual.shape)}`);
    },
  };
}

export interface DescribeOptions {
  /** check live tensors are unchanged after each test (default true) */
  leakCheck?: boolean;
}

/** The devices the suite runs on, and (when cuda is required but missing) why it cannot. */
export function suiteDevices(): { devices: { name: 'js' | 'cuda'; device: string }[]; missing: string | null } {
  const out: { name: 'js' | 'cuda'; device: string }[] = [{ name: 'js', device: 'cpu' }];
  const cuda = backends().find((b) => b.name === 'cuda');
  if (cuda?.available) out.push({ name: 'cuda', device: cuda.devices[0] ?? 'cuda:0' });
  const missing = !cuda?.available && process.env.WATTGRAD_REQUIRE_CUDA === '1' ? (cuda?.reason ?? 'no cuda backend') : null;
  return { devices: out, missing };
}

/** Runs `fn` once per available backend inside describe(`${name} [device]`). */
export function describeBackends(name: string, fn: (ctx: BackendCtx) => void, opts: DescribeOptions = {}): void {
  const { devices, missing } = suiteDevices();
  for (const d of devices) {
    describe(`${name} [${d.device}]`, () => {
      if (opts.leakCheck !== false) {
        let before = 0;
        beforeEach(() => {
          before = memory().tensors;
        });
        afterEach(() => {
          expect(memory().tensors, 'live tensors after the test (leak)').toBe(before);
        });
      }
      fn(makeCtx(d.name, d.device));
    });
  }
  if (missing !== null) {
    describe(`${name} [cuda]`, () => {
      it('needs cuda (WATTGRAD_REQUIRE_CUDA=1)', () => {
        throw new Error(`WATTGRAD_REQUIRE_CUDA=1 but cuda is unavailable: ${missing}`);
      });
    });
  }
}
