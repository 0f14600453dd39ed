// Inference alone, no serving: CPU time per sample of the served models' forward (noGrad, tidy,
// the input tensor built from a Float32Array and the output read back, as the server's ModelRunner
// does) at several batch sizes. bench:serve runs it in its own process with the server's
// WATTGRAD_NUM_THREADS and prints it beside the HTTP runs: the batch-1 / batched ratio is the most
// batching can give a model on a CPU-bound machine even if HTTP, parsing and the client were free.
//
//   node dist-bench/bench/serve/inference.js   → one JSON line {"mnist-cnn": {"1": ms, "4": ms, …}, "mnist-lstm": {…}}

import { noGrad } from '../../lib/autograd/mode.js';
import { tidy } from '../../lib/memory.js';
import { tensor } from '../../lib/ops/index.js';
import { mnistCnn, RowLstm } from '../../lib/models/index.js';
import { manualSeed } from '../../lib/random.js';
import type { Tensor } from '../../lib/tensor.js';
import type { Module } from '../../lib/nn/module.js';

export const INFERENCE_BATCHES = [1, 4, 16, 32, 64];

function cpuMsPerSample(model: Module, batch: number): number {
  const x = Float32Array.from({ length: batch * 784 }, (_, i) => ((i * 7919) % 97) / 97);
  const once = (): void => {
    noGrad(() => tidy(() => (model.forward(tensor(x, { shape: [batch, 1, 28, 28] })) as Tensor).dataSync()));
  };
  for (let i = 0; i < 20; i++) once(); // JIT, kernel plans
  const n = Math.max(20, Math.round(3000 / batch));
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) once();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / (n * batch);
}

manualSeed(0);
const out: Record<string, Record<string, number>> = {};
for (const [name, model] of [
  ['mnist-cnn', mnistCnn()],
  ['mnist-lstm', new RowLstm(64)],
] as const) {
  model.eval();
  out[name] = Object.fromEntries(INFERENCE_BATCHES.map((b) => [String(b), cpuMsPerSample(model, b)]));
  model.dispose();
}
process.stdout.write(JSON.stringify(out) + '\n');
