// Parity of every CUDA kernel with the js reference backend on fresh random inputs.
//
// Each case builds random inputs (never zeros; odd shapes: non-multiples of tiles, 1×N, tall-skinny,
// broadcasts, transposes, groups, dilation), runs the js kernel and the cuda kernel, and compares
// every output element with a tolerance by dtype. CUDA outputs are poisoned first (NaN, or a
// sentinel for int32), so an element a kernel forgets to write fails the comparison.
//
// Skipped without a usable GPU; with WATTGRAD_REQUIRE_CUDA=1 a missing GPU fails instead.

import { afterAll, describe, expect, it } from 'vitest';
import type { DType, TypedArray } from '../../lib/dtype.js';
import type { Backend, Conv2dParams, Handle, Kernels, Pool2dParams } from '../../lib/backend/kernels.js';
import { createJsBackend } from '../../lib/backend/js/index.js';
import { createCudaBackend, cudaAvailability } from '../../lib/backend/cuda/index.js';
import { checkKernelEnums, hasCudaKernels, UNARY_GRAD_NAMES, UNARY_NAMES, BINARY_NAMES } from '../../lib/backend/cuda/kernels.js';
import { loadNative } from '../../lib/native.js';
import { scaled, simLabel, SIM_SCALE } from '../util/scale.js';

const native = loadNative();
const avail = cudaAvailability(native.binding);
const requireCuda = process.env.WATTGRAD_REQUIRE_CUDA === '1';

describe('cuda availability', () => {
  it.runIf(requireCuda)('a GPU is present when WATTGRAD_REQUIRE_CUDA=1', () => {
    expect(avail.available, `cuda unavailable: ${avail.reason}`).toBe(true);
  });
});

// ---- inputs --------------------------------------------------------------------------------------

let seed = 0x2545f491;
function rand(): number {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
/** Uniform in ±[lo, hi]: never zero. */
function randn(n: number, lo = 0.1, hi = 2): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() < 0.5 ? -1 : 1) * (lo + (hi - lo) * rand());
  return a;
}
function randPos(n: number, lo = 0.1, hi = 3): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rand();
  return a;
}
function randInt(n: number, hi: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(rand() * hi);
  return a;
}
/** float32 → nearest bfloat16 (ties to even), as float32. */
function toBf16(a: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  const u = new Uint32Array(out.buffer);
  out.set(a);
  for (let i = 0; i < u.length; i++) {
    const x = u[i]!;
    u[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) << 16;
  }
  return out;
}

// ---- the harness -----------------------------------------------------------------------------------

interface Out {
  numel: number;
  dtype: DType;
  init?: TypedArray;
}
interface Case {
  inputs: { data: TypedArray; dtype: DType }[];
  outputs: Out[];
  call(k: Kernels, ins: Handle[], outs: Handle[]): void;
  /** absolute and relative tolerance (float32 default 1e-5 / 1e-4) */
  atol?: number;
  rtol?: number;
}

function upload(be: Backend, data: TypedArray, dtype: DType): Handle {
  const h = be.alloc(Math.max(1, data.length), dtype);
  if (data.length > 0) be.upload(h, data, dtype);
  return h;
}

function runOn(be: Backend, c: Case, poison: boolean): TypedArray[] {
  const ins = c.inputs.map((i) => upload(be, i.data, i.dtype));
  const outs = c.outputs.map((o) => {
    if (o.init) return upload(be, o.init, o.dtype);
    const h = be.alloc(Math.max(1, o.numel), o.dtype);
    if (poison && o.numel > 0) be.kernels.fill(h, o.numel, o.dtype === 'int32' ? -777 : NaN, o.dtype);
    return h;
  });
  c.call(be.kernels, ins, outs);
  const res = c.outputs.map((o, i) => be.readSync(outs[i]!, o.dtype, o.numel));
  for (const h of [...ins, ...outs]) be.free(h);
  return res;
}

function compare(name: string, got: TypedArray, want: TypedArray, atol: number, rtol: number): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  let bad = 0,
    first = '';
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!,
      g = got[i]!;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : g === w || Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok) {
      if (bad === 0) first = `first at ${i}: cuda ${g}, js ${w}`;
      bad++;
    }
  }
  expect(bad, `${name}: ${bad}/${want.length} elements differ (${first})`).toBe(0);
}

