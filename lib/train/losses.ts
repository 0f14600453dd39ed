// Losses by name for fit() / evaluate(), with PyTorch's semantics and Keras' names as aliases, and
// the check that catches a softmax applied twice.
//
//   name (aliases)                                        function        expects
//   crossEntropy (cross_entropy, sparse_categorical_crossentropy, categorical_crossentropy)
//                                                         crossEntropy    logits (fromLogits: false → probabilities)
//   nll (nll_loss, nllLoss)                               nllLoss         log-probabilities (after nn.LogSoftmax)
//   bce (binary_crossentropy, binaryCrossEntropy)         binaryCrossEntropy   probabilities (after nn.Sigmoid)
//   bceWithLogits (binary_crossentropy_with_logits)       bceWithLogits   logits
//   mse (mean_squared_error, mseLoss)                     mseLoss         values
//   l1 (mae, mean_absolute_error, l1Loss)                 l1Loss          values
//   huber (huber_loss, huberLoss)                         huberLoss       values
//
// The Keras names are aliases of the PyTorch losses, so 'sparse_categorical_crossentropy' expects
// logits like crossEntropy (Keras' own default is from_logits=False). A model whose last layer is
// nn.Softmax therefore either drops the Softmax (best: log-softmax inside the loss is stabler) or
// says what it feeds: loss { name: 'crossEntropy', fromLogits: false }. fit() warns once per
// process when the model's last module contradicts the loss (Softmax before a logits loss or
// before 'nll', Sigmoid before bceWithLogits, LogSoftmax before a probabilities loss). LogSoftmax
// before crossEntropy is not flagged: log_softmax is idempotent, so the loss and its gradients
// equal those of 'nll' exactly.

import { binaryCrossEntropy, bceWithLogits, crossEntropy, huberLoss, l1Loss, mseLoss, nllLoss } from '../ops/index.js';
import type { Reduction } from '../ops/index.js';
import { checkOptions, didYouMean, type OptionKeys } from '../options.js';
import type { Tensor } from '../tensor.js';
import { LogSoftmax, Sequential, Sigmoid, Softmax } from '../nn/index.js';

export type LossFn = (output: Tensor, target: Tensor) => Tensor;

export type LossName =
  | 'crossEntropy'
  | 'cross_entropy'
  | 'sparse_categorical_crossentropy'
  | 'categorical_crossentropy'
  | 'nll'
  | 'nll_loss'
  | 'nllLoss'
  | 'bce'
  | 'binary_crossentropy'
  | 'binaryCrossEntropy'
  | 'bceWithLogits'
  | 'binary_crossentropy_with_logits'
  | 'mse'
  | 'mean_squared_error'
  | 'mseLoss'
  | 'l1'
  | 'mae'
  | 'mean_absolute_error'
  | 'l1Loss'
  | 'huber'
  | 'huber_loss'
  | 'huberLoss';

/** A named loss with options: { name: 'crossEntropy', fromLogits: false, labelSmoothing: 0.1 }. */
export interface LossConfig {
  name: LossName;
  reduction?: Reduction;
  /** crossEntropy: false when the model outputs probabilities */
  fromLogits?: boolean;
  /** crossEntropy */
  labelSmoothing?: number;
  /** crossEntropy, nll */
  ignoreIndex?: number;
  /** huber */
  delta?: number;
}

export type LossSpec = LossName | LossConfig | LossFn;

/** What a loss wants from the model: raw scores, probabilities, log-probabilities or any values. */
export type LossInput = 'logits' | 'probabilities' | 'logProbabilities' | 'values' | 'unknown';

export interface ResolvedLoss {
  fn: LossFn;
  /** the canonical name ('crossEntropy', …) or 'custom' */
  name: string;
  input: LossInput;
}

type Canonical = 'crossEntropy' | 'nll' | 'bce' | 'bceWithLogits' | 'mse' | 'l1' | 'huber';

const ALIASES: Record<LossName, Canonical> = {
  crossEntropy: 'crossEntropy',
  cross_entropy: 'crossEntropy',
  sparse_categorical_crossentropy: 'crossEntropy',
  categorical_crossentropy: 'crossEntropy',
  nll: 'nll',
  nll_loss: 'nll',
  nllLoss: 'nll',
  bce: 'bce',
  binary_crossentropy: 'bce',
  binaryCrossEntropy: 'bce',
  bceWithLogits: 'bceWithLogits',
  binary_crossentropy_with_logits: 'bceWithLogits',
  mse: 'mse',
  mean_squared_error: 'mse',
  mseLoss: 'mse',
  l1: 'l1',
  mae: 'l1',
  mean_absolute_error: 'l1',
  l1Loss: 'l1',
  huber: 'huber',
  huber_loss: 'huber',
  huberLoss: 'huber',
};
const NAMES = Object.keys(ALIASES);

const CONFIG_KEYS: OptionKeys<LossConfig> = {
  name: true,
  reduction: true,
  fromLogits: true,
  labelSmoothing: true,
  ignoreIndex: true,
  delta: true,
};
/** the option keys each loss takes besides name and reduction */
const TAKES: Record<Canonical, readonly (keyof LossConfig)[]> = {
  crossEntropy: ['fromLogits', 'labelSmoothing', 'ignoreIndex'],
  nll: ['ignoreIndex'],
  bce: [],
  bceWithLogits: [],
  mse: [],
  l1: [],
  huber: ['delta'],
};

