// Async reads do not hold libuv pool threads (issue 12): read() used to wait for its copy in a
// napi AsyncWorker, so 4 pending reads (UV_THREADPOOL_SIZE defaults to 4) blocked fs, zlib, dns and
// crypto until the GPU caught up. Now one addon thread waits on the events and a thread-safe
// function settles the Promises. Checked here: with 8 reads pending behind ~1 s of queued GPU work,
// a zlib job (which needs a pool thread) completes while every read is still pending; then all
// reads resolve with the right data. Transfers to storage on another device are refused (needs two
// GPUs; skipped on one).
// Cost on the GPU machine: ~1.5 s. Under the simulator the ordering check is skipped (its copies
// are synchronous, so no read is ever pending): only the results are checked there.
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { tidy } from '../../lib/index.js';
import { describeCuda, leakGuard } from './cuda.js';
import { onSimulator, scaled } from '../util/scale.js';

const gzip = promisify(zlib.gzip);
const N = scaled(2048, 32);

describeCuda('async reads and the libuv thread pool', (device) => {
  it(`8 pending reads leave the pool free for zlib${onSimulator ? ' (simulator: copies are synchronous, ordering not checked)' : ''}`, async () => {
    const done = leakGuard('the read-waiter test');
    const x = wg.randn([N, N], { device });
    const w = tidy(() => wg.randn([N, N], { device }).mul(1 / 32));
    x.matmul(w).dispose();
    wg.synchronize();
    let t0 = performance.now();
    x.matmul(w).dispose();
    wg.synchronize();
    const oneMs = Math.max(performance.now() - t0, 0.05);
    const k = onSimulator ? 1 : Math.min(2000, Math.max(4, Math.ceil(1000 / oneMs))); // ~1 s of GPU work
    for (let i = 0; i < k - 1; i++) x.matmul(w).dispose();
    const ys = Array.from({ length: 8 }, (_, i) => tidy(() => x.matmul(w).add(i)));
    let settled = 0;
    const reads = ys.map((y) =>
      y.data().then((d) => {
        settled++;
        return d;
      }),
    );
    t0 = performance.now();
    const z = await gzip(Buffer.alloc(1 << 12, 7));
    const gzipMs = performance.now() - t0;
    const pendingAtGzip = 8 - settled;
    const outs = await Promise.all(reads);
    expect(zlib.gunzipSync(z).length).toBe(1 << 12);
    console.log(
      `[read waiter] ${k} matmuls ${N}³ (${oneMs.toFixed(2)} ms each) queued; gzip done after ${gzipMs.toFixed(1)} ms with ${pendingAtGzip}/8 reads pending`,
    );
    if (!onSimulator) expect(pendingAtGzip, 'zlib had to wait for the reads: they hold libuv pool threads').toBe(8);
    // results: y_i = x·w + i, so y_i − y_0 = i everywhere
    const first = outs[0]!;
    for (let i = 1; i < 8; i++) {
      const o = outs[i]!;
      expect(o.length).toBe(N * N);
      for (const j of [0, 1, N * N - 1, (N * N) >> 1]) expect(o[j]! - first[j]!).toBeCloseTo(i, 2);
    }
    for (const t of [x, w, ...ys]) t.dispose();
    done();
  }, 120_000);

  it('refuses transfers to storage on another device (two GPUs)', async (ctx) => {
    if (wg.cuda.deviceCount() < 2) ctx.skip();
    const t = wg.tensor(Float32Array.from([1, 2, 3]), { device: 'cuda:1' });
    const b = (await import('../../lib/native.js')).loadNative().binding!;
    b.setDevice!(0);
    expect(() => b.readSync!(t.handle as never, 3, 'float32')).toThrow(/lives on cuda:1 but the current device is cuda:0/);
    t.dispose();
  });
});
