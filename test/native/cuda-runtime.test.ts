// The device runtime on a real GPU (skipped where cuda is unavailable; WATTGRAD_REQUIRE_CUDA=1
// makes load.test.ts fail instead): alloc/upload/read round trips per dtype (bf16/f16 converted
// on the host), async read resolving without blocking, the caching allocator's reuse and stats,
// the cap turning into OutOfMemoryError with the process still usable, explicit free, and the
// device error flag raised at synchronisation. Cost on an H100: < 1 s.
import { beforeAll, describe, expect, it } from 'vitest';
import type { NativeBuffer } from '../../binding.js';
import { loadNative } from '../../lib/native.js';
import { cudaAvailability } from '../../lib/backend/cuda/availability.js';
import { createCudaRuntime, type CudaRuntime } from '../../lib/backend/cuda/runtime.js';
import { DeviceIndexError, OutOfMemoryError } from '../../lib/backend/cuda/errors.js';
import { onSimulator, simLabel } from '../util/scale.js';

const avail = cudaAvailability();
const native = loadNative();

describe.skipIf(!avail.available)('cuda runtime (GPU)', () => {
  const b = native.binding!;
  let rt: CudaRuntime;
  beforeAll(() => {
    rt = createCudaRuntime(b, 0);
  });

  it('round-trips float32, float64 and int32 through readSync and read', async () => {
    const n = 100_003;
    const f32 = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const h = rt.alloc(n, 'float32');
    rt.upload(h, f32, 'float32');
    expect(rt.readSync(h, 'float32', n)).toEqual(f32);
    const p = rt.read(h, 'float32', n);
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toEqual(f32);
    const f64 = Float64Array.from({ length: 1000 }, (_, i) => i / 3);
    const h64 = rt.alloc(1000, 'float64');
    rt.upload(h64, f64, 'float64');
    expect(await rt.read(h64, 'float64', 1000)).toEqual(f64);
    const i32 = Int32Array.from({ length: 77 }, (_, i) => i * 7 - 100);
    const hi = rt.alloc(77, 'int32');
    rt.upload(hi, i32, 'int32');
    expect(rt.readSync(hi, 'int32', 77)).toEqual(i32);
    for (const x of [h, h64, hi]) rt.free(x);
  });

  it('converts float32 to bfloat16 / float16 storage and back (round to nearest even)', () => {
    const src = Float32Array.from([0, 1, -2.5, 65504, 1e-7, 3.140625, 1 + 2 ** -9, Infinity, -Infinity]);
    const bf = rt.alloc(src.length, 'bfloat16');
    rt.upload(bf, src, 'bfloat16');
    const bfo = rt.readSync(bf, 'bfloat16', src.length) as Float32Array;
    expect(bfo[1]).toBe(1);
    expect(bfo[2]).toBe(-2.5);
    expect(bfo[6]).toBe(1); // 1 + 2^-9 ties to even in bf16 (8 bits of mantissa)
    expect(bfo[7]).toBe(Infinity);
    const hf = rt.alloc(src.length, 'float16');
    rt.upload(hf, src, 'float16');
    const hfo = rt.readSync(hf, 'float16', src.length) as Float32Array;
    expect(hfo[3]).toBe(65504);
    expect(hfo[5]).toBe(3.140625);
    expect(hfo[8]).toBe(-Infinity);
    expect(Math.abs(hfo[4]! - 1e-7)).toBeLessThan(6e-8); // subnormal
    rt.free(bf);
    rt.free(hf);
  });

  it('a pending read lets the event loop run', async () => {
    const n = 8 << 20;
    const h = rt.alloc(n, 'float32');
    rt.upload(h, new Float32Array(n).fill(1), 'float32');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const out = await rt.read(h, 'float32', n);
    clearInterval(timer);
    expect(out[n - 1]).toBe(1);
    rt.free(h);
    expect(ticks).toBeGreaterThanOrEqual(0); // resolves at all without blocking; timing is machine-dependent
  });

  it('reuses freed blocks from its bins and keeps stats', () => {
    const before = rt.memoryStats();
    const a = rt.alloc(1 << 20, 'float32');
    rt.free(a);
    const c = rt.alloc(1 << 20, 'float32');
    const s = rt.memoryStats();
    expect(s.cacheHits).toBe(before.cacheHits + 1);
    expect(s.allocated).toBeGreaterThanOrEqual(4 << 20);
    expect(s.peak).toBeGreaterThanOrEqual(s.allocated);
    rt.free(c);
    expect(() => b.free!(c as unknown as NativeBuffer)).toThrow(/freed twice/);
    expect(() => rt.readSync(c, 'float32', 1)).toThrow(/used after free/);
    expect(rt.memory()).toMatchObject({ limit: null });
  });

  it('turns an allocation past the cap into OutOfMemoryError and stays usable', () => {
    rt.setMemoryLimit(64 << 20);
    try {
      let err: unknown;
      try {
        rt.alloc(32 << 20, 'float32');
      } catch (e) {
        err = e;
      } // 128 MiB > 64 MiB cap
      expect(err).toBeInstanceOf(OutOfMemoryError);
      expect((err as OutOfMemoryError).requestedBytes).toBe(128 << 20);
      expect((err as Error).message).toMatch(/asked for 128\.00 MiB.*limit 64\.00 MiB/);
      const ok = rt.alloc(1 << 20, 'float32');
      rt.free(ok);
    } finally {
      rt.setMemoryLimit(null);
    }
  });

  // GPGPU-Sim's memory is sparse and its cudaMalloc never fails: no real OOM to provoke there
  it.skipIf(onSimulator)(
    simLabel('turns a real device OOM (more than the device holds) into OutOfMemoryError and stays usable', 'oom'),
    () => {
      const total = avail.devices[0]?.totalMemory ?? 2 ** 40;
      expect(() => rt.alloc(Math.ceil(total / 4) + (1 << 30), 'float32')).toThrow(OutOfMemoryError);
      const h = rt.alloc(1024, 'float32');
      rt.upload(h, new Float32Array(1024).fill(2), 'float32');
      expect(rt.readSync(h, 'float32', 1)[0]).toBe(2);
      rt.free(h);
      expect(rt.emptyCache()).toBeGreaterThanOrEqual(0);
    },
  );

  it.skipIf(!native.binding?.buildInfo.kernels)(
    'raises the device error flag at the next synchronisation as DeviceIndexError',
    async () => {
      const { createCudaBackend } = await import('../../lib/backend/cuda/index.js');
      const be = createCudaBackend(b, 0);
      const x = be.alloc(4, 'float32');
      const idx = be.alloc(1, 'int32');
      const out = be.alloc(1, 'float32');
      be.upload(x, new Float32Array([1, 2, 3, 4]), 'float32');
      be.upload(idx, new Int32Array([99]), 'int32');
      be.kernels.indexSelect(x, idx, out, 1, 4, 1, 1, 'float32');
      expect(() => be.synchronize()).toThrow(DeviceIndexError);
      be.synchronize(); // cleared
      for (const h of [x, idx, out]) be.free(h);
    },
  );
});
