// `wattgrad/models`: the demo models of `wattgrad train`, importable so a checkpoint of the CLI
// loads in a script without rebuilding the model by hand (loadModel). The models: small MNIST classifiers with defaults chosen so that each
// reaches its target accuracy on the embedded 2,000-digit test split in a few minutes on the js
// backend (2 CPU cores). Each returns logits (N, 10) for images (N, 1, 28, 28).

import { Module, Sequential, Flatten, Linear, Conv2d, MaxPool2d, ReLU, Dropout, LSTM } from '../nn/index.js';
import { Adam, CosineAnnealingLR } from '../optim/index.js';
import { reshape, select } from '../ops/index.js';
import { tidy } from '../memory.js';
import type { Tensor } from '../tensor.js';
import type { ModelLike, OptimizerLike, SchedulerLike } from '../train/types.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { load, readSafetensors } from '../io/safetensors.js';
import { checkOptions, didYouMean } from '../options.js';

/** 784 → 256 → 10 with ReLU and dropout 0.2 (softmax lives in crossEntropy). */
export function mnistMlp(): Sequential {
  return new Sequential(new Flatten(), new Linear(784, 256), new ReLU(), new Dropout(0.2), new Linear(256, 10));
}

/** conv 1→16 5×5, ReLU, pool 2; conv 16→32 5×5, ReLU, pool 2; linear 512 → 10. */
export function mnistCnn(): Sequential {
  return new Sequential(
    new Conv2d(1, 16, 5),
    new ReLU(),
    new MaxPool2d(2), // (N, 16, 12, 12)
    new Conv2d(16, 32, 5),
    new ReLU(),
    new MaxPool2d(2), // (N, 32, 4, 4)
    new Flatten(),
    new Linear(32 * 4 * 4, 10),
  );
}

/** Reads an image row by row: 28 steps of 28 features through an LSTM, the last hidden state → linear. */
export class RowLstm extends Module {
  readonly lstm: LSTM;
  readonly head: Linear;
  constructor(readonly hidden = 64) {
    super();
    this.lstm = new LSTM(28, hidden, { batchFirst: true });
    this.head = new Linear(hidden, 10);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const seq = reshape(x, [x.shape[0]!, 28, 28]); // (N, 28 steps, 28 features)
      const [, [hN]] = this.lstm.forward(seq) as [Tensor, [Tensor, Tensor]];
      return this.head.forward(select(hN, 0, hN.shape[0]! - 1)); // hN is (layers, N, hidden): the top layer
    });
  }
}

export interface DemoRun {
  model: ModelLike & Module;
  optimizer: OptimizerLike & { dispose(): void };
  /** stepped once per epoch */
  scheduler: SchedulerLike | null;
  /** clip the gradients' global norm to this before each step (null: no clipping) */
  clipGradNorm: number | null;
}

export interface DemoSpec {
  description: string;
  defaults: { epochs: number; batchSize: number; lr: number };
  /** how the run trains, for the CLI's header line */
  recipe: string;
  /** the model alone, freshly initialised (on cpu) */
  build(): Module;
  create(o: { lr: number; epochs: number; device: string }): DemoRun;
}

// Every demo trains with Adam and a cosine learning-rate decay to 0 over the run (one scheduler
// step per epoch): on these small budgets it is worth about a point of test accuracy over a
// constant rate (measured on the 2,000 test digits, 6 epochs: the LSTM 95.55% → 96.55%).
// Measured defaults (js backend, 2 cores): mnist-cnn 4 epochs 97.85%, mnist-lstm 6 epochs 96.55%,
// mnist-mlp 5 epochs ≥ 95%.
function run(model: Module, o: { lr: number; epochs: number; device: string }, clipGradNorm: number | null = null): DemoRun {
  if (o.device !== 'cpu') model.to(o.device); // before the optimizer, as in PyTorch
  const optimizer = new Adam(model.parameters(), { lr: o.lr });
  const scheduler = new CosineAnnealingLR(optimizer, { tMax: o.epochs });
  return { model: model as ModelLike & Module, optimizer, scheduler, clipGradNorm };
}

