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
// Measured 2026-12-01 13:22 UTC, AMD EPYC (AVX-512 VNNI), 2 cores shared with ~8 other jobs (load
// average 9.3-9.6), addon built from this tree, p50 of 80 calls, two runs (speedup = fp32 / int8):
//   MLP  batch 64:  static int8 2.32x / 1.91x, dynamic int8 0.50x / 0.96x
//   MLP  batch 256: static int8 1.54x / 1.60x, dynamic int8 0.10x / 0.95x (p95s show the noise)
//   CNN  batch 64:  static int8 1.01x / 0.93x; with conv1 left float 1.25x / 1.12x
//   CNN  batch 256: static int8 0.89x / 0.92x; with conv1 left float 1.23x / 1.27x
// The kernels alone (npm run bench -- --op int8, same machine, load 8.9): qgemm 64x256x784 55.5 µs
// vs fp32 153.5 µs (2.8x), 256x256x784 196.6 µs vs 547.5 µs (2.8x); conv 16->32 k5 on 12x12 0.84 ms
// vs 1.97 ms (2.3x); conv 1->16 k5 on 28x28 2.34 ms vs 0.37 ms (0.16x: k = 25 and 16 outputs per
// pixel leave the int8 path bound by im2col, packing and the epilogue, where fp32 runs a direct conv).

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
