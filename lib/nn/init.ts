// nn.init: in-place initialisers with PyTorch's formulas, drawing from the shared Philox stream
// (manualSeed reproduces them on every backend). Each returns the tensor it filled.

import { noGrad } from '../autograd/mode.js';
import { fmtShape, numel } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { fillInto, normalInto, uniformInto } from './inplace.js';
import { checkOptions, finite, nonNegative, oneOf, type OptionKeys } from '../options.js';

export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

/** The recommended gain for a nonlinearity (torch.nn.init.calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new RangeError(`calculateGain: unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/** [fanIn, fanOut] of a weight: (out, in, …receptive field) like torch. */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2)
    throw new RangeError(`fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, got ${fmtShape(t.shape)}`);
  const rf = numel(t.shape, 2);
  return [t.shape[1]! * rf, t.shape[0]! * rf];
}

function fan(t: Tensor, mode: FanMode): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new RangeError(`init: mode must be 'fan_in' or 'fan_out', got '${String(mode)}'`);
  const [i, o] = calculateFanInAndFanOut(t);
  return mode === 'fan_in' ? i : o;
}

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  finite('uniform_', 'a (low)', a);
  finite('uniform_', 'b (high)', b);
  if (!(a <= b)) throw new RangeError(`uniform_: need a <= b, got ${a}, ${b}`);
  noGrad(() => uniformInto(t, a, b));
  return t;
}

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  finite('normal_', 'mean', mean);
  nonNegative('normal_', 'std', std);
  noGrad(() => normalInto(t, mean, std));
  return t;
}

export function constant_(t: Tensor, value: number): Tensor {
  noGrad(() => fillInto(t, value));
  return t;
}

export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}

export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

/** U(-a, a) with a = gain·√(6 / (fanIn + fanOut)) (Glorot). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  finite('xavierUniform_', 'gain', gain);
  const [fi, fo] = calculateFanInAndFanOut(t);
  const a = gain * Math.sqrt(6 / (fi + fo));
  return uniform_(t, -a, a);
}

/** N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor {
  finite('xavierNormal_', 'gain', gain);
  const [fi, fo] = calculateFanInAndFanOut(t);
  return normal_(t, 0, gain * Math.sqrt(2 / (fi + fo)));
}

export interface KaimingOptions {
  /** negative slope of the rectifier after this layer (leaky_relu only); default 0 */
  a?: number;
  mode?: FanMode;
  nonlinearity?: Nonlinearity;
}

const KAIMING_KEYS: OptionKeys<KaimingOptions> = { a: true, mode: true, nonlinearity: true };

function kaimingOptions(where: string, o: KaimingOptions | undefined): KaimingOptions {
  o = checkOptions(where, o, KAIMING_KEYS);
  finite(where, 'a', o.a, 0);
  oneOf(where, 'mode', o.mode, ['fan_in', 'fan_out'], 'fan_in');
  return o;
}

/** U(-b, b) with b = gain·√(3 / fan) (He); torch's defaults a=0, fan_in, leaky_relu. */
export function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  o = kaimingOptions('kaimingUniform_', o);
  const f = fan(t, o.mode ?? 'fan_in');
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0);
  const bound = f === 0 ? 0 : (Math.sqrt(3) * gain) / Math.sqrt(f);
  return uniform_(t, -bound, bound);
}

/** N(0, std²) with std = gain / √fan. */
export function kaimingNormal_(t: Tensor, o: KaimingOptions = {}): Tensor {
  o = kaimingOptions('kaimingNormal_', o);
  const f = fan(t, o.mode ?? 'fan_in');
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0);
  return normal_(t, 0, f === 0 ? 0 : gain / Math.sqrt(f));
}

/**
 * A (semi-)orthogonal matrix (rows × cols = shape[0] × rest), scaled by gain: QR of a normal
 * sample with the sign of R's diagonal folded in, like torch. Runs on the host (init only).
 */
export function orthogonal_(t: Tensor, gain = 1): Tensor {
  if (t.ndim < 2) throw new RangeError(`orthogonal_: only tensors with 2 or more dimensions are supported, got ${fmtShape(t.shape)}`);
  const rows = t.shape[0]!;
  const cols = t.size / rows;
  // work on the tall orientation (n ≥ m), orthonormalise the m columns by modified Gram-Schmidt
  const n = Math.max(rows, cols),
    m = Math.min(rows, cols);
  noGrad(() => normalInto(t, 0, 1, 'orthogonal_'));
  const flat = t.dataSync();
  const a: Float64Array[] = []; // m columns of length n
  for (let j = 0; j < m; j++) {
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) col[i] = rows >= cols ? flat[i * cols + j]! : flat[j * cols + i]!;
    a.push(col);
  }
  for (let j = 0; j < m; j++) {
    const v = a[j]!;
    for (let k = 0; k < j; k++) {
      const q = a[k]!;
      let d = 0;
      for (let i = 0; i < n; i++) d += q[i]! * v[i]!;
      for (let i = 0; i < n; i++) v[i]! -= d * q[i]!;
    }
    let nrm = 0;
    for (let i = 0; i < n; i++) nrm += v[i]! * v[i]!;
    nrm = Math.sqrt(nrm) || 1;
    for (let i = 0; i < n; i++) v[i]! /= nrm;
  }
  const out = new (t.dtype === 'float64' ? Float64Array : Float32Array)(t.size);
  for (let j = 0; j < m; j++)
    for (let i = 0; i < n; i++) {
      const v = gain * a[j]![i]!;
      if (rows >= cols) out[i * cols + j] = v;
      else out[j * cols + i] = v;
    }
  t.backend.upload(t.handle, out, t.dtype);
  return t;
}
