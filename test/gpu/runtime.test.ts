// Issue 4 on a GPU, through the public tensor API: "the addon initialises, allocates, copies
// round-trip, frees, reports OOM on an over-cap request and keeps working, and memory() returns
// to baseline after a training loop".
//
// test/native/cuda-runtime.test.ts already covers the runtime layer on its own (alloc/upload/read
// per dtype, bf16/f16 conversion, bin reuse and stats, double free, the cap and a real device OOM
// on raw allocations, the device error flag). This file adds what only shows at the tensor level:
//   - backends()/getBackend() report and create the cuda backend; a tensor's bytes appear in
//     memory() and in the allocator, read back exactly (data() and dataSync()), and go on dispose;
//   - memory() per-device bytes, storages, live tensors and the allocator's allocated bytes are
//     flat from step 1 to step 200 of a cuda training loop (CNN, Adam, clipping, steps in tidy,
//     the loss read asynchronously every 50 steps) and back to the baseline once the model,
//     optimizer and data are disposed;
//   - under setMemoryLimit, an op whose output passes the cap and a too-large tensor throw
//     OutOfMemoryError (the package root's class) naming the bytes, leak no tensor, and normal ops
//     keep working; memory() shows the cap; lifting it lets the big op run;
//   - `await t.data()` on the result of ~0.4 s of queued matmuls resolves while a setInterval
//     keeps ticking, and queueing those matmuls does not wait for them.
//
// Cost on the GPU machine: ~3 s.
import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { memory, tidy } from '../../lib/index.js';
import { mnistCnn } from '../../lib/models/index.js';
import { cudaBackend, describeCuda, leakGuard } from './cuda.js';
import { scaled } from '../util/scale.js';

// Under the simulator (WATTGRAD_TEST_SCALE=sim, ~2M simulated thread instructions/s) the loop and
// the matrices shrink; the assertions are the same.
const STEPS = scaled(200, 3);
const LOG_EVERY = scaled(50, 2);
const BATCH = scaled(32, 1);
const N_OOM = scaled(4096, 128); // the OOM test's square matrix: 64 MiB on a GPU, 64 KiB on the simulator
const N_LOOP = scaled(4096, 64); // the event-loop test's matmuls

