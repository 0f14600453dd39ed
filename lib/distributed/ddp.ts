// nn.DistributedDataParallel: data parallel training over the default process group.
//
// At construction: every rank checks that it holds the same parameters and buffers (names,
// dtypes, shapes; a clear error naming the first difference), then rank 0's values are broadcast
// so every replica starts equal.
//
// During backward: the parameters are grouped into buckets of about `bucketMb` MB, in reverse
// registration order (the order backward produces their gradients: the last layer first). A
// grad-ready hook (lib/autograd/engine.ts) copies each gradient into its bucket's flat buffer as
// soon as it is complete; when a bucket is full, its allReduce ('avg') starts on the addon's
// communication thread while backward goes on computing the earlier layers' gradients. Buckets are
// launched strictly in index order, so every rank issues the same collectives in the same order.
// When backward ends (queueBackwardCallback) the remaining buckets are launched, every allReduce
// is waited for, and the averaged gradients are written into each parameter's .grad: optimizer.step()
// sees the same gradients on every rank.
//
// noSync(fn): gradients accumulate locally inside fn (no communication); the next synchronised
// backward averages the accumulated .grad (torch's no_sync()).

import { Module, type AnyModule } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { queueBackwardCallback, registerGradReadyHook } from '../autograd/engine.js';
import { bumpVersion, keep } from '../memory.js';
import { JsHandle } from '../backend/js/handle.js';
import { fromHost } from '../ops/creation.js';
import { cat } from '../ops/shape.js';
import { noGrad } from '../autograd/mode.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { checkOptions, bool, positive, type OptionKeys } from '../options.js';
import { currentGroup, type ProcessGroup } from './group.js';
import { allGatherArray, allReduce, allReduceArray, broadcast, broadcastArray, type Work } from './collectives.js';

export interface DistributedDataParallelOptions {
  /** target bucket size in MB (default 25, torch's bucket_cap_mb) */
  bucketMb?: number;
  /** broadcast rank 0's buffers (batch norm statistics) before each training forward (default true) */
  broadcastBuffers?: boolean;
}

const DDP_KEYS: OptionKeys<DistributedDataParallelOptions> = { bucketMb: true, broadcastBuffers: true };

interface Bucket {
  params: Parameter[];
  offsets: number[];
  numel: number;
  dtype: 'float32' | 'float64';
  flat: Float32Array | Float64Array | null; // CPU buckets
  ready: number;
  readySet: Set<Parameter>;
  work: Work | null;
  deviceFlat: Tensor | null; // CUDA buckets (nccl)
}

function hostData(t: Tensor): Float32Array | Float64Array | null {
  const h = t.handle;
  return h instanceof JsHandle && !(h.data instanceof Int32Array) && h.data.length === t.size ? h.data : null;
}

export class DistributedDataParallel<In extends unknown[] = [Tensor], Out = Tensor> extends Module<In, Out> {
  readonly module: Module<In, Out>;
  readonly bucketMb: number;
  readonly broadcastBuffers: boolean;
  /** false inside noSync(): backward leaves gradients local */
  requireBackwardGradSync = true;
  /** synchronised backwards so far, and how many bucket allReduces started while backward was still running (overlap) */
  readonly stats = { syncs: 0, bucketsLaunched: 0, launchedDuringBackward: 0 };
  private readonly group: ProcessGroup;
  private readonly buckets: Bucket[] = [];
  private readonly bucketOf = new Map<Parameter, number>();
  private nextLaunch = 0;
  private syncing = false;
  private readonly removers: (() => void)[] = [];

  constructor(module: Module<In, Out>, options: DistributedDataParallelOptions = {}) {
    super();
    const o = checkOptions('DistributedDataParallel', options, DDP_KEYS);
    if (!(module instanceof Module)) throw new TypeError('DistributedDataParallel: the first argument must be an nn.Module');
    this.group = currentGroup('DistributedDataParallel');
    this.bucketMb = positive('DistributedDataParallel', 'bucketMb', o.bucketMb, 25);
    this.broadcastBuffers = bool('DistributedDataParallel', 'broadcastBuffers', o.broadcastBuffers, true);
    this.module = module;
    this.registerModule('module', module as AnyModule);
    this.checkSameModel();
    noGrad(() => {
      for (const [, p] of module.namedParameters()) broadcast(p, 0);
      for (const [, b] of module.namedBuffers()) broadcast(b, 0);
    });
    this.makeBuckets();
  }

  /** The world size the gradients are averaged over. */
  get worldSize(): number {
    return this.group.worldSize;
  }

  forward(...args: In): Out {
    if (this.training && this.broadcastBuffers && this.group.worldSize > 1)
      noGrad(() => {
        for (const [, b] of this.module.namedBuffers()) broadcast(b, 0);
      });
    return this.module.forward(...args);
  }

