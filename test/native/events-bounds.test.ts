// CUDA timing events (native/src/events.cc) and the bounds checks at kernel entry points
// (native/src/ops_common.h Holds). Without a GPU: the exports exist in a CUDA build and fail with
// "cuda unavailable" (never crash). With one: events time real work (bench/lib/timing.ts picks
// 'cuda-events'), and every too-small handle is a RangeError naming the kernel and the argument
// while the context stays usable (no sticky error). Cost on an H100: < 1 s.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Binding, KernelBinding, NativeBuffer } from '../../binding.js';
import { loadNative } from '../../lib/native.js';
import { cudaAvailability } from '../../lib/backend/cuda/availability.js';
import { createCudaBackend, type CudaBackend } from '../../lib/backend/cuda/index.js';
import { CudaUnavailableError } from '../../lib/backend/cuda/errors.js';
import { eventTimer, timeDevice } from '../../bench/lib/timing.js';
import { onSimulator, scaled } from '../util/scale.js';

const native = loadNative();
const avail = cudaAvailability();
const cudaBuild = !!native.binding?.buildInfo.cuda;
const kernels = !!native.binding?.buildInfo.kernels;

describe.skipIf(!cudaBuild)('timing events: exports of a CUDA build', () => {
  it('exports createEvent / recordEvent / eventElapsedMs and timing.ts detects them', () => {
    const b = native.binding!;
    expect(typeof b.createEvent).toBe('function');
    expect(typeof b.recordEvent).toBe('function');
    expect(typeof b.eventElapsedMs).toBe('function');
    expect(eventTimer()).not.toBeNull();
  });

  it.skipIf(avail.available)('throws "cuda unavailable" (not a crash) without a usable device', () => {
    expect(() => native.binding!.createEvent!()).toThrow(/cuda unavailable/);
  });

  it('refuses things that are not events', () => {
    const b = native.binding!;
    expect(() => b.recordEvent!({} as never)).toThrow(TypeError);
    expect(() => b.eventElapsedMs!(null as never, null as never)).toThrow(/expected an event/);
  });
});

describe.skipIf(!avail.available || !kernels)('timing events and bounds checks (GPU)', () => {
  const b = native.binding! as Binding & KernelBinding;
  let be: CudaBackend;
  beforeAll(() => {
    be = createCudaBackend(b, 0);
  });

  it('times GPU work with events; an unrecorded event is a JS error', () => {
    // 4M elements; 4K under the simulator (there one 4M-element exp takes ~20 s: 1M threads × ~40 instructions)
    const n = scaled(1 << 22, 1 << 12);
    const x = be.alloc(n, 'float32'),
      y = be.alloc(n, 'float32');
    be.kernels.fill(x, n, 1, 'float32');
    const s = b.createEvent!(),
      e = b.createEvent!();
    b.recordEvent!(s);
    for (let i = 0; i < 20; i++) be.kernels.unary('exp', x, y, n, 'float32', 0, 0);
    b.recordEvent!(e);
    const ms = b.eventElapsedMs!(s, e);
    // GPGPU-Sim has no clock in functional mode: its event times are coarse host times, 0 for small work
    if (onSimulator) expect(ms).toBeGreaterThanOrEqual(0);
    else expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(10_000);
    const never = b.createEvent!();
    // refused by name (found under the simulator, whose cudaEventElapsedTime accepts it)
    expect(() => b.eventElapsedMs!(s, never)).toThrow(/end event was never recorded/);
    expect(() => b.eventElapsedMs!(never, e)).toThrow(/start event was never recorded/);
    const t = timeDevice(
      () => be.kernels.unary('exp', x, y, n, 'float32', 0, 0),
      () => be.synchronize(),
      { budgetMs: 50 },
    );
    expect(t.method).toBe('cuda-events');
    if (onSimulator) expect(t.medianMs).toBeGreaterThanOrEqual(0);
    else expect(t.medianMs).toBeGreaterThan(0);
    be.free(x);
    be.free(y);
  });

  it('a handle smaller than the kernel touches is a RangeError naming kernel and argument; the context survives', () => {
    const small = be.alloc(16, 'float32'),
      big = be.alloc(1 << 16, 'float32');
    const idx = be.alloc(4, 'int32');
    const raw = (h: unknown) => h as NativeBuffer;
    // 16 floats = 64 bytes (or the size class it rounds to): ask for far more
    expect(() => b.matmul(raw(small), raw(big), raw(big), 1, 64, 64, 64, false, false, 0, 0, 0)).toThrow(
      /^matmul: a holds \d+ bytes, needs 16384$/,
    );
    expect(() => b.matmul(raw(big), raw(big), raw(small), 1, 64, 64, 64, false, false, 0, 0, 0)).toThrow(RangeError);
    expect(() => b.unary(0, raw(small), raw(big), 1 << 16, 0, 0, 0)).toThrow(/^unary: x holds \d+ bytes, needs 262144$/);
    expect(() => b.softmax(raw(big), raw(small), 256, 256, false, 0)).toThrow(/softmax: y holds/);
    expect(() => b.indexSelect(raw(big), raw(small), raw(big), 1, 16, 1, 1 << 12, 0)).toThrow(/indexSelect: idx holds/);
    const dims = new Float64Array([1 << 16, 1, 1]);
    expect(() => b.stridedCopy(raw(big), raw(small), 1, dims, 0, 0, 0, false)).toThrow(/stridedCopy: dst holds/);
    expect(() =>
      b.adamStep([raw(big)], [raw(big)], [raw(small)], [raw(big)], null, [1 << 16], 1e-3, 0.9, 0.999, 1e-8, 0, true, false, false, 1, 0),
    ).toThrow(/adamStep: expAvg\[0\] holds/);
    expect(() => b.fill(null as never, 10, 0, 0)).toThrow(/fill: out/);
    // the context is fine: a real kernel still runs and synchronises
    be.kernels.fill(big, 1 << 16, 3, 'float32');
    be.synchronize();
    expect(be.readSync(big, 'float32', 2)).toEqual(new Float32Array([3, 3]));
    for (const h of [small, big, idx]) be.free(h);
  });

  it('fails at startup when the TS and native op tables drift', () => {
    const drifted = Object.create(b) as Binding & KernelBinding;
    drifted.kernelEnums = () => ({ ...b.kernelEnums(), unary: [...b.kernelEnums().unary].reverse() });
    expect(() => createCudaBackend(drifted, 0)).toThrow(CudaUnavailableError);
    expect(() => createCudaBackend(drifted, 0)).toThrow(/unary codes differ/);
  });
});
