// The two MNIST models of the end-to-end benchmark, written with the library's ops so that the
// same architecture can be written identically in tfjs (bench/peers/tfjs.ts) and PyTorch
// (bench/peers/torch_ops.py):
//   MLP: 784 → 256 → ReLU → 128 → ReLU → 10
//   CNN: conv 1→16 5×5 pad 2, ReLU, maxpool 2 → conv 16→32 5×5 pad 2, ReLU, maxpool 2 → linear 1568 → 10
// Loss: cross-entropy (mean). Optimizer: Adam, lr 1e-3 (the fused adamStep op).
// Batch 64 on the GPU, 32 on the js backend (tfjs's CPU CNN step takes ~minutes at 64: its
// conv2d filter gradient is a generic-accessor loop), 4 in --quick mode.
// Init: uniform ±1/√fan_in (torch's default scale for Linear/Conv2d biases and close for weights).

import { linear } from '../../lib/ops/matmul.js';
import { conv2d, maxPool2d } from '../../lib/ops/conv.js';
import { relu } from '../../lib/ops/elementwise.js';
import { reshape } from '../../lib/ops/shape.js';
import { crossEntropy } from '../../lib/ops/loss.js';
import { adamStep } from '../../lib/ops/optim.js';
import { zerosLike } from '../../lib/ops/creation.js';
import { tidy } from '../../lib/memory.js';
import type { Tensor } from '../../lib/tensor.js';
import type { BenchContext } from '../lib/types.js';
import { disposeAll, randTensor } from '../lib/util.js';

export type ModelName = 'mlp' | 'cnn';
export const BATCH = 64;
export const CPU_BATCH = 32;
export const QUICK_BATCH = 4;

export function e2eBatch(ctx: { backend: string; quick: boolean }): number {
  return ctx.quick ? QUICK_BATCH : ctx.backend === 'js' ? CPU_BATCH : BATCH;
}

/** Parameter shapes in a fixed order (the peers use the same order and shapes). */
export function paramShapes(model: ModelName): number[][] {
  if (model === 'mlp') return [[256, 784], [256], [128, 256], [128], [10, 128], [10]];
  return [[16, 1, 5, 5], [16], [32, 16, 5, 5], [32], [10, 1568], [10]];
}

const fanIn = (s: number[], all: number[][], i: number): number =>
  s.length === 1 ? all[i - 1]!.slice(1).reduce((a, b) => a * b, 1) : s.slice(1).reduce((a, b) => a * b, 1);

export interface Model {
  name: ModelName;
  params: Tensor[];
  forward(x: Tensor): Tensor;
  /** input shape of one batch */
  inputShape(batch: number): number[];
}

export function makeModel(ctx: BenchContext, name: ModelName): Model {
  const shapes = paramShapes(name);
  const params = shapes.map((s, i) => {
    const a = 1 / Math.sqrt(fanIn(s, shapes, i));
    return randTensor(ctx, s, 'float32', 101 + i, -a, a).requiresGrad_();
  });
  return modelFromParams(name, params);
}

/** The model's forward over given parameters (in paramShapes order). */
export function modelFromParams(name: ModelName, params: Tensor[]): Model {
  const [w1, b1, w2, b2, w3, b3] = params as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
  if (name === 'mlp') {
    return {
      name,
      params,
      inputShape: (b) => [b, 784],
      forward: (x) => linear(relu(linear(relu(linear(x, w1, b1)), w2, b2)), w3, b3),
    };
  }
  return {
    name,
    params,
    inputShape: (b) => [b, 1, 28, 28],
    forward: (x) => {
      const h1 = maxPool2d(relu(conv2d(x, w1, b1, { padding: 2 })), 2);
      const h2 = maxPool2d(relu(conv2d(h1, w2, b2, { padding: 2 })), 2);
      return linear(reshape(h2, [x.shape[0]!, 1568]), w3, b3);
    },
  };
}

/** Adam state and one training step: forward, cross-entropy, backward, fused Adam update. */
export function makeTrainer(model: Model): { step(x: Tensor, y: Tensor): void; dispose(): void } {
  const m = model.params.map((p) => zerosLike(p));
  const v = model.params.map((p) => zerosLike(p));
  let t = 0;
  return {
    step(x, y) {
      tidy(() => {
        const loss = crossEntropy(model.forward(x), y);
        loss.backward();
      });
      t++;
      const grads = model.params.map((p) => p.grad!);
      adamStep(model.params, grads, m, v, null, {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
        weightDecay: 0,
        decoupled: false,
        amsgrad: false,
        maximize: false,
        step: t,
      });
      for (const p of model.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    },
    dispose() {
      disposeAll([...m, ...v]);
    },
  };
}