function canonical(where: string, name: unknown): Canonical {
  // own names only: 'toString' or 'constructor' must not find Object.prototype's
  const c = typeof name === 'string' && Object.prototype.hasOwnProperty.call(ALIASES, name) ? ALIASES[name as LossName] : undefined;
  if (!c) {
    throw new RangeError(
      `${where}: unknown loss '${String(name)}'${typeof name === 'string' ? didYouMean(name, NAMES) : ''} (or pass a function (output, target) => scalar tensor)`,
    );
  }
  return c;
}

/** A loss function from a name, a { name, …options } object or a function. */
export function resolveLossSpec(l: LossSpec | undefined, where = 'fit'): ResolvedLoss {
  if (typeof l === 'function') return { fn: l, name: 'custom', input: 'unknown' };
  if (l === undefined) l = 'crossEntropy';
  let cfg: LossConfig;
  if (typeof l === 'string') cfg = { name: l };
  else if (l && typeof l === 'object') cfg = checkOptions(`${where}: loss`, l, CONFIG_KEYS);
  else
    throw new TypeError(
      `${where}: loss must be a name such as 'crossEntropy', a { name, ... } object or a function, got ${l === null ? 'null' : typeof l}`,
    );
  const c = canonical(where, cfg.name);
  for (const k of Object.keys(cfg) as (keyof LossConfig)[]) {
    if (k !== 'name' && k !== 'reduction' && !TAKES[c].includes(k))
      throw new TypeError(`${where}: loss '${cfg.name}' takes no option '${k}'`);
  }
  const r = cfg.reduction;
  switch (c) {
    case 'crossEntropy': {
      const o = { reduction: r, fromLogits: cfg.fromLogits, labelSmoothing: cfg.labelSmoothing, ignoreIndex: cfg.ignoreIndex };
      return { fn: (x, y) => crossEntropy(x, y, o), name: c, input: cfg.fromLogits === false ? 'probabilities' : 'logits' };
    }
    case 'nll':
      return { fn: (x, y) => nllLoss(x, y, { reduction: r, ignoreIndex: cfg.ignoreIndex }), name: c, input: 'logProbabilities' };
    case 'bce':
      return { fn: (x, y) => binaryCrossEntropy(x, y, { reduction: r }), name: c, input: 'probabilities' };
    case 'bceWithLogits':
      return { fn: (x, y) => bceWithLogits(x, y, { reduction: r }), name: c, input: 'logits' };
    case 'mse':
      return { fn: (x, y) => mseLoss(x, y, { reduction: r }), name: c, input: 'values' };
    case 'l1':
      return { fn: (x, y) => l1Loss(x, y, { reduction: r }), name: c, input: 'values' };
    case 'huber':
      return { fn: (x, y) => huberLoss(x, y, { reduction: r, delta: cfg.delta }), name: c, input: 'values' };
  }
}

/** The loss function of a spec (a name, a { name, … } object, or a function). */
export function resolveLoss(l: LossSpec | undefined): LossFn {
  return resolveLossSpec(l).fn;
}

// ---- last layer vs loss -------------------------------------------------------------------------

/** The module a model's output comes from: the last of a Sequential (recursively), else the model. */
export function outputModule(model: unknown): 'Softmax' | 'LogSoftmax' | 'Sigmoid' | 'other' {
  let m = model;
  for (let depth = 0; m instanceof Sequential && m.length > 0 && depth < 64; depth++) m = m.at(-1);
  if (m instanceof Softmax) return 'Softmax';
  if (m instanceof LogSoftmax) return 'LogSoftmax';
  if (m instanceof Sigmoid) return 'Sigmoid';
  return 'other';
}

const warned = new Set<string>();

/** Forget the warnings given (tests). */
export function resetLossWarnings(): void {
  warned.clear();
}

/** The mismatch between the model's last module and what the loss expects, or null. */
export function lossMismatch(last: ReturnType<typeof outputModule>, loss: ResolvedLoss): string | null {
  const name = `loss '${loss.name}'`;
  if (last === 'Softmax' && loss.input === 'logits' && loss.name === 'crossEntropy') {
    return (
      `the model ends in nn.Softmax but ${name} expects logits and applies log-softmax itself, so softmax runs twice and training is slower and worse. ` +
      "Remove the final Softmax (and apply softmax only to read probabilities), or say the model outputs probabilities: loss: { name: 'crossEntropy', fromLogits: false }"
    );
  }
  if (last === 'Softmax' && loss.input === 'logits') {
    return `the model ends in nn.Softmax but ${name} expects logits (it applies the sigmoid itself); remove the final Softmax, or use loss 'bce' for probabilities`;
  }
  if (last === 'Softmax' && loss.input === 'logProbabilities') {
    return `the model ends in nn.Softmax but ${name} expects log-probabilities; end in nn.LogSoftmax, or use loss: { name: 'crossEntropy', fromLogits: false }`;
  }
  if (last === 'Sigmoid' && loss.input === 'logits') {
    return `the model ends in nn.Sigmoid but ${name} expects logits and applies the sigmoid itself (twice now); remove the final Sigmoid, or use loss 'bce' for probabilities`;
  }
  if (last === 'LogSoftmax' && loss.input === 'probabilities') {
    return `the model ends in nn.LogSoftmax but ${name} expects probabilities; use loss 'nll' (or 'crossEntropy', which takes logits or log-probabilities alike)`;
  }
  return null;
}

/** Warns once per process (per message) when the model's last module contradicts the loss. */
export function warnLossMismatch(where: string, model: unknown, loss: ResolvedLoss): string | null {
  const msg = lossMismatch(outputModule(model), loss);
  if (msg && !warned.has(msg)) {
    warned.add(msg);
    console.warn(`wattgrad ${where}: ${msg}`);
  }
  return msg;
}