export const MODELS = {
  'mnist-mlp': {
    description: 'MLP 784-256-10, ReLU, dropout',
    defaults: { epochs: 5, batchSize: 64, lr: 1e-3 },
    recipe: 'Adam, cosine lr decay',
    build: mnistMlp,
    create: (o) => run(mnistMlp(), o),
  },
  'mnist-cnn': {
    description: 'CNN conv5x5(16)-pool-conv5x5(32)-pool-linear',
    defaults: { epochs: 4, batchSize: 64, lr: 2e-3 },
    recipe: 'Adam, cosine lr decay',
    build: mnistCnn,
    create: (o) => run(mnistCnn(), o),
  },
  'mnist-lstm': {
    description: 'LSTM over 28 rows (hidden 64) + linear',
    defaults: { epochs: 6, batchSize: 64, lr: 3e-3 },
    recipe: 'Adam, cosine lr decay, gradient norm clipped to 1',
    build: () => new RowLstm(64),
    create: (o) => run(new RowLstm(64), o, 1),
  },
} satisfies Record<string, DemoSpec>;

export type DemoModelName = keyof typeof MODELS;

export function modelNames(): DemoModelName[] {
  return Object.keys(MODELS) as DemoModelName[];
}

function checkName(where: string, name: unknown): DemoModelName {
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(MODELS, name)) {
    throw new RangeError(
      `${where}: unknown demo model ${JSON.stringify(name)}${typeof name === 'string' ? didYouMean(name, modelNames()) : ''} (models: ${modelNames().join(', ')})`,
    );
  }
  return name as DemoModelName;
}

/** A freshly initialised demo model by name ('mnist-mlp', 'mnist-cnn', 'mnist-lstm'), on cpu. */
export function createModel(name: DemoModelName): Module {
  return MODELS[checkName('createModel', name)].build();
}

export interface LoadModelOptions {
  /** the demo model to build; default: the one named in the checkpoint (wattgrad train --save records it) */
  name?: DemoModelName;
  /** where the model goes (default cpu) */
  device?: string;
}

/**
 * The demo model of a checkpoint written by `wattgrad train --save` (or saveCheckpoint with
 * extra: { model: name }), built and loaded with its weights:
 *   import { loadModel } from 'wattgrad/models';
 *   const model = loadModel('mnist-cnn.safetensors').eval();
 * Optimizer state and the RNG state in the file are left alone.
 */
export function loadModel(path: string, o: LoadModelOptions = {}): Module {
  checkOptions('loadModel', o, ['name', 'device']);
  let name = o.name;
  if (name === undefined) {
    const md = readSafetensors(path).metadata;
    if (md['wattgrad.checkpoint'] === undefined) {
      throw new TypeError(
        `loadModel: ${path} is not a wattgrad checkpoint; pass { name } to load plain weights into a demo model, or build your model and use load(path) / loadCheckpoint(path, { model })`,
      );
    }
    let extra: unknown;
    try {
      extra = md.extra === undefined ? undefined : JSON.parse(md.extra);
    } catch {
      extra = undefined;
    }
    const n = (extra as { model?: unknown } | undefined)?.model;
    if (n === undefined)
      throw new TypeError(
        `loadModel: ${path} does not say which demo model it holds (no extra.model); pass { name: 'mnist-cnn' } (or another of ${modelNames().join(', ')})`,
      );
    name = checkName(`loadModel: ${path}`, n);
  }
  const model = createModel(name);
  try {
    const md = readSafetensors(path).metadata;
    if (md['wattgrad.checkpoint'] !== undefined) loadCheckpoint(path, { model, restoreRng: false });
    else {
      const sd = load(path);
      try {
        model.loadStateDict(sd);
      } finally {
        for (const t of Object.values(sd)) t.dispose();
      }
    }
    if (o.device !== undefined && o.device !== 'cpu') model.to(o.device);
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}
