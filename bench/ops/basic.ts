// `npm run bench -- --op basic`: fill, cast, where and argmax on the cpu through the js backend's
// kernel table (the addon's native/cpu/basic*.cc when loaded, lib/backend/js/native-basic.ts),
// each beside the pure-JS kernel on the same arrays, so the report shows both medians in the same
// run (no PyTorch peer: these are ours against our own fallback). Validation: the routed kernel's
// output against the js kernel's, bit for bit. bench/ops/basic-native.ts is the finer sweep over
// sizes (and per ISA) behind the NATIVE_MIN thresholds.

import { JsHandle, type AnyArray } from '../../lib/backend/js/handle.js';
import { jsKernels } from '../../lib/backend/js/index.js';
import * as jsEw from '../../lib/backend/js/elementwise.js';
import * as jsRed from '../../lib/backend/js/reduce.js';
import type { BenchCase, BenchContext, Prepared, Validation } from '../lib/types.js';
import { randomArray } from '../lib/util.js';

type HDT = 'float32' | 'float64' | 'int32';
const H = (a: AnyArray, dt: HDT): JsHandle => new JsHandle(a, dt);

function sameBits(a: AnyArray, b: AnyArray, against: string): Validation {
  let bad = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) bad++;
  return { ok: bad === 0, worst: bad, against, note: `${bad} of ${a.length} elements differ` };
}

interface Kernel {
  id: string;
  shape: string;
  dtype: string;
  bytes: number;
  /** the output array and one call writing it: routed (native when loaded) or the pure-JS kernel */
  make(route: boolean): { out: AnyArray; run(): void };
}

function pair(k: Kernel): BenchCase[] {
  return ([true, false] as const).map((route) => ({
    op: 'basic',
    id: `${k.id} ${route ? 'routed' : 'js'}`,
    shape: `${k.shape}, ${route ? 'routed (native when loaded)' : 'pure JS'}`,
    dtype: k.dtype,
    flops: 0,
    bytes: k.bytes,
    inputBytes: k.bytes,
    kernels: [],
    prepare(): Prepared {
      const c = k.make(route);
      return {
        run: () => c.run(),
        validate() {
          const a = k.make(true),
            b = k.make(false);
          a.run();
          b.run();
          return sameBits(a.out, b.out, 'the pure-JS kernel (bit for bit)');
        },
        counted: () => null,
        dispose() {},
      };
    },
  }));
}

const N = 1 << 20;

/** The js backend's cases (none on cuda: these kernels work on the js backend's host arrays). */
export function basicCases(ctx: BenchContext): BenchCase[] {
  if (ctx.backend !== 'js') return [];
  const x = randomArray(N, 41, -1e4, 1e4);
  const c = randomArray(N, 43, -1, 1);
  const logits = randomArray(256 * 10, 47);
  const kernels: Kernel[] = [
    {
      id: `basic cast f32->i32 ${N}`,
      shape: `${N} float32 → int32`,
      dtype: 'float32',
      bytes: 8 * N,
      make(route) {
        const out = new Int32Array(N);
        const f = route ? jsKernels.cast : jsEw.cast;
        return { out, run: () => f(H(x, 'float32'), H(out, 'int32'), N, 'float32', 'int32') };
      },
    },
    {
      id: `basic where f32 ${N}`,
      shape: `${N} float32, b a scalar`,
      dtype: 'float32',
      bytes: 12 * N,
      make(route) {
        const out = new Float32Array(N);
        const b = Float32Array.of(0);
        const f = route ? jsKernels.where : jsEw.where;
        return {
          out,
          run: () => f(H(c, 'float32'), H(x, 'float32'), H(b, 'float32'), H(out, 'float32'), [N], [1], [1], [0], 'float32', 'float32'),
        };
      },
    },
    {
      id: `basic argmax f32 1x${N}`,
      shape: `1×${N} float32, dim 1`,
      dtype: 'float32',
      bytes: 4 * N,
      make(route) {
        const out = new Int32Array(1);
        const f = route ? jsKernels.argReduce : jsRed.argReduce;
        return { out, run: () => f('argmax', H(x, 'float32'), H(out, 'int32'), 1, N, 1, 'float32') };
      },
    },
    {
      id: 'basic argmax f32 256x10',
      shape: '256×10 float32 logits, dim 1',
      dtype: 'float32',
      bytes: 4 * 2560,
      make(route) {
        const out = new Int32Array(256);
        const f = route ? jsKernels.argReduce : jsRed.argReduce;
        return { out, run: () => f('argmax', H(logits, 'float32'), H(out, 'int32'), 256, 10, 1, 'float32') };
      },
    },
    {
      id: `basic fill f32 ${N}`,
      shape: `${N} float32`,
      dtype: 'float32',
      bytes: 4 * N,
      make(route) {
        const out = new Float32Array(N);
        const f = route ? jsKernels.fill : jsEw.fill;
        return { out, run: () => f(H(out, 'float32'), N, 0.25, 'float32') };
      },
    },
  ];
  return kernels.flatMap(pair);
}