  /** Runs fn with gradient synchronisation off: backward inside it accumulates .grad locally (torch's no_sync). */
  noSync<T>(fn: () => T): T {
    const prev = this.requireBackwardGradSync;
    this.requireBackwardGradSync = false;
    try {
      return fn();
    } finally {
      this.requireBackwardGradSync = prev;
    }
  }

  /** Removes the gradient hooks (the wrapped module keeps training locally afterwards). */
  override dispose(): void {
    for (const r of this.removers) r();
    this.removers.length = 0;
    super.dispose();
  }

  override extraRepr(): string {
    return `worldSize=${this.group.worldSize}, buckets=${this.buckets.length}, bucketMb=${this.bucketMb}`;
  }

  // ---- construction --------------------------------------------------------------------------
  private describe(): string[] {
    const out: string[] = [];
    for (const [n, p] of this.module.namedParameters()) out.push(`parameter ${n} ${p.dtype} ${fmtShape(p.shape)}`);
    for (const [n, b] of this.module.namedBuffers()) out.push(`buffer ${n} ${b.dtype} ${fmtShape(b.shape)}`);
    return out;
  }

  /** Every rank must hold the same parameters and buffers; names the first difference otherwise. */
  private checkSameModel(): void {
    const where = 'DistributedDataParallel';
    const g = this.group;
    if (g.worldSize === 1) return;
    const mine = this.describe();
    const enc = new TextEncoder();
    const hash = (s: string): number => {
      let h = 0x811c9dc5;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
      return h | 0;
    };
    const all = allGatherArray(where, new Int32Array([mine.length, hash(mine.join('\n'))])) as Int32Array;
    let same = true;
    for (let r = 1; r < g.worldSize; r++) if (all[2 * r] !== all[0] || all[2 * r + 1] !== all[1]) same = false;
    if (same) return;
    // rank 0's list to everyone; each rank finds its first entry that differs
    const bytes = g.rank === 0 ? enc.encode(mine.join('\n')) : new Uint8Array(0);
    const len = new Int32Array([bytes.length]);
    broadcastArray(where, len, 0);
    const buf = g.rank === 0 ? bytes : new Uint8Array(len[0]!);
    broadcastArray(where, buf, 0);
    const ref = new TextDecoder().decode(buf).split('\n');
    let diff = -1;
    for (let i = 0; i < Math.max(ref.length, mine.length); i++)
      if (ref[i] !== mine[i]) {
        diff = i;
        break;
      }
    const diffs = allGatherArray(where, new Int32Array([diff])) as Int32Array;
    let rr = 1;
    while (rr < g.worldSize && diffs[rr] === -1) rr++;
    if (rr === g.worldSize) rr = 1; // hashes differ but entries agree: cannot happen; report rank 1
    const at = Math.max(0, diffs[rr]!);
    // rank rr's entry at that index, to every rank
    const theirs = g.rank === rr ? enc.encode(mine[at] ?? '(nothing: its list ends here)') : new Uint8Array(0);
    const tl = new Int32Array([theirs.length]);
    broadcastArray(where, tl, rr);
    const tb = g.rank === rr ? theirs : new Uint8Array(tl[0]!);
    broadcastArray(where, tb, rr);
    throw new Error(
      `DistributedDataParallel: the model differs across ranks: entry #${at} is '${ref[at] ?? '(nothing: its list ends here)'}' on rank 0 ` +
        `but '${new TextDecoder().decode(tb)}' on rank ${rr} (rank 0 has ${all[0]} parameters and buffers, rank ${rr} has ${all[2 * rr]}); ` +
        'every rank must build the same model',
    );
  }

  private makeBuckets(): void {
    const cap = this.bucketMb * 1024 * 1024;
    const params = [...this.module.namedParameters()].map(([, p]) => p).filter((p) => p.requiresGrad);
    let cur: Bucket | null = null;
    let bytes = 0;
    for (const p of params.reverse()) {
      const dtype = p.dtype === 'float64' ? 'float64' : 'float32';
      if (p.dtype !== 'float32' && p.dtype !== 'float64' && p.device === 'cpu')
        throw new TypeError(`DistributedDataParallel: parameter of dtype ${p.dtype} is not supported on CPU (float32 or float64)`);
      const pb = p.size * (dtype === 'float64' ? 8 : 4);
      if (!cur || cur.dtype !== dtype || (bytes > 0 && bytes + pb > cap)) {
        cur = { params: [], offsets: [], numel: 0, dtype, flat: null, ready: 0, readySet: new Set(), work: null, deviceFlat: null };
        this.buckets.push(cur);
        bytes = 0;
      }
      cur.offsets.push(cur.numel);
      cur.params.push(p);
      cur.numel += p.size;
      bytes += pb;
      this.bucketOf.set(p, this.buckets.length - 1);
    }
    for (const b of this.buckets)
      if (b.params[0]!.device === 'cpu') b.flat = b.dtype === 'float64' ? new Float64Array(b.numel) : new Float32Array(b.numel);
    for (const p of params) this.removers.push(registerGradReadyHook(p, (leaf, g) => this.onGradReady(leaf as Parameter, g)));
  }

