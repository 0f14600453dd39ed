// Timing script for the js backend's matmul and conv2d (not a test). Run:
//   npx tsc --outDir /tmp/jsb --module nodenext --moduleResolution nodenext --target es2022 --skipLibCheck \
//     test/backend/js/bench.ts && echo '{"type":"module"}' > /tmp/jsb/package.json && node /tmp/jsb/test/backend/js/bench.js
import { createJsBackend } from '../../../lib/backend/js/index.js';
import type { Conv2dParams } from '../../../lib/backend/kernels.js';

const be = createJsBackend();
const k = be.kernels;

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

function median(f: () => void, reps: number): number {
  f();
  f();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    f();
    ts.push(performance.now() - t);
  }
  ts.sort((a, b) => a - b);
  return ts[reps >> 1]!;
}

for (const [N, tA, tB] of [
  [512, false, false],
  [512, true, true],
  [1024, false, false],
] as const) {
  const a = be.alloc(N * N, 'float32'),
    b = be.alloc(N * N, 'float32'),
    c = be.alloc(N * N, 'float32');
  be.upload(a, rand(N * N), 'float32');
  be.upload(b, rand(N * N), 'float32');
  const ms = median(() => k.matmul(a, b, c, 1, N, N, N, tA, tB, 0, 0, 'float32'), N > 512 ? 3 : 7);
  console.log(`matmul f32 ${N}^3 transA=${tA} transB=${tB}: ${ms.toFixed(1)} ms, ${((2 * N ** 3) / ms / 1e6).toFixed(2)} GFLOP/s`);
}

function conv(label: string, p: Conv2dParams): void {
  const xs = p.batch * p.inC * p.inH * p.inW,
    ws = p.outC * (p.inC / p.groups) * p.kH * p.kW,
    ys = p.batch * p.outC * p.outH * p.outW;
  const x = be.alloc(xs, 'float32'),
    w = be.alloc(ws, 'float32'),
    y = be.alloc(ys, 'float32');
  const dx = be.alloc(xs, 'float32'),
    dw = be.alloc(ws, 'float32');
  be.upload(x, rand(xs), 'float32');
  be.upload(w, rand(ws), 'float32');
  const f = median(() => k.conv2d(x, w, y, p, 'float32'), 5);
  const gi = median(() => k.conv2dGradInput(y, w, dx, p, 'float32'), 5);
  const gw = median(() => k.conv2dGradWeight(x, y, dw, p, 'float32'), 5);
  const flops = ((2 * ys * ws) / p.outC) * 1; // 2·(outputs)·(Cg·R·S)
  console.log(
    `${label}: fwd ${f.toFixed(1)} ms (${(flops / f / 1e6).toFixed(2)} GFLOP/s), gradInput ${gi.toFixed(1)} ms, gradWeight ${gw.toFixed(1)} ms`,
  );
}
const base = { strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1, groups: 1 };
conv('mnist conv1 64x1x28x28 -> 8x5x5', { ...base, batch: 64, inC: 1, inH: 28, inW: 28, outC: 8, kH: 5, kW: 5, outH: 24, outW: 24 });
conv('mnist conv2 64x8x12x12 -> 16x5x5', { ...base, batch: 64, inC: 8, inH: 12, inW: 12, outC: 16, kH: 5, kW: 5, outH: 8, outW: 8 });
conv('resnet-ish 8x64x28x28 -> 64x3x3 pad1', {
  ...base,
  padH: 1,
  padW: 1,
  batch: 8,
  inC: 64,
  inH: 28,
  inW: 28,
  outC: 64,
  kH: 3,
  kW: 3,
  outH: 28,
  outW: 28,
});
