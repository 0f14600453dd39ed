// Typed loader for the PyTorch reference fixtures in test/fixtures/*.json.
// The fixtures are written by test/fixtures/make_fixtures.py (see its header for the format and
// how to regenerate); every case carries a "desc" with its exact torch semantics.

import { readFileSync } from 'node:fs';
import type { HostDType, TypedArray } from '../../lib/dtype.js';

/** A tensor in a fixture: flat row-major data. Index tensors say dtype "int32"; all else is float64. */
export interface FixtureTensor {
  shape: number[];
  data: number[];
  dtype?: 'int32';
}

/** What every case has; the per-fixture case types below narrow params and tensors. */
export interface FixtureCaseBase {
  name: string;
  desc: string;
  params: Record<string, unknown>;
  tensors: Record<string, unknown>;
}

export interface Fixture<C extends FixtureCaseBase> {
  name: string;
  desc: string;
  /** torch.__version__ that wrote the file */
  torch: string;
  cases: C[];
}

type Tensors = Record<string, FixtureTensor>;

export interface Conv2dCase extends FixtureCaseBase {
  params: {
    batch: number;
    inC: number;
    inH: number;
    inW: number;
    outC: number;
    kH: number;
    kW: number;
    outH: number;
    outW: number;
    strideH: number;
    strideW: number;
    padH: number;
    padW: number;
    dilationH: number;
    dilationW: number;
    groups: number;
  };
  tensors: Tensors; // x, w, y, dy, dx, dw
}

type IntOrPair = number | [number, number];

export interface Conv2dLayerCase extends FixtureCaseBase {
  params: {
    in_channels: number;
    out_channels: number;
    kernel_size: [number, number];
    stride: IntOrPair;
    padding: IntOrPair;
    dilation: IntOrPair;
    groups: number;
    bias: boolean;
  };
  state: { weight: FixtureTensor; bias: FixtureTensor };
  tensors: Tensors; // x, y, dy, dx
  grads: { weight: FixtureTensor; bias: FixtureTensor };
}

export interface PoolCase extends FixtureCaseBase {
  op: 'max_pool2d' | 'avg_pool2d' | 'adaptive_avg_pool2d';
  /** Pool2dParams (+ ceilMode) for max/avg; batch, channels, inH, inW, outH, outW for adaptive. */
  params: {
    batch: number;
    channels: number;
    inH: number;
    inW: number;
    outH: number;
    outW: number;
    kH?: number;
    kW?: number;
    strideH?: number;
    strideW?: number;
    padH?: number;
    padW?: number;
    dilationH?: number;
    dilationW?: number;
    countIncludePad?: boolean;
    ceilMode?: boolean;
  };
  tensors: Tensors; // x, y, dy, dx (+ argmax int32 for max)
}

export interface RnnCellCase extends FixtureCaseBase {
  cell: 'lstm' | 'gru' | 'rnn_tanh' | 'rnn_relu';
  params: { batch: number; input: number; hidden: number; hasDc?: boolean };
  /** cell state_dict: weight_ih, weight_hh, bias_ih, bias_hh */
  state: Tensors;
  tensors: Tensors;
  grads: Tensors;
}

export interface RnnModuleCase extends FixtureCaseBase {
  mode: 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';
  params: {
    mode: 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';
    inputSize: number;
    hiddenSize: number;
    numLayers: number;
    batchFirst: boolean;
    bidirectional: boolean;
    batch: number;
    seqLen: number;
    initialState: boolean;
  };
  /** module state_dict with torch keys (weight_ih_l0, ..., *_reverse) */
  state: Tensors;
  tensors: Tensors; // input, output, h_n, (c_n), doutput, dh_n, (dc_n), dinput, (h0, dh0, c0, dc0)
  grads: Tensors;
}

export interface SoftmaxCase extends FixtureCaseBase {
  op: 'softmax' | 'log_softmax';
  params: { dim: number; log: boolean };
  tensors: Tensors; // x, y, dy, dx
}

export interface LossCase extends FixtureCaseBase {
  op: 'cross_entropy' | 'nll_loss' | 'binary_cross_entropy' | 'binary_cross_entropy_with_logits' | 'mse_loss';
  params: {
    reduction: 'none' | 'mean' | 'sum';
    labelSmoothing?: number;
    ignoreIndex?: number;
    rows?: number;
    cols?: number;
    nValid?: number;
  };
  tensors: Tensors;
}