  // ---- backward ------------------------------------------------------------------------------
  private onGradReady(p: Parameter, g: Tensor): void {
    if (!this.requireBackwardGradSync || this.group.worldSize === 1) return;
    const bi = this.bucketOf.get(p);
    if (bi === undefined) return;
    if (!this.syncing) {
      this.syncing = true;
      queueBackwardCallback(() => this.finishSync());
    }
    const b = this.buckets[bi]!;
    if (b.readySet.has(p)) return;
    this.fill(b, p, g);
    this.launchReady();
  }

  /** Copies (accumulated .grad + this backward's g) into p's slot of its bucket. */
  private fill(b: Bucket, p: Parameter, g: Tensor | null): void {
    const k = b.params.indexOf(p);
    const off = b.offsets[k]!;
    b.readySet.add(p);
    b.ready++;
    if (b.flat) {
      const slot = b.flat.subarray(off, off + p.size);
      const src = g ? hostData(g) : null;
      const acc = p.grad && !p.grad.isDisposed ? hostData(p.grad) : null;
      if (src) slot.set(src);
      else if (g) slot.set(g.dataSync() as Float32Array);
      else slot.fill(0);
      if (acc) for (let i = 0; i < slot.length; i++) slot[i] = slot[i]! + acc[i]!;
    }
  }

  private launch(b: Bucket): void {
    this.stats.bucketsLaunched++;
    if (b.flat) {
      b.work = allReduceArray('DistributedDataParallel', b.flat, 'avg', true);
      return;
    }
    // CUDA (nccl): one flat device tensor per bucket, allReduced on the stream (unverified on GPUs)
    b.deviceFlat = keep(
      noGrad(() =>
        cat(
          b.params.map((p) => {
            const gr = p.grad && !p.grad.isDisposed ? p.grad : null;
            return (gr ?? p.detach().mul(0)).reshape([p.size]);
          }),
          0,
        ),
      ),
    );
    allReduce(b.deviceFlat, 'avg');
  }

  private launchReady(): void {
    while (this.nextLaunch < this.buckets.length) {
      const b = this.buckets[this.nextLaunch]!;
      if (b.ready < b.params.length || b.flat === null) break; // device buckets go at the end (grads committed)
      this.launch(b);
      this.stats.launchedDuringBackward++;
      this.nextLaunch++;
    }
  }

  /** After backward committed .grad: launch what is left, wait for everything, write the averages back. */
  private finishSync(): void {
    this.stats.syncs++;
    try {
      for (const b of this.buckets) for (const p of b.params) if (!b.readySet.has(p) && b.flat) this.fill(b, p, null);
      while (this.nextLaunch < this.buckets.length) this.launch(this.buckets[this.nextLaunch++]!);
      for (const b of this.buckets) {
        if (b.work) b.work.waitSync();
        b.params.forEach((p, k) => {
          const off = b.offsets[k]!;
          if (b.flat) {
            const avg = b.flat.subarray(off, off + p.size);
            const gd = p.grad && !p.grad.isDisposed ? hostData(p.grad) : null;
            if (gd) {
              gd.set(avg);
              bumpVersion(p.grad!.storage, 'DistributedDataParallel');
            } else {
              p.grad = keep(fromHost(avg.slice(), [...p.shape], b.dtype));
            }
          } else if (b.deviceFlat) {
            const part = noGrad(() => b.deviceFlat!.slice(0, off, off + p.size).reshape([...p.shape]));
            if (p.grad && !p.grad.isDisposed) {
              p.grad.copy_(part);
              part.dispose();
            } else p.grad = keep(part);
          }
        });
      }
    } finally {
      for (const b of this.buckets) {
        b.ready = 0;
        b.readySet.clear();
        b.work = null;
        b.deviceFlat?.dispose();
        b.deviceFlat = null;
      }
      this.nextLaunch = 0;
      this.syncing = false;
    }
  }

  /** @internal buckets as (parameter count, elements), last layer first: for tests and docs */
  bucketLayout(): { params: number; numel: number; dtype: string }[] {
    return this.buckets.map((b) => ({ params: b.params.length, numel: b.numel, dtype: b.dtype }));
  }
}
