// Native CPU inference speed of static (and dynamic) int8 against fp32 for the MNIST MLP and CNN.
//
//   npx tsc -p tsconfig.bench.json && WATTGRAD_NATIVE=$PWD/build/int8/Release/wattgrad.node \
//     node dist-bench/bench/quant/int8-static.js [batches=64,256] [reps=60]
//
// Same weights (untrained: speed does not depend on them), static models calibrated on 4 random
// batches; each timed call is one forward under noGrad including the read-back of the logits.
// fp32 runs the addon's native sgemm (matmul, and conv2d through it); int8 runs cpuQgemmU8S8S32
// (VNNI / AVX2, see native/cpu/qgemm.h) when the addon has it, else qgemmJs. The rounds of the
// models are interleaved so machine noise hits all alike; the load average is printed with the
// figures (the machine is shared). Prints p50 / p95 ms and the fp32 / int8 ratio of the p50s.
//
// Measured 2026-12-01 ~13:42 UTC, AMD EPYC (AVX-512 VNNI), 2 cores shared with ~8 other jobs (load
// average 6.8-7.4), p50 of 40 calls, before (commit cf028e7^ with its addon) and after (helper M's
// fused dynamic entry, direct int8 conv for few taps, reused input buffers) run alternately, twice
// (speedup = fp32 / int8, same run):
//                    before (two runs)            after (two runs)
//   MLP  batch 64:   static 1.67x / 2.21x         static 2.22x / 2.21x
//                    dynamic 0.87x / 0.54x        dynamic 2.10x / 2.00x
//   MLP  batch 256:  static 1.69x / 1.53x         static 2.16x / 2.15x
//                    dynamic 0.78x / 0.28x        dynamic 1.98x / 1.96x
//   CNN  batch 64:   static 1.02x / 1.17x         static 1.26x / 1.25x
//   CNN  batch 256:  static 0.98x / 1.00x         static 1.43x / 1.43x
// The CNN was then short of 1.5x: perf showed the float MaxPool2d between the int8 convs (~22% of
// the int8 forward, shared with fp32) and the thread pool's wait (~22%) ahead of the int8 kernels
// (conv2's GEMM packing ~11%, conv1 direct ~10%, the VNNI dot ~4%).
//
// Measured 2026-12-01 ~15:48 UTC, same machine (load average 4.9-5.1), after: convert fuses each
// MaxPool2d between two int8 layers into the conv before it (conv → pool → requantize per image in
// cache, lib/quantization/qpool.ts), int8 convs with output channels as lanes and no im2col
// (native/cpu/qconv_wide_vnni.cc), maxPool2d without argmax under noGrad, the int8 head GEMM on the
// calling thread. Meanwhile the fp32 conv got much faster (direct kernels), so the "before" ratio
// fell from 1.26-1.43x to ~0.9-1.0x. Median per-forward process CPU time and wall time, fp32 and
// int8 interleaved in one process (fp32 / int8 ms), before = tree at 110f88f with its addon, after =
// tree at 09cb719, CNN only:
//                        before                      after
//   batch 64,  1 thread:  0.97x (1.38 / 1.42 CPU)     1.99x (0.92 / 0.46 CPU)
//   batch 64,  2 threads: 1.00x wall, 0.88x CPU        2.04x wall (0.84 / 0.41), 2.17x CPU
//   batch 256, 1 thread:  0.94x (6.67 / 7.08 CPU)     2.23x (4.35 / 1.95 CPU)
//   batch 256, 2 threads: 1.05x wall, 1.03x CPU        2.52x wall (6.27 / 2.49), 2.43x CPU
// This script at 09cb719^ (2 threads, wall p50): 2.01x at b64, 2.90x at b256; npm run bench -- --op
// int8 (bench/quant/model-cases.ts): 1.67x / 1.71x in a noisier run. The pool threads: two
// ParallelFor calls per int8 forward now (the conv chains; the head runs inline), the idle workers'
// spin after each job ~8% of the samples (was ~19%); on this loaded box 2 threads are at times slower
// than 1 in wall time (a descheduled worker holds its claimed task), for fp32 as well.
// The kernels alone (npm run bench -- --op int8, same machine): qgemm 64x256x784 50.8 µs vs fp32
// 139.3 µs (2.7x), dynamic Linear incl. min/max + quantize 60.8 µs (2.3x); conv 16->32 k5 on 12x12
// 0.79 ms vs 1.17 ms (1.5x); conv 1->16 k5 on 28x28 0.43-0.65 ms vs 0.33 ms (0.5-0.8x, was 0.16x: it
// runs direct now, 16 output pixels per vpdpbusd lane group, see native/cpu/qgemm_conv_vnni.cc).