describeCuda('cuda runtime through tensors (issue 4)', (device) => {
  it('initialises, allocates, copies round-trip and frees (memory() and the allocator agree)', async () => {
    const info = wg.backends().find((b) => b.name === 'cuda')!;
    expect(info.available).toBe(true);
    expect(info.reason).toBeNull();
    expect(info.devices).toContain(device);
    const be = cudaBackend(device);
    expect(be.device).toBe(device);
    be.synchronize();
    const a0 = be.memoryStats().allocated;
    const b0 = memory().devices[device]?.bytes ?? 0;

    const host = Float32Array.from({ length: (1 << 20) + 3 }, (_, i) => Math.sin(i) * 1e3);
    const t = wg.tensor(host, { device });
    expect(t.device).toBe(device);
    expect(memory().devices[device]!.bytes).toBe(b0 + host.byteLength);
    expect(be.memoryStats().allocated).toBeGreaterThanOrEqual(a0 + host.byteLength);
    const p = t.data();
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toEqual(host);
    expect(t.dataSync()).toEqual(host);
    const ints = wg.tensor(Int32Array.from([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1]), { device });
    expect(Array.from(ints.dataSync())).toEqual([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1]);
    t.dispose();
    ints.dispose();
    expect(memory().devices[device]!.bytes).toBe(b0);
    expect(be.memoryStats().allocated, 'allocator bytes after dispose').toBe(a0);
  });

  it(
    `memory() returns to baseline after a ${STEPS}-step training loop in tidy, and is flat during it`,
    async () => {
      const be = cudaBackend(device);
      be.synchronize();
      const snap = () => {
        const m = memory();
        const d = m.devices[device] ?? { bytes: 0, storages: 0 };
        return {
          tensors: m.tensors,
          storages: m.storages,
          deviceBytes: d.bytes,
          deviceStorages: d.storages,
          allocated: be.memoryStats().allocated,
        };
      };
      const base = snap();

      wg.manualSeed(0);
      const model = mnistCnn().to(device);
      const optimizer = new wg.optim.Adam(model.parameters(), { lr: 1e-3 });
      const x = wg.randn([BATCH, 1, 28, 28], { device });
      const y = wg.tensor(
        Int32Array.from({ length: BATCH }, (_, i) => i % 10),
        { device },
      );
      const losses: number[] = [];
      let afterFirst: ReturnType<typeof snap> | null = null;
      for (let step = 0; step < STEPS; step++) {
        const logPoint = step === 0 || step % LOG_EVERY === LOG_EVERY - 1;
        const loss = tidy(() => {
          optimizer.zeroGrad();
          const l = wg.crossEntropy(model.forward(x), y);
          l.backward();
          wg.optim.clipGradNorm(model.parameters(), 1);
          optimizer.step();
          return logPoint ? l.detach() : null;
        });
        if (loss) {
          losses.push((await loss.data())[0]!); // asynchronous read, as fit() does
          loss.dispose();
        }
        if (step === 0) afterFirst = snap(); // grads and Adam state exist from here on
      }
      const afterLast = snap();
      console.log(
        `[memory] ${STEPS} cuda steps: losses ${losses.map((l) => l.toFixed(4)).join(' ')}; device bytes ${afterLast.deviceBytes}, allocator ${afterLast.allocated} (cached ${be.memoryStats().cached}, peak ${be.memoryStats().peak})`,
      );
      expect(afterLast, `memory after step ${STEPS} vs after step 1`).toEqual(afterFirst);
      for (const l of losses) expect(Number.isFinite(l)).toBe(true);
      expect(losses.at(-1)!).toBeLessThan(losses[0]!);

      model.dispose();
      optimizer.dispose();
      x.dispose();
      y.dispose();
      be.synchronize();
      expect(snap(), 'memory after disposing model, optimizer and data vs before the loop').toEqual(base);
    },
    scaled(120_000, 900_000),
  );

  it('reports OOM on an over-cap request, leaks nothing, and keeps working', () => {
    const done = leakGuard('the OOM test');
    const be = cudaBackend(device);
    const n = N_OOM;
    const bytes = 4 * n * n;
    const a = wg.randn([n, n], { device }); // 64 MiB (4096²)
    be.synchronize();
    be.emptyCache();
    const cap = be.memoryStats().allocated + bytes / 2; // room for 32 MiB more, not 64
    be.setMemoryLimit(cap);
    try {
      expect(memory().devices[device]!.limit).toBe(cap);
      const live = memory().tensors;

      // an op whose 64 MiB output passes the cap
      let err: unknown;
      try {
        tidy(() => a.matmul(a).relu().sum());
      } catch (e) {
        err = e;
      }
      expect(err, 'matmul past the cap').toBeInstanceOf(wg.OutOfMemoryError);
      expect((err as Error).message).toMatch(/out of memory/);
      expect(memory().tensors, 'no tensor left behind by the failed op').toBe(live);

      // a tensor too large for the cap: the error names the bytes asked for
      err = undefined;
      try {
        wg.zeros([4 * n * n], { device }); // 256 MiB of float32
      } catch (e) {
        err = e;
      }
      expect(err, 'zeros past the cap').toBeInstanceOf(wg.OutOfMemoryError);
      const oom = err as wg.OutOfMemoryError;
      expect(oom.requestedBytes).toBe(4 * bytes);
      expect(oom.message).toContain(n === 4096 ? '256.00 MiB' : `${((4 * bytes) / 1024).toFixed(2)} KiB`);
      expect(oom.memory?.limit).toBe(cap);
      expect(memory().tensors).toBe(live);

      // normal ops still work under the cap, and the big tensor's values are intact
      expect(tidy(() => wg.ones([1024], { device }).mul(2).sum().item())).toBe(2048);
      const s = tidy(() => a.slice(0, 0, 2).sum().item());
      const hostRows = Array.from(a.dataSync().subarray(0, 2 * n));
      expect(s).toBeCloseTo(
        hostRows.reduce((acc, v) => acc + v, 0),
        2,
      );
    } finally {
      be.setMemoryLimit(null);
    }
    expect(memory().devices[device]!.limit).toBeNull();
    // with the cap lifted the same op runs
    const m = tidy(() => a.matmul(a).abs().mean().item());
    expect(Number.isFinite(m) && m > 0).toBe(true);
    a.dispose();
    done();
  });

  it(
    'await t.data() resolves while a setInterval keeps ticking during a long GPU job',
    async () => {
      const done = leakGuard('the event-loop test');
      const n = N_LOOP;
      const x = wg.randn([n, n], { device });
      const w = tidy(() => wg.randn([n, n], { device }).mul(1 / 64));
      // calibrate: one n³ matmul, warmed up
      for (let i = 0; i < 2; i++) x.matmul(w).dispose();
      wg.synchronize();
      let t0 = performance.now();
      x.matmul(w).dispose();
      wg.synchronize();
      const oneMs = Math.max(performance.now() - t0, 0.05);
      const k = Math.min(400, Math.max(4, Math.ceil(400 / oneMs))); // ~0.4 s of GPU work
      const expectedMs = k * oneMs;

      t0 = performance.now();
      for (let i = 0; i < k - 1; i++) x.matmul(w).dispose();
      const y = x.matmul(w);
      const issueMs = performance.now() - t0;

      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const tw = performance.now();
      let out: ArrayLike<number>;
      try {
        out = await y.data();
      } finally {
        clearInterval(timer);
      }
      const waitMs = performance.now() - tw;
      console.log(
        `[event loop] ${k} matmuls ${n}³ (${oneMs.toFixed(2)} ms each): queued in ${issueMs.toFixed(1)} ms, ` +
          `await data() ${waitMs.toFixed(1)} ms, ${ticks} interval ticks meanwhile`,
      );

      expect(issueMs, 'queueing kernels must not wait for them').toBeLessThan(expectedMs / 2);
      // (absolute, not relative to the calibration: other test files may share the GPU meanwhile)
      expect(waitMs, 'the job was still running when data() was awaited').toBeGreaterThanOrEqual(30);
      expect(ticks, 'setInterval(5 ms) ticks while awaiting data()').toBeGreaterThanOrEqual(Math.max(3, Math.floor(waitMs / 40)));
      // the result is right: y[0][0] = x[0, :] · w[:, 0], summed here in float64
      const xs = x.dataSync();
      const ws = w.dataSync();
      let ref = 0;
      for (let j = 0; j < n; j++) ref += xs[j]! * ws[j * n]!;
      expect(out[0]!).toBeCloseTo(ref, 2);
      for (const t of [x, w, y]) t.dispose();
      done();
    },
    scaled(60_000, 900_000),
  );
});
