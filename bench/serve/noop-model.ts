// BENCH ONLY — a stand-in for the MNIST CNN whose forward is (nearly) free, to measure the serving
// ceiling: everything `serve` does per request (HTTP, body parse and validation, batching, the
// worker round trip, the energy meter, the response) except the model's arithmetic. Same input
// (N, 1, 28, 28) and output (N, 10) shapes as mnistCnn; forward is a view of each row's first ten
// inputs and one 10-float copy. No weights (serve it without --weights).
//
// It imports nothing from lib at run time on purpose: the worker loads it beside the lib copy the
// server runs (dist/), and a second copy of lib in one thread would be a second backend registry.

import type { Tensor } from '../../lib/tensor.js';

export class NoopCnn {
  training = false;
  forward(x: Tensor): Tensor {
    return x.reshape([x.shape[0]!, 784]).narrow(1, 0, 10);
  }
  *parameters(): Iterable<Tensor> {}
  train(mode = true): this {
    this.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  stateDict(): Record<string, Tensor> {
    return {};
  }
  loadStateDict(): void {
    throw new Error('noopCnn (bench only) has no weights: serve it without --weights');
  }
}

export function noopCnn(): NoopCnn {
  return new NoopCnn();
}