import os from 'node:os';
import { manualSeed, noGrad, randn, tidy, quantization, type Tensor } from '../../lib/index.js';
import { cpuKernelsInfo } from '../../lib/backend/js/native-cpu.js';
import { mnistCnn, mnistMlp } from '../../lib/models/index.js';

const batches = (process.argv[2] ?? '64,256').split(',').map(Number);
const reps = Number(process.argv[3] ?? 60);

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

type Fwd = { forward(x: Tensor): Tensor };
function time(m: Fwd, inputs: Tensor[], n: number, warm: number): number[] {
  const ts: number[] = [];
  for (let i = 0; i < n + warm; i++) {
    const x = inputs[i % inputs.length]!;
    const t0 = performance.now();
    noGrad(() => tidy(() => m.forward(x).dataSync()));
    if (i >= warm) ts.push(performance.now() - t0);
  }
  return ts;
}

const results: Record<string, unknown>[] = [];
const load0 = os.loadavg();
for (const [name, make] of [
  ['mlp', mnistMlp],
  ['cnn', mnistCnn],
] as const) {
  manualSeed(0);
  const model = make().eval();
  const calib = Array.from({ length: 4 }, () => randn([64, 1, 28, 28]));
  const variants: [string, Fwd][] = [
    ['fp32', model],
    ['static int8', quantization.quantizeStatic(model, calib)],
  ];
  if (name === 'mlp') variants.push(['dynamic int8', quantization.quantizeDynamic(model)]);
  // the 1-channel first conv (k = 25, 16 outputs per pixel) is overhead-bound in int8: left float here
  if (name === 'cnn') variants.push(['static int8, conv1 float', quantization.quantizeStatic(model, calib, { exclude: ['0'] })]);
  for (const batch of batches) {
    const inputs = Array.from({ length: 4 }, () => randn([batch, 1, 28, 28]));
    const ts = new Map<string, number[]>(variants.map(([k]) => [k, []]));
    for (const [, m] of variants) time(m, inputs, 3, 0); // JIT warm-up
    for (let round = 0; round < 4; round++) for (const [k, m] of variants) ts.get(k)!.push(...time(m, inputs, Math.ceil(reps / 4), 1));
    const fp = quantile(ts.get('fp32')!, 0.5);
    const row: Record<string, unknown> = { model: name, batch };
    for (const [k] of variants) {
      const t = ts.get(k)!;
      const p50 = quantile(t, 0.5);
      row[k] = {
        p50Ms: +p50.toFixed(3),
        p95Ms: +quantile(t, 0.95).toFixed(3),
        ...(k === 'fp32' ? {} : { speedupVsFp32: +(fp / p50).toFixed(2) }),
      };
    }
    results.push(row);
    for (const x of inputs) x.dispose();
  }
  for (const x of calib) x.dispose();
}
console.log(
  JSON.stringify(
    {
      machine: `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} logical cores`,
      loadAvg1mStartEnd: [+load0[0]!.toFixed(2), +os.loadavg()[0]!.toFixed(2)],
      cpuKernels: cpuKernelsInfo(),
      qgemm: quantization.qgemmKernelName(),
      results,
    },
    null,
    2,
  ),
);
