// int8 (dynamic quantization, js qgemm) vs fp32 inference latency of the MNIST MLP (784-256-10).
//
//   npx tsc -p tsconfig.bench.json && WATTGRAD_CPU_KERNELS=js node dist-bench/bench/quant/int8-mlp.js [batch] [reps]
//
// Both models have the same weights; inputs are fresh random normal batches (rotated, 8 of them);
// each timed call is one forward under noGrad including the read-back of the logits. Prints the
// medians and p95 in ms, and the ratio. The int8 path runs the kernel installed with
// quantization.setQgemmKernel (the js reference unless a native one is installed): it quantizes
// the batch on the host, runs integer loops in JS and dequantizes; the fp32 path runs the js
// backend's blocked matmul (or the native CPU kernels when the addon carries them and
// WATTGRAD_CPU_KERNELS is not 'js'). The speed target (int8 ≥ 1.5× faster) is for native
// int8 kernels; this measures where the js reference stands.
//
// Measured 2026-12-01, AMD EPYC, 2 cores shared with other jobs, no native addon (fp32 = pure js),
// batch 64, medians of 800: fp32 4.4 ms vs int8 6.2 ms (quiet), 8.5 vs 10.9 ms (loaded): the js int8
// path runs at 0.72-0.79x the speed of fp32 js (it was 0.29x before the 4x2 register tile).

import { manualSeed, noGrad, randn, tidy, quantization, type Tensor } from '../../lib/index.js';
import { mnistMlp } from '../../lib/models/index.js';

const batch = Number(process.argv[2] ?? 64);
const reps = Number(process.argv[3] ?? 200);

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

manualSeed(0);
const model = mnistMlp().eval();
const q = quantization.quantizeDynamic(model);
const inputs = Array.from({ length: 8 }, () => randn([batch, 1, 28, 28]));

function time(m: { forward(x: Tensor): Tensor }): number[] {
  const ts: number[] = [];
  for (let i = 0; i < reps + 20; i++) {
    const x = inputs[i % inputs.length]!;
    const t0 = performance.now();
    noGrad(() => tidy(() => m.forward(x).dataSync()));
    const dt = performance.now() - t0;
    if (i >= 20) ts.push(dt); // warm-up: JIT and caches
  }
  return ts;
}

// interleave the two so that machine noise hits both alike
const f: number[] = [],
  i8: number[] = [];
for (let round = 0; round < 4; round++) {
  f.push(...time(model));
  i8.push(...time(q));
}
const mf = quantile(f, 0.5),
  mq = quantile(i8, 0.5);
const out = {
  batch,
  reps: f.length,
  kernel: quantization.qgemmKernelName(),
  cpuKernels: process.env.WATTGRAD_CPU_KERNELS ?? '(default)',
  fp32: { p50Ms: +mf.toFixed(3), p95Ms: +quantile(f, 0.95).toFixed(3) },
  int8: { p50Ms: +mq.toFixed(3), p95Ms: +quantile(i8, 0.95).toFixed(3) },
  int8SpeedupP50: +(mf / mq).toFixed(3),
};
console.log(JSON.stringify(out, null, 2));