export interface NormCase extends FixtureCaseBase {
  op: 'batch_norm' | 'layer_norm';
  params: {
    eps: number;
    affine: boolean;
    // batch_norm
    training?: boolean;
    momentum?: number;
    trackRunningStats?: boolean;
    n?: number;
    c?: number;
    hw?: number;
    // layer_norm
    normalizedShape?: number[];
    rows?: number;
    cols?: number;
  };
  tensors: Tensors;
}

export interface ActivationCase extends FixtureCaseBase {
  op: 'gelu' | 'gelu_tanh' | 'silu' | 'softplus' | 'elu' | 'leaky_relu' | 'relu' | 'tanh' | 'sigmoid';
  params: { op: ActivationCase['op']; a: number; b: number };
  tensors: Tensors; // x, y, dy, dx
}

export interface EmbeddingCase extends FixtureCaseBase {
  params: { numEmbeddings: number; embeddingDim: number; paddingIdx: number | null };
  tensors: Tensors; // weight, indices (int32), y, dy, dweight
}

export interface OptimStep {
  params: FixtureTensor[];
  momentum_buffer?: FixtureTensor[];
  exp_avg?: FixtureTensor[];
  exp_avg_sq?: FixtureTensor[];
  max_exp_avg_sq?: FixtureTensor[];
  square_avg?: FixtureTensor[];
  grad_avg?: FixtureTensor[];
  sum?: FixtureTensor[];
}

export interface OptimCase extends FixtureCaseBase {
  optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
  /** torch's optimizer defaults for this case (key names as torch spells them) */
  params: {
    optimizer: 'SGD' | 'Adam' | 'AdamW' | 'RMSprop' | 'Adagrad';
    lr: number;
    weight_decay: number;
    maximize: boolean;
    momentum?: number;
    dampening?: number;
    nesterov?: boolean;
    betas?: [number, number];
    eps?: number;
    amsgrad?: boolean;
    alpha?: number;
    centered?: boolean;
    lr_decay?: number;
    initial_accumulator_value?: number;
  };
  tensors: { params0: FixtureTensor[]; grads: FixtureTensor[][] };
  steps: OptimStep[];
}

export interface FixtureMap {
  conv2d: Conv2dCase;
  conv2d_layer: Conv2dLayerCase;
  pool2d: PoolCase;
  rnn_cells: RnnCellCase;
  rnn_modules: RnnModuleCase;
  /** written by test/fixtures/make_packed_rnn.py: rnn_modules over pack_padded_sequence */
  rnn_packed: RnnModuleCase & { params: RnnModuleCase['params'] & { lengths: number[] } };
  softmax: SoftmaxCase;
  losses: LossCase;
  norm: NormCase;
  activations: ActivationCase;
  embedding: EmbeddingCase;
  optim: OptimCase;
  schedulers: SchedulerCase;
}

export interface SchedulerCase extends FixtureCaseBase {
  scheduler: 'OneCycleLR' | 'ReduceLROnPlateau' | 'ExponentialLR';
  optimizer: 'SGD' | 'Adam';
  /** the optimizer's lr and options, then the scheduler's keyword arguments as torch spells them */
  params: Record<string, number | string | boolean>;
  tensors: Record<string, never>;
  /** the first group's lr at each point (see desc) */
  lrs: number[];
  /** ReduceLROnPlateau: the metric passed to step() before lrs[i] */
  metrics?: number[];
  /** OneCycleLR: momentum (SGD) or betas[0] (Adam) beside each lr; null without momentum cycling */
  momentum?: number[] | null;
}

export type FixtureName = keyof FixtureMap;

export const FIXTURE_NAMES: readonly FixtureName[] = [
  'conv2d',
  'conv2d_layer',
  'pool2d',
  'rnn_cells',
  'rnn_modules',
  'rnn_packed',
  'softmax',
  'losses',
  'norm',
  'activations',
  'embedding',
  'optim',
  'schedulers',
];

const cache = new Map<string, unknown>();

/** Loads test/fixtures/<name>.json (parsed once per process). */
export function loadFixture<N extends FixtureName>(name: N): Fixture<FixtureMap[N]> {
  let f = cache.get(name);
  if (f === undefined) {
    const url = new URL(`../fixtures/${name}.json`, import.meta.url);
    f = JSON.parse(readFileSync(url, 'utf8')) as unknown;
    cache.set(name, f);
  }
  return f as Fixture<FixtureMap[N]>;
}

