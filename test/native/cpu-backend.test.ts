// The native CPU kernels behind the js backend: with an addon that has them, the cpu device's
// matmul (the op, its backward, linear) runs natively on the same tensors and gives what the
// addon's kernel gives on the same arrays; backends() / `wattgrad info` say which kernels are
// native and the ISA; setNumThreads / getNumThreads drive the addon's pool;
// WATTGRAD_CPU_KERNELS=js puts the pure-JS kernel back (bitwise the js reference).
// Skips, saying why, when the loaded addon has no CPU kernels.
import { afterEach, describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { resetNativeCpuForTests } from '../../lib/backend/js/native-cpu.js';
import { main } from '../../lib/cli.js';
import { absScale, cpu, firstBad, jsRef, noCpuLabel, randArray, rng, SEED } from './cpu-util.js';

const initialThreads = cpu?.cpuGetNumThreads() ?? 1;
afterEach(() => {
  delete process.env.WATTGRAD_CPU_KERNELS;
  resetNativeCpuForTests();
  if (cpu) cpu.cpuSetNumThreads(initialThreads);
});

describe.skipIf(!cpu)(`native CPU kernels behind the cpu device${noCpuLabel}`, () => {
  it("matmul on cpu tensors is the native kernel on the tensors' own storage", () => {
    const r = rng(SEED);
    const A = randArray('float32', 4 * 37 * 53, r) as Float32Array,
      B = randArray('float32', 53 * 29, r) as Float32Array;
    const a = wg.tensor(A, { shape: [4, 37, 53] }),
      b = wg.tensor(B, { shape: [53, 29] });
    const c = wg.matmul(a, b); // batch broadcast of b (stride 0)
    const direct = new Float32Array(4 * 37 * 29);
    cpu!.cpuMatmul(A, B, direct, 4, 37, 29, 53, false, false, 37 * 53, 0);
    expect(Array.from(c.dataSync())).toEqual(Array.from(direct));
    const s = { batch: 4, m: 37, n: 29, k: 53, ta: false, tb: false, aBS: 37 * 53, bBS: 0 };
    expect(firstBad(c.dataSync() as Float32Array, jsRef('float32', A, B, s), absScale(A, B, s), 53, 'float32')).toBeNull();
    wg.dispose([a, b, c]);
  });

  it('gradients through matmul (transposed products) match the pure-JS kernels within rounding', () => {
    const run = (): { ga: Float64Array; gb: Float64Array } => {
      const r = rng(SEED + 5);
      const a = wg.tensor(randArray('float64', 23 * 41, r), { shape: [23, 41], requiresGrad: true });
      const b = wg.tensor(randArray('float64', 41 * 17, r), { shape: [41, 17], requiresGrad: true });
      wg.matmul(a, b).square().sum().backward();
      const out = { ga: Float64Array.from(a.grad!.dataSync()), gb: Float64Array.from(b.grad!.dataSync()) };
      wg.dispose([a, b]);
      return out;
    };
    const nat = run();
    process.env.WATTGRAD_CPU_KERNELS = 'js';
    resetNativeCpuForTests();
    const js = run();
    for (const key of ['ga', 'gb'] as const) {
      for (let i = 0; i < js[key].length; i++)
        expect(Math.abs(nat[key][i]! - js[key][i]!)).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(js[key][i]!)));
    }
  });

  it('WATTGRAD_CPU_KERNELS=js runs the pure-JS kernel (bitwise the js reference) and says so', () => {
    process.env.WATTGRAD_CPU_KERNELS = 'js';
    resetNativeCpuForTests();
    const r = rng(SEED + 9);
    const A = randArray('float32', 70 * 90, r) as Float32Array,
      B = randArray('float32', 90 * 33, r) as Float32Array;
    const a = wg.tensor(A, { shape: [70, 90] }),
      b = wg.tensor(B, { shape: [90, 33] });
    const c = wg.matmul(a, b);
    const ref = jsRef('float32', A, B, { batch: 1, m: 70, n: 33, k: 90, ta: false, tb: false, aBS: 0, bBS: 0 });
    expect(Array.from(c.dataSync())).toEqual(Array.from(ref));
    wg.dispose([a, b, c]);
    const js = wg.backends().find((x) => x.name === 'js')!;
    expect(js.cpuKernels).toEqual({ native: [], isa: null, supportedIsas: [], threads: 1, reason: 'WATTGRAD_CPU_KERNELS=js' });
    expect(wg.getNumThreads()).toBe(1);
    process.env.WATTGRAD_CPU_KERNELS = 'fast';
    resetNativeCpuForTests();
    expect(() => wg.getNumThreads()).toThrow(/WATTGRAD_CPU_KERNELS=fast: expected 'js'/);
  });

  it('backends() and wattgrad info name the native kernels, the ISA and the threads', async () => {
    const info = cpu!.cpuInfo();
    const js = wg.backends().find((x) => x.name === 'js')!;
    // matmul first, then whatever other kernel families the addon registered (WGCPU_ENTRY)
    expect(info.kernels[0]).toBe('matmul');
    expect(js.cpuKernels).toEqual({
      native: info.kernels,
      isa: info.isa,
      supportedIsas: info.supportedIsas,
      threads: info.threads,
      reason: null,
    });
    expect(info.supportedIsas).toContain(info.isa);
    const lines: string[] = [];
    const sink = { write: (s: string): boolean => lines.push(s) > 0 };
    expect(await main(['info'], { stdout: sink, stderr: sink } as never)).toBe(0);
    expect(lines.join('\n')).toContain(`cpu kernels: native ${info.kernels.join(', ')} (${info.isa}, ${info.threads} thread`);
  });

  it('setNumThreads / getNumThreads drive the pool; bad counts are refused', () => {
    wg.setNumThreads(1);
    expect(wg.getNumThreads()).toBe(1);
    expect(cpu!.cpuGetNumThreads()).toBe(1);
    wg.setNumThreads(3);
    expect(wg.getNumThreads()).toBe(3);
    for (const bad of [0, -1, 1.5, 256, NaN])
      expect(() => wg.setNumThreads(bad)).toThrow(/setNumThreads: n must be an integer from 1 to 255/);
  });
});
