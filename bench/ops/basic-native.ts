// fill, cast, where and argmax / argmin: the addon's CPU kernels (native/cpu/basic*.cc, through the
// js backend's routed kernels, lib/backend/js/native-basic.ts) against the pure-JS kernels
// (lib/backend/js/elementwise.ts, reduce.ts) on the same storage, in the same process, rounds
// alternated so load changes hit both alike. Prints median µs per call and js/native per case,
// for 1 thread and for the pool's default size, with the load average. The NATIVE_MIN thresholds
// of native-basic.ts come from the small sizes here. Run:
//   npx tsc -p tsconfig.bench.json && WATTGRAD_NATIVE=$PWD/build/<yours>/Release/wattgrad.node node dist-bench/bench/ops/basic-native.js [--isa avx2]
import os from 'node:os';
import { JsHandle, type AnyArray } from '../../lib/backend/js/handle.js';
import * as jsEw from '../../lib/backend/js/elementwise.js';
import * as jsRed from '../../lib/backend/js/reduce.js';
import * as route from '../../lib/backend/js/native-basic.js';
import { nativeCpu } from '../../lib/backend/js/native-cpu.js';

type Fn = () => void;
interface Case {
  name: string;
  n: number;
  js: Fn;
  native: Fn;
}

function rand(T: 'f32' | 'f64' | 'i32', n: number, scale = 1): AnyArray {
  const a = T === 'f32' ? new Float32Array(n) : T === 'f64' ? new Float64Array(n) : new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.random() - 0.5) * scale;
  return a;
}
const H = (a: AnyArray, dt: 'float32' | 'float64' | 'int32'): JsHandle => new JsHandle(a, dt);

function cases(): Case[] {
  const out: Case[] = [];
  for (const n of [64, 1024, 65536, 1 << 20]) {
    const f = H(rand('f32', n), 'float32');
    out.push({
      name: `fill f32`,
      n,
      js: () => jsEw.fill(f, n, 1.5, 'float32'),
      native: () => route.fill(f, n, 1.5, 'float32'),
    });
    const x = H(rand('f32', n, 1e4), 'float32'),
      y = H(new Int32Array(n), 'int32'),
      z = H(new Float64Array(n), 'float64');
    out.push({
      name: 'cast f32->i32',
      n,
      js: () => jsEw.cast(x, y, n, 'float32', 'int32'),
      native: () => route.cast(x, y, n, 'float32', 'int32'),
    });
    out.push({
      name: 'cast f32->f64',
      n,
      js: () => jsEw.cast(x, z, n, 'float32', 'float64'),
      native: () => route.cast(x, z, n, 'float32', 'float64'),
    });
    const c = H(rand('f32', n), 'float32'),
      o = H(new Float32Array(n), 'float32');
    out.push({
      name: 'where f32 (b scalar)',
      n,
      js: () => jsEw.where(c, x, x, o, [n], [1], [1], [0], 'float32', 'float32'),
      native: () => route.where(c, x, x, o, [n], [1], [1], [0], 'float32', 'float32'),
    });
    const am = H(new Int32Array(n / 16), 'int32');
    out.push({
      name: 'argmax f32 rows of 16',
      n,
      js: () => jsRed.argReduce('argmax', x, am, n / 16, 16, 1, 'float32'),
      native: () => route.argReduce('argmax', x, am, n / 16, 16, 1, 'float32'),
    });
    const a1 = H(new Int32Array(1), 'int32');
    out.push({
      name: 'argmax f32 one row',
      n,
      js: () => jsRed.argReduce('argmax', x, a1, 1, n, 1, 'float32'),
      native: () => route.argReduce('argmax', x, a1, 1, n, 1, 'float32'),
    });
    const ac = H(new Int32Array(n / 8), 'int32');
    out.push({
      name: 'argmin f32 (8, n/8) dim 0',
      n,
      js: () => jsRed.argReduce('argmin', x, ac, 1, 8, n / 8, 'float32'),
      native: () => route.argReduce('argmin', x, ac, 1, 8, n / 8, 'float32'),
    });
  }
  // accuracy: argmax over 10 classes at batch 32 and 256
  for (const b of [32, 256]) {
    const x = H(rand('f32', b * 10), 'float32'),
      o = H(new Int32Array(b), 'int32');
    out.push({
      name: 'argmax logits (b, 10)',
      n: b * 10,
      js: () => jsRed.argReduce('argmax', x, o, b, 10, 1, 'float32'),
      native: () => route.argReduce('argmax', x, o, b, 10, 1, 'float32'),
    });
  }
  return out;
}

/** median µs per call of fn over `rounds` rounds of enough calls for ~2 ms each */
function timeRounds(fns: Fn[], rounds: number): number[][] {
  const reps = fns.map((fn) => {
    let k = 1;
    for (;;) {
      const t0 = performance.now();
      for (let i = 0; i < k; i++) fn();
      if (performance.now() - t0 > 2 || k > 1 << 20) return k;
      k *= 2;
    }
  });
  const times = fns.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++)
    fns.forEach((fn, j) => {
      const t0 = performance.now();
      for (let i = 0; i < reps[j]!; i++) fn();
      times[j]!.push(((performance.now() - t0) * 1000) / reps[j]!);
    });
  return times;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function main(): void {
  const cpu = nativeCpu();
  if (!cpu || !route.nativeBasic()) {
    process.stdout.write('basic-native: the addon with the basic CPU kernels is not loaded (WATTGRAD_NATIVE=...)\n');
    return;
  }
  const isaArg = process.argv.indexOf('--isa');
  if (isaArg > 0 && !cpu.cpuSelectIsa(process.argv[isaArg + 1]!))
    throw new Error(`basic-native: ISA ${process.argv[isaArg + 1]} not supported here`);
  route.setNativeBasicAlwaysForTests(true);
  const all = cpu.cpuGetNumThreads();
  const list = cases();
  for (const threads of [...new Set([1, all])]) {
    cpu.cpuSetNumThreads(threads);
    process.stdout.write(
      `\n${cpu.cpuInfo().isa}, ${threads} thread(s), load ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
    );
    process.stdout.write('case                              n          js µs    native µs   js/native\n');
    for (const c of list) {
      const [js, nat] = timeRounds([c.js, c.native], 7);
      const mj = median(js!),
        mn = median(nat!);
      process.stdout.write(
        `${c.name.padEnd(32)} ${String(c.n).padStart(8)} ${mj.toFixed(2).padStart(12)} ${mn.toFixed(2).padStart(12)} ${(mj / mn).toFixed(2).padStart(10)}x\n`,
      );
    }
  }
  route.setNativeBasicAlwaysForTests(false);
}

main();