/** The named tensor of a case; throws naming the case when it is missing. */
export function tensorOf(c: { name: string; tensors: Record<string, unknown> }, key: string): FixtureTensor {
  const t = c.tensors[key] as FixtureTensor | undefined;
  if (t === undefined || !Array.isArray(t.shape)) throw new Error(`fixture case ${c.name}: no tensor "${key}"`);
  return t;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

/** The fixture data as a host typed array: int32 tensors as Int32Array, floats in `dtype`. */
export function toTyped(t: FixtureTensor, dtype: HostDType = 'float64'): TypedArray {
  if (t.dtype === 'int32') return Int32Array.from(t.data);
  return dtype === 'float32' ? Float32Array.from(t.data) : Float64Array.from(t.data);
}

export interface CloseResult {
  ok: boolean;
  /** max |actual - expected| */
  maxAbs: number;
  /** max |actual - expected| / max(|expected|, tiny) over the entries */
  maxRel: number;
  /** max |expected| (the scale atol is taken from) */
  scale: number;
  /** the worst entry (by excess over its tolerance) */
  worst: number;
  message: string;
}

/**
 * Elementwise |a - e| <= rtol·|e| + atol with atol = rtol·max(1e-3, max|e|) (so entries that
 * cancel to ~0 are judged against the tensor's scale). NaN / length mismatch fail.
 */
export function compareClose(
  label: string,
  actual: ArrayLike<number>,
  expected: FixtureTensor | ArrayLike<number>,
  rtol: number,
): CloseResult {
  const e: ArrayLike<number> = 'data' in expected ? expected.data : expected;
  if (actual.length !== e.length) {
    return {
      ok: false,
      maxAbs: Infinity,
      maxRel: Infinity,
      scale: NaN,
      worst: -1,
      message: `${label}: length ${actual.length}, expected ${e.length}`,
    };
  }
  let scale = 0;
  for (let i = 0; i < e.length; i++) scale = Math.max(scale, Math.abs(e[i]!));
  const atol = rtol * Math.max(1e-3, scale);
  let maxAbs = 0,
    maxRel = 0,
    worst = -1,
    worstExcess = -Infinity,
    ok = true;
  for (let i = 0; i < e.length; i++) {
    const a = actual[i]!,
      x = e[i]!;
    const d = Math.abs(a - x);
    if (!(d <= rtol * Math.abs(x) + atol)) ok = false; // also catches NaN
    const excess = Number.isNaN(d) ? Infinity : d - (rtol * Math.abs(x) + atol);
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
    if (Number.isNaN(d)) {
      maxAbs = NaN;
      maxRel = NaN;
      continue;
    }
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(x), 1e-300));
  }
  const message = ok
    ? `${label}: ok (max abs err ${maxAbs.toExponential(2)})`
    : `${label}: max abs err ${maxAbs}, max rel err ${maxRel}, worst at [${worst}]: got ${actual[worst]}, ` +
      `expected ${e[worst]} (rtol ${rtol}, atol ${atol.toExponential(2)}, ${e.length} elements)`;
  return { ok, maxAbs, maxRel, scale, worst, message };
}

/** Exact comparison for int tensors (argmax). */
export function compareExact(label: string, actual: ArrayLike<number>, expected: FixtureTensor | ArrayLike<number>): CloseResult {
  const e: ArrayLike<number> = 'data' in expected ? expected.data : expected;
  let bad = 0,
    first = -1;
  if (actual.length !== e.length) {
    return {
      ok: false,
      maxAbs: Infinity,
      maxRel: Infinity,
      scale: NaN,
      worst: -1,
      message: `${label}: length ${actual.length}, expected ${e.length}`,
    };
  }
  for (let i = 0; i < e.length; i++)
    if (actual[i] !== e[i]) {
      bad++;
      if (first < 0) first = i;
    }
  const ok = bad === 0;
  return {
    ok,
    maxAbs: ok ? 0 : Infinity,
    maxRel: ok ? 0 : Infinity,
    scale: NaN,
    worst: first,
    message: ok
      ? `${label}: exact`
      : `${label}: ${bad} of ${e.length} differ, first at [${first}]: got ${actual[first]}, expected ${e[first]}`,
  };
}
