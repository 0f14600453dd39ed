// The CPU peer: @tensorflow/tfjs with its pure-JS CPU backend, same process, same shapes, medians.
// matmul (M, N, K), conv2d forward of the small-CNN layers (tfjs's native NHWC layout; ours is
// NCHW — each library in its own layout), and one MLP / CNN training step with the same
// architecture, loss (mean cross-entropy) and optimizer (Adam, lr 1e-3) as bench/e2e/models.ts.
// Where both compute the same numbers (matmul, conv2d) the outputs are cross-checked.

import type * as TF from '@tensorflow/tfjs';
import { timeCpu, type TimeOptions } from '../lib/timing.js';
import type { PeerMeasurement, Validation } from '../lib/types.js';
import { compare, randomArray, randomInts, tolerance } from '../lib/util.js';
import { matmulId, type GemmShape } from '../ops/matmul.js';
import { convId, type ConvShape } from '../ops/conv2d.js';
import { e2eId } from '../e2e/train.js';
import { paramShapes, type ModelName } from '../e2e/models.js';

export const PEER = 'tfjs-cpu';

type Tf = typeof TF;
let tfPromise: Promise<Tf | null> | null = null;

/** Loads tfjs on its CPU backend once (quietly: it prints a hint about tfjs-node on import). */
export function loadTfjs(): Promise<Tf | null> {
  tfPromise ??= (async () => {
    const warn = console.warn,
      log = console.log;
    try {
      console.warn = () => {};
      console.log = () => {};
      const tf = (await import('@tensorflow/tfjs')) as Tf;
      await tf.setBackend('cpu');
      await tf.ready();
      return tf;
    } catch {
      return null;
    } finally {
      console.warn = warn;
      console.log = log;
    }
  })();
  return tfPromise;
}

export async function tfjsVersion(): Promise<string | null> {
  const tf = await loadTfjs();
  return tf ? tf.version.tfjs : null;
}

/** tf.matMul on the same random data our case uses (seeds 11, 12): time + output for cross-checks. */
export function tfjsMatmul(tf: Tf, s: GemmShape, o: TimeOptions): { m: PeerMeasurement; out: Float32Array } {
  const a = tf.tensor2d(randomArray(s.m * s.k, 11), [s.m, s.k]);
  const b = tf.tensor2d(randomArray(s.k * s.n, 12), [s.k, s.n]);
  const c = tf.matMul(a, b);
  const out = c.dataSync() as Float32Array;
  c.dispose();
  const t = timeCpu(() => tf.matMul(a, b).dispose(), o);
  a.dispose();
  b.dispose();
  return { m: { id: matmulId(s), peer: PEER, dtype: 'float32', medianMs: t.medianMs }, out: out.slice() };
}

/** NCHW → NHWC and (K, C, R, S) → (R, S, C, K) copies. */
function nchwToNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) out[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i]!;
  return out;
}
function kcrsToRsck(wt: Float32Array, k: number, c: number, r: number, s: number): Float32Array {
  const out = new Float32Array(wt.length);
  for (let kk = 0; kk < k; kk++)
    for (let cc = 0; cc < c; cc++) for (let i = 0; i < r * s; i++) out[(i * c + cc) * k + kk] = wt[(kk * c + cc) * r * s + i]!;
  return out;
}
function nhwcToNchw(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) out[(b * c + ch) * h * w + i] = x[(b * h * w + i) * c + ch]!;
  return out;
}

/** tf.conv2d forward on the data our fwd case uses (seeds 21, 22); output returned as NCHW. */
export function tfjsConvFwd(tf: Tf, s: ConvShape, o: TimeOptions): { m: PeerMeasurement; outNchw: Float32Array } {
  const xs = randomArray(s.n * s.c * s.h * s.h, 21);
  const ws = randomArray(s.k * s.c * s.r * s.r, 22, -0.2, 0.2);
  const x = tf.tensor4d(nchwToNhwc(xs, s.n, s.c, s.h, s.h), [s.n, s.h, s.h, s.c]);
  const w = tf.tensor4d(kcrsToRsck(ws, s.k, s.c, s.r, s.r), [s.r, s.r, s.c, s.k]);
  const run = (): TF.Tensor4D => tf.conv2d(x, w, s.stride, s.pad);
  const y = run();
  const [, p, q] = y.shape;
  const outNchw = nhwcToNchw(y.dataSync() as Float32Array, s.n, s.k, p, q);
  y.dispose();
  const t = timeCpu(() => run().dispose(), o);
  x.dispose();
  w.dispose();
  return { m: { id: convId(s, 'fwd'), peer: PEER, dtype: 'float32', medianMs: t.medianMs, note: 'NHWC (tfjs native layout)' }, outNchw };
}