const run = avail.available;
describe.skipIf(!run)('cuda kernels match js', () => {
  const js = createJsBackend();
  const cuda = run ? createCudaBackend(native.binding!) : (null as unknown as Backend);
  const binding = native.binding!;

  function parity(name: string, c: Case): void {
    const want = runOn(js, c, false);
    const got = runOn(cuda, c, true);
    c.outputs.forEach((o, i) => compare(`${name} out${i}`, got[i]!, want[i]!, c.atol ?? 1e-5, c.rtol ?? 1e-4));
  }
  const f32 = (data: TypedArray) => ({ data, dtype: 'float32' as DType });
  const i32 = (data: TypedArray) => ({ data, dtype: 'int32' as DType });
  const out = (numel: number, dtype: DType = 'float32'): Out => ({ numel, dtype });

  afterAll(() => {
    if (hasCudaKernels(binding)) binding.setAllowTf32(false);
  });

  it('code tables match the addon', () => {
    expect(hasCudaKernels(binding)).toBe(true);
    if (hasCudaKernels(binding)) checkKernelEnums(binding);
  });

  it('fill and cast', () => {
    for (const n of [1, 5, 1027]) {
      parity('fill', { inputs: [], outputs: [out(n)], call: (k, _i, o) => k.fill(o[0]!, n, 3.25, 'float32') });
      parity('fill i32', { inputs: [], outputs: [out(n, 'int32')], call: (k, _i, o) => k.fill(o[0]!, n, -7, 'int32') });
      const x = randn(n, 0.1, 50);
      parity('cast f32→i32', {
        inputs: [f32(x)],
        outputs: [out(n, 'int32')],
        call: (k, i, o) => k.cast(i[0]!, o[0]!, n, 'float32', 'int32'),
      });
      parity('cast i32→f32', {
        inputs: [i32(randInt(n, 1000))],
        outputs: [out(n)],
        call: (k, i, o) => k.cast(i[0]!, o[0]!, n, 'int32', 'float32'),
      });
    }
  });

  it('unary, every op', () => {
    for (const op of UNARY_NAMES) {
      for (const n of [1, 7, 4099]) {
        const positive = ['log', 'sqrt', 'rsqrt', 'pow_scalar'].includes(op);
        const x = positive ? randPos(n) : randn(n, 0.1, 3);
        const [a, b] = op === 'clamp' ? [-0.5, 0.7] : op === 'rpow_scalar' ? [1.7, 0] : [0.3, 0];
        parity(`unary ${op} n=${n}`, {
          inputs: [f32(x)],
          outputs: [out(n)],
          rtol: 2e-4,
          atol: 1e-5,
          call: (k, i, o) => k.unary(op, i[0]!, o[0]!, n, 'float32', a, b),
        });
      }
    }
    // unaligned (offset views are separate buffers, so exercise the scalar path via odd n only)
  });

  it('unaryGrad, every op', () => {
    for (const op of UNARY_GRAD_NAMES) {
      const n = 1031;
      const x = randn(n, 0.1, 3);
      const y = new Float32Array(n);
      for (let i = 0; i < n; i++) y[i] = op === 'tanh' ? Math.tanh(x[i]!) : 1 / (1 + Math.exp(-x[i]!));
      const dy = randn(n);
      const [a, b] = op === 'clamp' ? [-0.5, 0.7] : [0.2, 0];
      parity(`unaryGrad ${op}`, {
        inputs: [f32(x), f32(y), f32(dy)],
        outputs: [out(n)],
        rtol: 2e-4,
        call: (k, i, o) => k.unaryGrad(op, i[0]!, i[1]!, i[2]!, o[0]!, n, 'float32', a, b),
      });
    }
  });

  it('binary with broadcasting, every op', () => {
    const shapes: [number[], number[], number[]][] = [
      // outShape, a shape, b shape (broadcast to out)
      [[1031], [1031], [1031]],
      [
        [3, 5, 7],
        [3, 5, 7],
        [1, 5, 1],
      ],
      [
        [4, 1, 6],
        [4, 1, 6],
        [1, 1, 1],
      ],
      [
        [2, 3, 4, 5],
        [2, 1, 4, 1],
        [1, 3, 1, 5],
      ],
      [
        [1, 17],
        [1, 17],
        [1, 1],
      ],
    ];
    const strides = (shape: number[], out: number[]) => {
      const s = new Array<number>(out.length).fill(0);
      let acc = 1;
      for (let d = out.length - 1; d >= 0; d--) {
        s[d] = shape[d] === 1 && out[d] !== 1 ? 0 : acc;
        acc *= shape[d]!;
      }
      return s;
    };
    for (const op of BINARY_NAMES) {
      for (const [os, as, bs] of shapes) {
        const n = os.reduce((p, q) => p * q, 1);
        const na = as.reduce((p, q) => p * q, 1),
          nb = bs.reduce((p, q) => p * q, 1);
        const a = op === 'pow' ? randPos(na) : randn(na),
          b = randn(nb);
        if (['eq', 'ne', 'le', 'ge'].includes(op)) for (let i = 0; i < Math.min(na, nb); i += 3) b[i] = a[i]!;
        parity(`binary ${op} ${os}`, {
          inputs: [f32(a), f32(b)],
          outputs: [out(n)],
          rtol: 2e-4,
          call: (k, i, o) => k.binary(op, i[0]!, i[1]!, o[0]!, os, strides(as, os), strides(bs, os), 'float32'),
        });
      }
    }
    // where: cond (int32) broadcast over rows
    const cond = randInt(7, 2),
      a = randn(5 * 7),
      b = randn(7);
    parity('where', {
      inputs: [i32(cond), f32(a), f32(b)],
      outputs: [out(35)],
      call: (k, i, o) => k.where(i[0]!, i[1]!, i[2]!, o[0]!, [5, 7], [0, 1], [7, 1], [0, 1], 'int32', 'float32'),
    });
  });

  it('addBiasAct', () => {
    for (const act of ['none', 'relu', 'gelu', 'tanh', 'sigmoid'] as const) {
      const [outer, c, inner] = [3, 37, 13];
      parity(`addBiasAct ${act}`, {
        inputs: [f32(randn(outer * c * inner)), f32(randn(c))],
        outputs: [out(outer * c * inner)],
        rtol: 2e-4,
        call: (k, i, o) => k.addBiasAct(i[0]!, i[1]!, o[0]!, outer, c, inner, act, 'float32'),
      });
    }
  });

  it('reduce and argReduce', () => {
    const shapes = [
      [1, 1, 1],
      [7, 1, 3],
      [5, 33, 1],
      [3, 1000, 1],
      [2, 9000, 1],
      [4, 17, 45],
      [1, 3000, 70],
      [64, 3, 1],
    ];
    for (const [outer, r, inner] of shapes as [number, number, number][]) {
      const x = randn(outer * r * inner, 0.5, 1.5);
      for (const op of ['sum', 'max', 'min', 'prod'] as const) {
        if (op === 'prod' && r > 40) continue;
        parity(`reduce ${op} ${outer}x${r}x${inner}`, {
          inputs: [f32(x)],
          outputs: [out(outer * inner)],
          rtol: op === 'sum' ? 1e-4 : 1e-5,
          atol: op === 'sum' ? 1e-3 : 1e-6,
          call: (k, i, o) => k.reduce(op, i[0]!, o[0]!, outer, r, inner, 'float32'),
        });
      }
      for (const op of ['argmax', 'argmin'] as const) {
        parity(`${op} ${outer}x${r}x${inner}`, {
          inputs: [f32(x)],
          outputs: [out(outer * inner, 'int32')],
          call: (k, i, o) => k.argReduce(op, i[0]!, o[0]!, outer, r, inner, 'float32'),
        });
      }
    }
    parity('reduce sum r=0', {
      inputs: [f32(new Float32Array(0))],
      outputs: [out(6)],
      call: (k, i, o) => k.reduce('sum', i[0]!, o[0]!, 2, 0, 3, 'float32'),
    });
  });

  it('stridedCopy: transpose, slice, expand, accumulate', () => {
    const x = randn(2 * 3 * 4 * 5);
    // permute (2,3,4,5) → (5,4,3,2)
    parity('permute', {
      inputs: [f32(x)],
      outputs: [out(120)],
      call: (k, i, o) => k.stridedCopy(i[0]!, o[0]!, [5, 4, 3, 2], [1, 5, 20, 60], 0, [24, 6, 2, 1], 0, 'float32', false),
    });
    // slice [1:, :, 2:4, ::2] with an offset
    parity('slice', {
      inputs: [f32(x)],
      outputs: [out(1 * 3 * 2 * 3)],
      call: (k, i, o) => k.stridedCopy(i[0]!, o[0]!, [1, 3, 2, 3], [60, 20, 5, 2], 60 + 10, [18, 6, 3, 1], 0, 'float32', false),
    });
    // expand (1, 7) → (9, 7)
    const r = randn(7);
    parity('expand', {
      inputs: [f32(r)],
      outputs: [out(63)],
      call: (k, i, o) => k.stridedCopy(i[0]!, o[0]!, [9, 7], [0, 1], 0, [7, 1], 0, 'float32', false),
    });
    // accumulate into an initialised dst at an offset
    const init = randn(50);
    parity('accumulate', {
      inputs: [f32(randn(12))],
      outputs: [{ numel: 50, dtype: 'float32', init }],
      call: (k, i, o) => k.stridedCopy(i[0]!, o[0]!, [3, 4], [4, 1], 0, [10, 2], 5, 'float32', true),
    });
    // plain contiguous copy (memcpy path), int32
    parity('copy i32', {
      inputs: [i32(randInt(1001, 1 << 30))],
      outputs: [out(1001, 'int32')],
      call: (k, i, o) => k.stridedCopy(i[0]!, o[0]!, [1001], [1], 0, [1], 0, 'int32', false),
    });
  });

  describe('matmul', () => {
    const shapes: [number, number, number, number][] = scaled(
      [
        // batch, m, n, k
        [1, 1, 1, 1],
        [1, 1, 257, 33],
        [1, 257, 1, 33],
        [1, 64, 64, 64],
        [1, 128, 128, 8],
        [1, 129, 131, 67],
        [3, 5, 7, 9],
        [2, 1000, 3, 17],
        [1, 3, 1000, 250],
        [1, 300, 260, 513],
        [4, 33, 65, 1],
        [1, 16, 16, 0],
      ],
      [
        // the simulator (~2M thread instructions/s): the same edges (1×N, N×1, odd M/N/K past a tile, K < BK, K = 0, batch)
        [1, 1, 1, 1],
        [1, 1, 67, 33],
        [1, 67, 1, 33],
        [1, 64, 64, 16],
        [1, 65, 67, 19],
        [3, 5, 7, 9],
        [4, 33, 65, 1],
        [1, 16, 16, 0],
      ],
    );
    // the 128×128 SIMT tiles run when the output has >= 2 tiles per SM: under the simulator (30 SMs)
    // one batched case of tiny matrices reaches them, without transposes or broadcast
    const bigTileSim: [number, number, number, number] = [61, 5, 6, 3];
    const cases = (fn: (b: number, m: number, n: number, k: number, tA: boolean, tB: boolean, bcast: 0 | 1 | 2) => void) => {
      for (const [b, m, n, k] of shapes)
        for (const tA of [false, true])
          for (const tB of [false, true]) for (const bcast of (b > 1 ? [0, 1, 2] : [0]) as (0 | 1 | 2)[]) fn(b, m, n, k, tA, tB, bcast);
      if (SIM_SCALE) fn(...bigTileSim, false, false, 0);
    };
    const mm = (dtype: DType, atol: number, rtol: number, round = false) =>
      cases((b, m, n, k, tA, tB, bcast) => {
        const aB = bcast === 1 ? 0 : m * k,
          bB = bcast === 2 ? 0 : k * n;
        let a = randn((bcast === 1 ? 1 : b) * m * k, 0.1, 1),
          bb = randn((bcast === 2 ? 1 : b) * k * n, 0.1, 1);
        if (round) {
          a = toBf16(a);
          bb = toBf16(bb);
        }
        const name = `matmul ${dtype} b${b} ${m}x${n}x${k} tA=${tA} tB=${tB} bcast=${bcast}`;
        if (dtype === 'bfloat16') {
          // js in float32 on bf16-rounded inputs; cuda: cast to bf16, matmul, cast back
          const want = runOn(
            js,
            {
              inputs: [f32(a), f32(bb)],
              outputs: [out(b * m * n)],
              call: (kk, i, o) => kk.matmul(i[0]!, i[1]!, o[0]!, b, m, n, k, tA, tB, aB, bB, 'float32'),
            },
            false,
          )[0]!;
          const got = runOn(
            cuda,
            {
              inputs: [f32(a), f32(bb)],
              outputs: [out(b * m * n)],
              call: (kk, i, o) => {
                const ha = cuda.alloc(Math.max(1, a.length), 'bfloat16'),
                  hb = cuda.alloc(Math.max(1, bb.length), 'bfloat16');
                const hc = cuda.alloc(Math.max(1, b * m * n), 'bfloat16');
                kk.fill(hc, b * m * n, NaN, 'bfloat16');
                kk.cast(i[0]!, ha, a.length, 'float32', 'bfloat16');
                kk.cast(i[1]!, hb, bb.length, 'float32', 'bfloat16');
                kk.matmul(ha, hb, hc, b, m, n, k, tA, tB, aB, bB, 'bfloat16');
                kk.cast(hc, o[0]!, b * m * n, 'bfloat16', 'float32');
                cuda.free(ha);
                cuda.free(hb);
                cuda.free(hc);
              },
            },
            true,
          )[0]!;
          compare(name, got, want, atol * Math.sqrt(k + 1), rtol);
          return;
        }
        parity(name, {
          inputs: [f32(a), f32(bb)],
          outputs: [out(b * m * n)],
          atol: atol * Math.sqrt(k + 1),
          rtol,
          call: (kk, i, o) => kk.matmul(i[0]!, i[1]!, o[0]!, b, m, n, k, tA, tB, aB, bB, 'float32'),
        });
      });

    it('float32 SIMT: every transpose, batch broadcast, odd edges', () => {
      if (hasCudaKernels(binding)) binding.setAllowTf32(false);
      mm('float32', 1e-5, 1e-4);
    });
    it(simLabel('float32 with TF32 tensor cores', 'tensorCores'), () => {
      if (hasCudaKernels(binding)) binding.setAllowTf32(true);
      try {
        mm('float32', 5e-3, 1e-2);
      } finally {
        if (hasCudaKernels(binding)) binding.setAllowTf32(false);
      }
    });
    it(simLabel('bfloat16 tensor cores (fp32 accumulate)', 'tensorCores'), () => {
      mm('bfloat16', 2e-3, 1e-2, true);
    });
  });

  describe('conv2d', () => {
    const P = (
      o: Partial<Conv2dParams> & { batch: number; inC: number; inH: number; inW: number; outC: number; kH: number; kW: number },
    ): Conv2dParams => {
      const p = { strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1, outH: 0, outW: 0, ...o };
      p.outH = Math.floor((p.inH + 2 * p.padH - p.dilationH * (p.kH - 1) - 1) / p.strideH) + 1;
      p.outW = Math.floor((p.inW + 2 * p.padW - p.dilationW * (p.kW - 1) - 1) / p.strideW) + 1;
      return p;
    };
    const params: Conv2dParams[] = [
      P({ batch: 2, inC: 3, inH: 9, inW: 11, outC: 5, kH: 3, kW: 3, padH: 1, padW: 1 }),
      P({ batch: 1, inC: 4, inH: 13, inW: 7, outC: 6, kH: 3, kW: 2, strideH: 2, strideW: 3, padH: 1, padW: 0 }),
      P({ batch: 3, inC: 6, inH: 10, inW: 10, outC: 9, kH: 3, kW: 3, dilationH: 2, dilationW: 2, padH: 2, padW: 2, groups: 3 }),
      P({ batch: 2, inC: 8, inH: 7, inW: 9, outC: 8, kH: 3, kW: 3, padH: 1, padW: 1, groups: 8 }), // depthwise
      P({ batch: 4, inC: 67, inH: 5, inW: 5, outC: 70, kH: 1, kW: 1 }), // 1×1
      scaled(
        P({ batch: 8, inC: 16, inH: 28, inW: 28, outC: 32, kH: 5, kW: 5, padH: 2, padW: 2, strideH: 2, strideW: 2 }),
        P({ batch: 2, inC: 8, inH: 12, inW: 12, outC: 16, kH: 5, kW: 5, padH: 2, padW: 2, strideH: 2, strideW: 2 }),
      ),
    ];
    const sizes = (p: Conv2dParams) => ({
      x: p.batch * p.inC * p.inH * p.inW,
      w: p.outC * (p.inC / p.groups) * p.kH * p.kW,
      y: p.batch * p.outC * p.outH * p.outW,
      k: (p.inC / p.groups) * p.kH * p.kW,
    });
    it('forward, gradInput, gradWeight', () => {
      for (const p of params) {
        const s = sizes(p),
          tag = JSON.stringify(p);
        const x = randn(s.x, 0.1, 1),
          w = randn(s.w, 0.1, 1),
          dy = randn(s.y, 0.1, 1);
        parity(`conv2d ${tag}`, {
          inputs: [f32(x), f32(w)],
          outputs: [out(s.y)],
          atol: 1e-5 * Math.sqrt(s.k),
          rtol: 1e-4,
          call: (k, i, o) => k.conv2d(i[0]!, i[1]!, o[0]!, p, 'float32'),
        });
        parity(`conv2dGradInput ${tag}`, {
          inputs: [f32(dy), f32(w)],
          outputs: [out(s.x)],
          atol: 1e-4,
          rtol: 1e-4,
          call: (k, i, o) => k.conv2dGradInput(i[0]!, i[1]!, o[0]!, p, 'float32'),
        });
        parity(`conv2dGradWeight ${tag}`, {
          inputs: [f32(x), f32(dy)],
          outputs: [out(s.w)],
          atol: 1e-5 * Math.sqrt(s.y),
          rtol: 2e-4,
          call: (k, i, o) => k.conv2dGradWeight(i[0]!, i[1]!, o[0]!, p, 'float32'),
        });
      }
    });
  });

  it('pooling forward and backward', () => {
    const mk = (
      o: Partial<Pool2dParams> & { batch: number; channels: number; inH: number; inW: number; kH: number; kW: number },
    ): Pool2dParams => {
      const p = {
        strideH: o.kH,
        strideW: o.kW,
        padH: 0,
        padW: 0,
        dilationH: 1,
        dilationW: 1,
        countIncludePad: true,
        outH: 0,
        outW: 0,
        ...o,
      };
      p.outH = Math.floor((p.inH + 2 * p.padH - p.dilationH * (p.kH - 1) - 1) / p.strideH) + 1;
      p.outW = Math.floor((p.inW + 2 * p.padW - p.dilationW * (p.kW - 1) - 1) / p.strideW) + 1;
      return p;
    };
    const ps = [
      mk({ batch: 2, channels: 3, inH: 8, inW: 8, kH: 2, kW: 2 }),
      mk({ batch: 1, channels: 5, inH: 11, inW: 9, kH: 3, kW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }),
      mk({ batch: 2, channels: 2, inH: 12, inW: 10, kH: 3, kW: 2, strideH: 1, strideW: 2, padH: 1, padW: 1, countIncludePad: false }),
      mk({ batch: 1, channels: 3, inH: 13, inW: 13, kH: 3, kW: 3, strideH: 2, strideW: 1, dilationH: 2, dilationW: 2, padH: 2, padW: 1 }),
    ];
    for (const p of ps) {
      const nx = p.batch * p.channels * p.inH * p.inW,
        ny = p.batch * p.channels * p.outH * p.outW;
      const x = randn(nx),
        dy = randn(ny),
        tag = JSON.stringify(p);
      parity(`maxPool2d ${tag}`, {
        inputs: [f32(x)],
        outputs: [out(ny), out(ny, 'int32')],
        call: (k, i, o) => k.maxPool2d(i[0]!, o[0]!, o[1]!, p, 'float32'),
      });
      // values only (no argmax: the op's path under noGrad)
      parity(`maxPool2d values only ${tag}`, {
        inputs: [f32(x)],
        outputs: [out(ny)],
        call: (k, i, o) => k.maxPool2d(i[0]!, o[0]!, null, p, 'float32'),
      });
      // argmax from js so both backward passes read the same indices
      const am = runOn(
        js,
        { inputs: [f32(x)], outputs: [out(ny), out(ny, 'int32')], call: (k, i, o) => k.maxPool2d(i[0]!, o[0]!, o[1]!, p, 'float32') },
        false,
      )[1]!;
      parity(`maxPool2dBackward ${tag}`, {
        inputs: [f32(dy), i32(am)],
        outputs: [out(nx)],
        call: (k, i, o) => k.maxPool2dBackward(i[0]!, i[1]!, o[0]!, p, 'float32'),
      });
      if (p.dilationH === 1 && p.dilationW === 1) {
        parity(`avgPool2d ${tag}`, { inputs: [f32(x)], outputs: [out(ny)], call: (k, i, o) => k.avgPool2d(i[0]!, o[0]!, p, 'float32') });
        parity(`avgPool2dBackward ${tag}`, {
          inputs: [f32(dy)],
          outputs: [out(nx)],
          call: (k, i, o) => k.avgPool2dBackward(i[0]!, o[0]!, p, 'float32'),
        });
      }
    }
    for (const [inH, inW, outH, outW] of [
      [7, 9, 3, 4],
      [8, 8, 1, 1],
      [5, 6, 5, 6],
      [4, 5, 7, 3],
    ] as const) {
      const [b, c] = [2, 3];
      parity(`adaptiveAvgPool2d ${inH}x${inW}→${outH}x${outW}`, {
        inputs: [f32(randn(b * c * inH * inW))],
        outputs: [out(b * c * outH * outW)],
        call: (k, i, o) => k.adaptiveAvgPool2d(i[0]!, o[0]!, b, c, inH, inW, outH, outW, 'float32'),
      });
      parity(`adaptiveAvgPool2dBackward ${inH}x${inW}→${outH}x${outW}`, {
        inputs: [f32(randn(b * c * outH * outW))],
        outputs: [out(b * c * inH * inW)],
        call: (k, i, o) => k.adaptiveAvgPool2dBackward(i[0]!, o[0]!, b, c, inH, inW, outH, outW, 'float32'),
      });
    }
  });

  it('indexSelect / gather and their backward; bad index raises at sync', () => {
    const [outer, dimSize, inner, nIdx] = [3, 11, 5, 17];
    const x = randn(outer * dimSize * inner),
      idx = randInt(nIdx, dimSize),
      dy = randn(outer * nIdx * inner);
    parity('indexSelect', {
      inputs: [f32(x), i32(idx)],
      outputs: [out(outer * nIdx * inner)],
      call: (k, i, o) => k.indexSelect(i[0]!, i[1]!, o[0]!, outer, dimSize, inner, nIdx, 'float32'),
    });
    parity('indexSelectBackward', {
      inputs: [f32(dy), i32(idx)],
      outputs: [out(outer * dimSize * inner)],
      call: (k, i, o) => k.indexSelectBackward(i[0]!, i[1]!, o[0]!, outer, dimSize, inner, nIdx, 'float32'),
    });
    const gidx = randInt(outer * nIdx * inner, dimSize);
    parity('gather', {
      inputs: [f32(x), i32(gidx)],
      outputs: [out(outer * nIdx * inner)],
      call: (k, i, o) => k.gather(i[0]!, i[1]!, o[0]!, outer, dimSize, inner, nIdx, 'float32'),
    });
    parity('gatherBackward', {
      inputs: [f32(dy), i32(gidx)],
      outputs: [out(outer * dimSize * inner)],
      call: (k, i, o) => k.gatherBackward(i[0]!, i[1]!, o[0]!, outer, dimSize, inner, nIdx, 'float32'),
    });
    // embedding shape: outer 1
    const emb = randn(50 * 8),
      tok = randInt(33, 50);
    parity('indexSelect embedding', {
      inputs: [f32(emb), i32(tok)],
      outputs: [out(33 * 8)],
      call: (k, i, o) => k.indexSelect(i[0]!, i[1]!, o[0]!, 1, 50, 8, 33, 'float32'),
    });

    const hx = upload(cuda, x, 'float32'),
      hi = upload(cuda, Int32Array.from([0, dimSize]), 'int32');
    const ho = cuda.alloc(outer * 2 * inner, 'float32');
    cuda.kernels.indexSelect(hx, hi, ho, outer, dimSize, inner, 2, 'float32');
    expect(() => cuda.synchronize()).toThrow(/index out of range/);
    cuda.synchronize(); // the flag is cleared after it was raised
    for (const h of [hx, hi, ho]) cuda.free(h);
  });

  it('softmax / log-softmax and backward', () => {
    // row widths around the 32/128/512-thread switches (RowThreads); fewer, smaller rows under the simulator
    for (const [rows, cols] of scaled<[number, number][]>(
      [
        [1, 1],
        [7, 10],
        [33, 129],
        [5, 1000],
        [3, 5000],
        [2, 20000],
      ],
      [
        [1, 1],
        [7, 10],
        [33, 129],
        [2, 1000],
        [2, 4099],
      ],
    )) {
      for (const log of [false, true]) {
        const x = randn(rows * cols, 0.1, 4);
        parity(`softmax log=${log} ${rows}x${cols}`, {
          inputs: [f32(x)],
          outputs: [out(rows * cols)],
          atol: 1e-6,
          rtol: 1e-4,
          call: (k, i, o) => k.softmax(i[0]!, o[0]!, rows, cols, log, 'float32'),
        });
        const y = runOn(
          js,
          { inputs: [f32(x)], outputs: [out(rows * cols)], call: (k, i, o) => k.softmax(i[0]!, o[0]!, rows, cols, log, 'float32') },
          false,
        )[0]!;
        parity(`softmaxBackward log=${log} ${rows}x${cols}`, {
          inputs: [f32(y), f32(randn(rows * cols))],
          outputs: [out(rows * cols)],
          atol: 1e-5,
          rtol: 1e-4,
          call: (k, i, o) => k.softmaxBackward(i[0]!, i[1]!, o[0]!, rows, cols, log, 'float32'),
        });
      }
    }
  });

  it('crossEntropy forward and backward (label smoothing, ignoreIndex); bad target raises', () => {
    for (const [rows, cols] of scaled<[number, number][]>(
      [
        [1, 2],
        [17, 10],
        [64, 1000],
        [3, 4097],
      ],
      [
        [1, 2],
        [17, 10],
        [6, 1000],
        [3, 4097],
      ],
    )) {
      for (const eps of [0, 0.1]) {
        const x = randn(rows * cols, 0.1, 4),
          t = randInt(rows, cols);
        if (rows > 2) t[1] = -100;
        const dl = randn(rows);
        parity(`crossEntropy ${rows}x${cols} ε=${eps}`, {
          inputs: [f32(x), i32(t)],
          outputs: [out(rows)],
          atol: 1e-5,
          rtol: 1e-4,
          call: (k, i, o) => k.crossEntropy(i[0]!, i[1]!, o[0]!, rows, cols, eps, -100, 'float32'),
        });
        parity(`crossEntropyBackward ${rows}x${cols} ε=${eps}`, {
          inputs: [f32(x), i32(t), f32(dl)],
          outputs: [out(rows * cols)],
          atol: 1e-6,
          rtol: 1e-4,
          call: (k, i, o) => k.crossEntropyBackward(i[0]!, i[1]!, i[2]!, o[0]!, rows, cols, eps, -100, 'float32'),
        });
      }
    }
    const hx = upload(cuda, randn(20), 'float32'),
      ht = upload(cuda, Int32Array.from([1, 10]), 'int32');
    const hl = cuda.alloc(2, 'float32');
    cuda.kernels.crossEntropy(hx, ht, hl, 2, 10, 0, -100, 'float32');
    expect(() => cuda.synchronize()).toThrow(/index out of range/);
    for (const h of [hx, ht, hl]) cuda.free(h);
  });

  it('layerNorm forward and backward', () => {
    for (const [rows, cols] of scaled<[number, number][]>(
      [
        [1, 1],
        [7, 33],
        [64, 768],
        [3, 5000],
      ],
      [
        [1, 1],
        [7, 33],
        [6, 768],
        [2, 5000],
      ],
    )) {
      for (const affine of [true, false]) {
        const x = randn(rows * cols),
          g = randn(cols),
          b = randn(cols),
          dy = randn(rows * cols);
        parity(`layerNorm ${rows}x${cols} affine=${affine}`, {
          inputs: [f32(x), f32(g), f32(b)],
          outputs: [out(rows * cols), out(rows), out(rows)],
          atol: 1e-5,
          rtol: 1e-4,
          call: (k, i, o) =>
            k.layerNorm(i[0]!, affine ? i[1]! : null, affine ? i[2]! : null, o[0]!, o[1]!, o[2]!, rows, cols, 1e-5, 'float32'),
        });
        const [, mean, rstd] = runOn(
          js,
          {
            inputs: [f32(x)],
            outputs: [out(rows * cols), out(rows), out(rows)],
            call: (k, i, o) => k.layerNorm(i[0]!, null, null, o[0]!, o[1]!, o[2]!, rows, cols, 1e-5, 'float32'),
          },
          false,
        );
        parity(`layerNormBackward ${rows}x${cols} affine=${affine}`, {
          inputs: [f32(dy), f32(x), f32(g), f32(mean!), f32(rstd!)],
          outputs: affine ? [out(rows * cols), out(cols), out(cols)] : [out(rows * cols)],
          atol: 1e-4,
          rtol: 1e-3,
          call: (k, i, o) =>
            k.layerNormBackward(
              i[0]!,
              i[1]!,
              affine ? i[2]! : null,
              i[3]!,
              i[4]!,
              o[0]!,
              affine ? o[1]! : null,
              affine ? o[2]! : null,
              rows,
              cols,
              'float32',
            ),
        });
      }
    }
  });

  it('batchNorm forward (training updates running stats, eval) and backward', () => {
    for (const [n, c, hw] of scaled<[number, number, number][]>(
      [
        [2, 3, 5],
        [8, 16, 49],
        [1, 7, 1],
        [32, 4, 100],
      ],
      [
        [2, 3, 5],
        [4, 16, 49],
        [1, 7, 1],
        [8, 4, 100],
      ],
    )) {
      for (const training of [true, false]) {
        const x = randn(n * c * hw),
          g = randn(c),
          b = randn(c),
          rm = randn(c),
          rv = randPos(c),
          dy = randn(n * c * hw);
        parity(`batchNorm ${n}x${c}x${hw} training=${training}`, {
          inputs: [f32(x), f32(g), f32(b)],
          outputs: [out(n * c * hw), out(c), out(c), { numel: c, dtype: 'float32', init: rm }, { numel: c, dtype: 'float32', init: rv }],
          atol: 1e-5,
          rtol: 1e-4,
          call: (k, i, o) => k.batchNorm(i[0]!, i[1]!, i[2]!, o[3]!, o[4]!, o[0]!, o[1]!, o[2]!, n, c, hw, training, 0.1, 1e-5, 'float32'),
        });
        const [, sm, si] = runOn(
          js,
          {
            inputs: [f32(x)],
            outputs: [out(n * c * hw), out(c), out(c), { numel: c, dtype: 'float32', init: rm }, { numel: c, dtype: 'float32', init: rv }],
            call: (k, i, o) => k.batchNorm(i[0]!, null, null, o[3]!, o[4]!, o[0]!, o[1]!, o[2]!, n, c, hw, training, 0.1, 1e-5, 'float32'),
          },
          false,
        );
        parity(`batchNormBackward ${n}x${c}x${hw} training=${training}`, {
          inputs: [f32(dy), f32(x), f32(g), f32(sm!), f32(si!)],
          outputs: [out(n * c * hw), out(c), out(c)],
          atol: 1e-4,
          rtol: 1e-3,
          call: (k, i, o) => k.batchNormBackward(i[0]!, i[1]!, i[2]!, i[3]!, i[4]!, o[0]!, o[1]!, o[2]!, n, c, hw, training, 'float32'),
        });
      }
    }
  });

  it('lstmCell / gruCell forward and backward', () => {
    for (const [B, H] of scaled<[number, number][]>(
      [
        [1, 1],
        [3, 37],
        [64, 256],
      ],
      [
        [1, 1],
        [3, 37],
        [8, 256],
      ],
    )) {
      const gates = randn(B * 4 * H),
        cPrev = randn(B * H);
      parity(`lstmCell ${B}x${H}`, {
        inputs: [f32(gates), f32(cPrev)],
        outputs: [out(B * H), out(B * H), out(B * 4 * H)],
        call: (k, i, o) => k.lstmCell(i[0]!, i[1]!, o[0]!, o[1]!, o[2]!, B, H, 'float32'),
      });
      const [, c, act] = runOn(
        js,
        {
          inputs: [f32(gates), f32(cPrev)],
          outputs: [out(B * H), out(B * H), out(B * 4 * H)],
          call: (k, i, o) => k.lstmCell(i[0]!, i[1]!, o[0]!, o[1]!, o[2]!, B, H, 'float32'),
        },
        false,
      );
      for (const withDc of [true, false]) {
        parity(`lstmCellBackward ${B}x${H} dc=${withDc}`, {
          inputs: [f32(act!), f32(cPrev), f32(c!), f32(randn(B * H)), f32(randn(B * H))],
          outputs: [out(B * 4 * H), out(B * H)],
          call: (k, i, o) => k.lstmCellBackward(i[0]!, i[1]!, i[2]!, i[3]!, withDc ? i[4]! : null, o[0]!, o[1]!, B, H, 'float32'),
        });
      }
      const xg = randn(B * 3 * H),
        hg = randn(B * 3 * H),
        hPrev = randn(B * H);
      parity(`gruCell ${B}x${H}`, {
        inputs: [f32(xg), f32(hg), f32(hPrev)],
        outputs: [out(B * H), out(B * 4 * H)],
        call: (k, i, o) => k.gruCell(i[0]!, i[1]!, i[2]!, o[0]!, o[1]!, B, H, 'float32'),
      });
      const [, saved] = runOn(
        js,
        {
          inputs: [f32(xg), f32(hg), f32(hPrev)],
          outputs: [out(B * H), out(B * 4 * H)],
          call: (k, i, o) => k.gruCell(i[0]!, i[1]!, i[2]!, o[0]!, o[1]!, B, H, 'float32'),
        },
        false,
      );
      parity(`gruCellBackward ${B}x${H}`, {
        inputs: [f32(saved!), f32(hPrev), f32(randn(B * H))],
        outputs: [out(B * 3 * H), out(B * 3 * H), out(B * H)],
        call: (k, i, o) => k.gruCellBackward(i[0]!, i[1]!, i[2]!, o[0]!, o[1]!, o[2]!, B, H, 'float32'),
      });
    }
  });

  it('Philox streams are identical on js and cuda', () => {
    for (const [n, s, off] of [
      [1, 0, 0],
      [7, 42, 3],
      [4097, 2 ** 40 + 12345, 2 ** 33 + 5],
      [1000, 0xffffffff, 0],
    ] as const) {
      parity(`randUniform n=${n} seed=${s}`, {
        inputs: [],
        outputs: [out(n)],
        atol: 0,
        rtol: 0,
        call: (k, _i, o) => k.randUniform(o[0]!, n, s, off, -1.5, 2.5, 'float32'),
      });
      parity(`randNormal n=${n} seed=${s}`, {
        inputs: [],
        outputs: [out(n)],
        atol: 1e-6,
        rtol: 1e-6,
        call: (k, _i, o) => k.randNormal(o[0]!, n, s, off, 0.5, 2, 'float32'),
      });
      parity(`dropoutMask n=${n} seed=${s}`, {
        inputs: [],
        outputs: [out(n)],
        atol: 0,
        rtol: 0,
        call: (k, _i, o) => k.dropoutMask(o[0]!, n, 0.3, s, off, 'float32'),
      });
    }
  });

  describe('fused optimizers over many tensors', () => {
    // 60 tensors (more than one launch's list), odd sizes, one larger than a 65536 chunk (smaller
    // tensors under the simulator, the same structure)
    const numels = Array.from({ length: 60 }, (_, i) => (i === 7 ? scaled(200_003, 65_541) : 1 + Math.floor(rand() * scaled(3000, 300))));
    const inits = () => numels.map((n) => randn(n));
    it('sgdStep: every flag combination', () => {
      for (const momentum of [0, 0.9])
        for (const nesterov of momentum ? [false, true] : [false])
          for (const firstStep of momentum ? [true, false] : [false])
            for (const [weightDecay, maximize, dampening] of [
              [0, false, 0],
              [0.01, true, 0.1],
            ] as const) {
              const p = inits(),
                g = inits(),
                buf = inits();
              const h = { lr: 0.05, momentum, dampening, nesterov, weightDecay, maximize, firstStep };
              const T = numels.length;
              parity(`sgdStep ${JSON.stringify(h)}`, {
                inputs: g.map(f32),
                outputs: [
                  ...p.map((d, i) => ({ numel: numels[i]!, dtype: 'float32' as DType, init: d })),
                  ...(momentum ? buf.map((d, i) => ({ numel: numels[i]!, dtype: 'float32' as DType, init: d })) : []),
                ],
                call: (k, ins, outs) => k.sgdStep(outs.slice(0, T), ins, momentum ? outs.slice(T) : null, numels, h, 'float32'),
              });
            }
    });
    it('adamStep: Adam, AdamW, amsgrad, maximize', () => {
      for (const decoupled of [false, true])
        for (const amsgrad of [false, true])
          for (const maximize of [false, true]) {
            const p = inits(),
              g = inits(),
              m = inits(),
              v = numels.map((n) => randPos(n, 0.01, 1)),
              vm = numels.map((n) => randPos(n, 0.01, 1));
            const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled, amsgrad, maximize, step: 7 };
            const T = numels.length;
            const init = (list: Float32Array[]) => list.map((d, i) => ({ numel: numels[i]!, dtype: 'float32' as DType, init: d }));
            parity(`adamStep ${JSON.stringify(h)}`, {
              inputs: g.map(f32),
              outputs: [...init(p), ...init(m), ...init(v), ...(amsgrad ? init(vm) : [])],
              atol: 1e-6,
              rtol: 1e-5,
              call: (k, ins, outs) =>
                k.adamStep(
                  outs.slice(0, T),
                  ins,
                  outs.slice(T, 2 * T),
                  outs.slice(2 * T, 3 * T),
                  amsgrad ? outs.slice(3 * T, 4 * T) : null,
                  numels,
                  h,
                  'float32',
                ),
            });
          }
    });
    it('rmspropStep: momentum, centered, weight decay, maximize', () => {
      for (const momentum of [0, 0.9])
        for (const centered of [false, true])
          for (const [weightDecay, maximize] of [
            [0, false],
            [0.01, true],
          ] as const) {
            // v ≥ 0.01 and |ḡ| ≤ 0.05 keep v − ḡ² positive (centered)
            const p = inits(),
              g = inits(),
              v = numels.map((n) => randPos(n, 0.01, 1)),
              buf = inits();
            const ga = numels.map((n) => randn(n).map((x) => Math.max(-0.05, Math.min(0.05, x * 0.02))));
            const h = { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay, momentum, centered, maximize };
            const T = numels.length;
            const init = (list: Float32Array[]) => list.map((d, i) => ({ numel: numels[i]!, dtype: 'float32' as DType, init: d }));
            parity(`rmspropStep ${JSON.stringify(h)}`, {
              inputs: g.map(f32),
              outputs: [...init(p), ...init(v), ...(momentum ? init(buf) : []), ...(centered ? init(ga) : [])],
              atol: 1e-6,
              rtol: 1e-5,
              call: (k, ins, outs) => {
                const m = momentum ? outs.slice(2 * T, 3 * T) : null;
                const a = centered ? outs.slice((momentum ? 3 : 2) * T, (momentum ? 4 : 3) * T) : null;
                k.rmspropStep(outs.slice(0, T), ins, outs.slice(T, 2 * T), m, a, numels, h, 'float32');
              },
            });
          }
    });
    it('adagradStep: decayed lr, weight decay, maximize', () => {
      for (const [weightDecay, maximize] of [
        [0, false],
        [0.05, true],
      ] as const) {
        const p = inits(),
          g = inits(),
          s = numels.map((n) => randPos(n, 0.01, 1));
        const h = { clr: 1e-2 / (1 + 4 * 0.01), eps: 1e-10, weightDecay, maximize };
        const T = numels.length;
        const init = (list: Float32Array[]) => list.map((d, i) => ({ numel: numels[i]!, dtype: 'float32' as DType, init: d }));
        parity(`adagradStep ${JSON.stringify(h)}`, {
          inputs: g.map(f32),
          outputs: [...init(p), ...init(s)],
          atol: 1e-6,
          rtol: 1e-5,
          call: (k, ins, outs) => k.adagradStep(outs.slice(0, T), ins, outs.slice(T, 2 * T), numels, h, 'float32'),
        });
      }
    });
  });

  it('float64 throws a clear error where unsupported', () => {
    const h = cuda.alloc(4, 'float64');
    expect(() => cuda.kernels.matmul(h, h, h, 1, 2, 2, 1, false, false, 0, 0, 'float64')).toThrow(/float64 not supported for matmul/);
    cuda.free(h);
  });
});