/** One training step of the MLP or CNN (same shapes/optimizer as ours); median step time. */
export function tfjsTrainStep(tf: Tf, model: ModelName, batch: number, o: TimeOptions): PeerMeasurement {
  const shapes = paramShapes(model);
  // tfjs layouts: dense kernels (in, out), conv filters (R, S, C, K)
  const vars = shapes.map((s, i) => {
    const fan = s.length === 1 ? shapes[i - 1]!.slice(1).reduce((a, b) => a * b, 1) : s.slice(1).reduce((a, b) => a * b, 1);
    const a = 1 / Math.sqrt(fan);
    const n = s.reduce((x, y) => x * y, 1);
    const data = randomArray(n, 101 + i, -a, a);
    if (s.length === 1) return tf.variable(tf.tensor1d(data));
    if (s.length === 2) return tf.variable(tf.tensor2d(data, [s[0]!, s[1]!]).transpose());
    return tf.variable(tf.tensor4d(kcrsToRsck(data, s[0]!, s[1]!, s[2]!, s[3]!), [s[2]!, s[3]!, s[1]!, s[0]!]));
  });
  const [w1, b1, w2, b2, w3, b3] = vars as TF.Variable[];
  const forward = (x: TF.Tensor): TF.Tensor2D => {
    if (model === 'mlp') {
      const h1 = tf.relu(tf.add(tf.matMul(x as TF.Tensor2D, w1 as TF.Tensor2D), b1!));
      const h2 = tf.relu(tf.add(tf.matMul(h1 as TF.Tensor2D, w2 as TF.Tensor2D), b2!));
      return tf.add(tf.matMul(h2 as TF.Tensor2D, w3 as TF.Tensor2D), b3!) as TF.Tensor2D;
    }
    const c1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(x as TF.Tensor4D, w1 as TF.Tensor4D, 1, 2), b1!)) as TF.Tensor4D, 2, 2, 0);
    const c2 = tf.maxPool(tf.relu(tf.add(tf.conv2d(c1, w2 as TF.Tensor4D, 1, 2), b2!)) as TF.Tensor4D, 2, 2, 0);
    return tf.add(tf.matMul(tf.reshape(c2, [batch, 1568]) as TF.Tensor2D, w3 as TF.Tensor2D), b3!) as TF.Tensor2D;
  };
  const data = Array.from({ length: 8 }, (_, i) => ({
    x:
      model === 'mlp'
        ? tf.tensor2d(randomArray(batch * 784, 201 + i, 0, 1), [batch, 784])
        : tf.tensor4d(randomArray(batch * 784, 201 + i, 0, 1), [batch, 28, 28, 1]),
    y: tf.oneHot(tf.tensor1d(randomInts(batch, 10, 301 + i), 'int32'), 10),
  }));
  const opt = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const t = timeCpu((i) => {
    const b = data[i % data.length]!;
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(b.y, forward(b.x)) as TF.Scalar, true, vars);
    loss?.dispose();
  }, o);
  opt.dispose();
  for (const v of vars) v.dispose();
  for (const d of data) {
    d.x.dispose();
    d.y.dispose();
  }
  return { id: e2eId(model, batch), peer: PEER, dtype: 'float32', medianMs: t.medianMs, note: 'tf.train.adam, NHWC' };
}

/** Our output vs tfjs's on the same inputs. */
export function crossCheck(ours: Float32Array | ArrayLike<number>, theirs: Float32Array, reduction: number): Validation {
  return compare(Float32Array.from(ours), theirs, tolerance('float32', reduction), 'tfjs on the same inputs');
}
