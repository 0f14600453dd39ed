// Collectives on tensors, with torch.distributed's names and semantics:
//   allReduce(t, op)                 in place: t = op over ranks of t ('sum' | 'avg' | 'max' | 'min')
//   broadcast(t, src)                in place: t = rank src's t
//   allGather(outputs, t)            outputs[r] = rank r's t (a list of worldSize tensors)
//   allGatherIntoTensor(out, t)      out = cat over ranks of t along dim 0
//   reduceScatter(out, inputs, op)   out = op over ranks of inputs[rank]
//   reduceScatterTensor(out, t, op)  out = this rank's block of op over ranks of t (dim 0 split)
//   barrier()
// Each has an *Async form (torch's async_op=True) returning a Work: the collective runs on the
// addon's communication thread while JS goes on; wait() resolves a Promise, waitSync() blocks.
// Do not read, write or dispose the tensors until then.
//
// CPU tensors go through MPI, on their storage's typed arrays (zero copy). CUDA tensors under the
// 'nccl' backend go through NCCL on the device stream (the Work is complete at once: later kernels
// on the stream see the result). WATTGRAD_DIST_DEBUG=1 (torch's TORCH_DISTRIBUTED_DEBUG=DETAIL)
// checks before each collective that every rank called the same one with the same dtype and
// shape, and names the first rank that differs.

import { bumpVersion } from '../memory.js';
import { isTensor, type Tensor } from '../tensor.js';
import { fmtShape, sameShape } from '../shape.js';
import { JsHandle } from '../backend/js/handle.js';
import { currentGroup, pendingWork, type ProcessGroup } from './group.js';
import type { HostArray } from './native.js';

export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';

const KIND = { allReduce: 0, broadcast: 1, allGather: 2, reduceScatter: 3, barrier: 4 } as const;
type Kind = keyof typeof KIND;
const OPS: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2, avg: 3 };
const DTYPES: Record<string, number> = { float32: 0, float64: 1, int32: 2, float16: 4, bfloat16: 5 };

/** An async collective's handle (torch's Work). */
export class Work {
  private done = false;
  private error: Error | null = null;
  private listeners: (() => void)[] = [];

  /** @internal */
  constructor(
    private readonly group: ProcessGroup | null,
    private readonly id: number,
    private readonly finish: () => void,
  ) {
    if (id < 0) this.settle(null);
    else pendingWork.set(id, (e) => this.settle(e, true));
  }

  private settle(e: string | null, fromCallback = false): void {
    if (this.done) return;
    this.done = true;
    if (this.id >= 0) {
      pendingWork.delete(this.id);
      if (fromCallback) this.group?.binding.distForget(this.id);
    }
    if (e === null) {
      try {
        this.finish();
      } catch (err) {
        this.error = err as Error;
      }
    } else this.error = new Error(e);
    for (const l of this.listeners) l();
    this.listeners = [];
  }

  /** True once the collective finished (successfully or not). */
  isCompleted(): boolean {
    return this.done;
  }

  /** Blocks the JS thread until the collective finished; throws its error. */
  waitSync(): void {
    if (!this.done && this.group) {
      try {
        this.group.binding.distWait(this.id);
        this.settle(null);
      } catch (e) {
        this.settle((e as Error).message);
      }
    }
    if (this.error) throw this.error;
  }

  /** Resolves when the collective finished (rejects with its error); the event loop keeps running. */
  wait(): Promise<void> {
    if (this.done) return this.error ? Promise.reject(this.error) : Promise.resolve();
    return new Promise((resolve, reject) => this.listeners.push(() => (this.error ? reject(this.error) : resolve())));
  }
}

function checkTensor(where: string, name: string, t: unknown): asserts t is Tensor {
  if (!isTensor(t)) throw new TypeError(`${where}: ${name} must be a Tensor, got ${t === null ? 'null' : typeof t}`);
  if (t.isDisposed) throw new Error(`${where}: ${name} was disposed`);
}

function hostArray(where: string, t: Tensor): HostArray {
  const h = t.handle;
  if (!(h instanceof JsHandle)) {
    throw new TypeError(
      `${where}: a ${t.device} tensor needs the 'nccl' backend (initProcessGroup({ backend: 'nccl' })); the 'mpi' backend takes CPU tensors (move it with .cpu())`,
    );
  }
  if (h.data.length !== t.size) throw new Error(`${where}: internal: the tensor's storage holds ${h.data.length} elements, not ${t.size}`);
  return h.data;
}

function dtypeCode(where: string, t: Tensor): number {
  const c = DTYPES[t.dtype];
  if (c === undefined || (c > 2 && t.device === 'cpu'))
    throw new TypeError(`${where}: dtype ${t.dtype} is not supported (float32, float64 or int32 on CPU)`);
  return c;
}

function opCode(where: string, op: unknown, t: Tensor): number {
  if (typeof op !== 'string' || !(op in OPS))
    throw new RangeError(`${where}: op must be 'sum', 'avg', 'max' or 'min', got ${JSON.stringify(op)}`);
  if (op === 'avg' && t.dtype === 'int32') throw new TypeError(`${where}: op 'avg' needs a float tensor (got int32); use 'sum' and divide`);
  return OPS[op as ReduceOp];
}

function sameKind(where: string, a: Tensor, b: Tensor, aName: string, bName: string): void {
  if (a.dtype !== b.dtype) throw new TypeError(`${where}: ${bName} is ${b.dtype} but ${aName} is ${a.dtype}; they must match`);
  if (a.device !== b.device) throw new Error(`${where}: ${bName} is on ${b.device} but ${aName} is on ${a.device}`);
}

/**
 * WATTGRAD_DIST_DEBUG=1: every rank shares what it is about to call (kind, dtype, op, root, shape)
 * and the first rank that differs is named.
 */
function debugCheck(g: ProcessGroup, where: string, kind: Kind, t: Tensor | null, op: number, root: number): void {
  if (process.env.WATTGRAD_DIST_DEBUG !== '1' && process.env.WATTGRAD_DIST_DEBUG !== 'detail') return;
  const D = 12;
  const mine = new Int32Array(D).fill(-1);
  mine[0] = KIND[kind];
  mine[1] = t ? (DTYPES[t.dtype] ?? -2) : -1;
  mine[2] = op;
  mine[3] = root;
  mine[4] = t ? t.ndim : -1;
  if (t) t.shape.slice(0, 7).forEach((s, i) => (mine[5 + i] = s));
  const all = new Int32Array(D * g.worldSize);
  g.binding.distWait(g.binding.distSubmit(KIND.allGather, mine, all, D, 2, 0, 0, false));
  const desc = (a: Int32Array): string => {
    const k = (Object.keys(KIND) as Kind[]).find((n) => KIND[n] === a[0]) ?? '?';
    const dt = Object.keys(DTYPES).find((n) => DTYPES[n] === a[1]) ?? '-';
    return a[4]! < 0 ? k : `${k} of ${dt} [${Array.from(a.subarray(5, 5 + Math.min(a[4]!, 7))).join(', ')}]`;
  };
  for (let r = 0; r < g.worldSize; r++) {
    const theirs = all.subarray(r * D, (r + 1) * D);
    if (theirs.some((v, i) => v !== mine[i])) {
      throw new Error(`${where}: rank ${r} called ${desc(theirs)} while rank ${g.rank} called ${desc(mine)} (WATTGRAD_DIST_DEBUG)`);
    }
  }
}

function submit(
  g: ProcessGroup,
  where: string,
  kind: Kind,
  send: HostArray | null,
  recv: HostArray | null,
  count: number,
  dtype: number,
  op: number,
  root: number,
  async: boolean,
  finish: () => void,
): Work {
  const id = g.binding.distSubmit(KIND[kind], send, recv, count, dtype, op, root, async);
  const w = new Work(g, id, finish);
  if (!async) w.waitSync();
  return w;
}

function nccl(g: ProcessGroup, t: Tensor): boolean {
  if (t.device === 'cpu') return false;
  if (g.backend !== 'nccl' || !g.binding.distNcclCollective)
    throw new TypeError(`a ${t.device} tensor needs the 'nccl' backend (initProcessGroup({ backend: 'nccl' })); 'mpi' takes CPU tensors`);
  return true;
}

function runNccl(
  g: ProcessGroup,
  kind: Kind,
  send: Tensor | null,
  recv: Tensor,
  count: number,
  dt: number,
  op: number,
  root: number,
): Work {
  g.binding.distNcclCollective!(KIND[kind], send ? send.handle : null, recv.handle, count, dt, op, root);
  bumpVersion(recv.storage, kind);
  return new Work(g, -1, () => {});
}

function allReduceImpl(t: Tensor, op: ReduceOp, async: boolean): Work {
  const where = async ? 'allReduceAsync' : 'allReduce';
  checkTensor(where, 'tensor', t);
  const g = currentGroup(where);
  const dt = dtypeCode(where, t);
  const oc = opCode(where, op, t);
  debugCheck(g, where, 'allReduce', t, oc, 0);
  if (nccl(g, t)) return runNccl(g, 'allReduce', t, t, t.size, dt, oc, 0);
  const a = hostArray(where, t);
  return submit(g, where, 'allReduce', a, a, t.size, dt, oc, 0, async, () => bumpVersion(t.storage, where));
}

/** t = op over every rank's t, in place (torch.distributed.all_reduce). Returns t. */
export function allReduce(t: Tensor, op: ReduceOp = 'sum'): Tensor {
  allReduceImpl(t, op, false);
  return t;
}
/** allReduce on the communication thread; the Work says when t holds the result. */
export function allReduceAsync(t: Tensor, op: ReduceOp = 'sum'): Work {
  return allReduceImpl(t, op, true);
}

function srcRank(where: string, g: ProcessGroup, src: unknown): number {
  if (!Number.isInteger(src) || (src as number) < 0 || (src as number) >= g.worldSize)
    throw new RangeError(`${where}: src must be a rank in [0, ${g.worldSize}), got ${String(src)}`);
  return src as number;
}

function broadcastImpl(t: Tensor, src: number, async: boolean): Work {
  const where = async ? 'broadcastAsync' : 'broadcast';
  checkTensor(where, 'tensor', t);
  const g = currentGroup(where);
  const root = srcRank(where, g, src);
  const dt = dtypeCode(where, t);
  debugCheck(g, where, 'broadcast', t, 0, root);
  if (nccl(g, t)) return runNccl(g, 'broadcast', null, t, t.size, dt, 0, root);
  const a = hostArray(where, t);
  return submit(g, where, 'broadcast', null, a, t.size, dt, 0, root, async, () => bumpVersion(t.storage, where));
}

/** t = rank src's t, in place (torch.distributed.broadcast). Returns t. */
export function broadcast(t: Tensor, src = 0): Tensor {
  broadcastImpl(t, src, false);
  return t;
}
export function broadcastAsync(t: Tensor, src = 0): Work {
  return broadcastImpl(t, src, true);
}

function allGatherIntoImpl(where: string, out: Tensor, t: Tensor, async: boolean): Work {
  checkTensor(where, 'output', out);
  checkTensor(where, 'input', t);
  const g = currentGroup(where);
  sameKind(where, t, out, 'input', 'output');
  if (out.size !== t.size * g.worldSize || (out.ndim > 0 && t.ndim > 0 && out.shape[0] !== t.shape[0]! * g.worldSize))
    throw new RangeError(
      `${where}: output ${fmtShape(out.shape)} must hold worldSize (${g.worldSize}) × input ${fmtShape(t.shape)} along dim 0`,
    );
  const dt = dtypeCode(where, t);
  debugCheck(g, where, 'allGather', t, 0, 0);
  if (nccl(g, t)) return runNccl(g, 'allGather', t, out, t.size, dt, 0, 0);
  return submit(g, where, 'allGather', hostArray(where, t), hostArray(where, out), t.size, dt, 0, 0, async, () =>
    bumpVersion(out.storage, where),
  );
}

/** out = cat over ranks of t along dim 0 (torch.distributed.all_gather_into_tensor). Returns out. */
export function allGatherIntoTensor(out: Tensor, t: Tensor): Tensor {
  allGatherIntoImpl('allGatherIntoTensor', out, t, false);
  return out;
}
export function allGatherIntoTensorAsync(out: Tensor, t: Tensor): Work {
  return allGatherIntoImpl('allGatherIntoTensorAsync', out, t, true);
}

function allGatherImpl(outs: Tensor[], t: Tensor, async: boolean): Work {
  const where = async ? 'allGatherAsync' : 'allGather';
  checkTensor(where, 'tensor', t);
  const g = currentGroup(where);
  if (!Array.isArray(outs) || outs.length !== g.worldSize)
    throw new RangeError(
      `${where}: tensorList must be an array of worldSize (${g.worldSize}) tensors, got ${Array.isArray(outs) ? outs.length : typeof outs}`,
    );
  outs.forEach((o, r) => {
    checkTensor(where, `tensorList[${r}]`, o);
    sameKind(where, t, o, 'tensor', `tensorList[${r}]`);
    if (!sameShape(o.shape, t.shape))
      throw new RangeError(`${where}: tensorList[${r}] has shape ${fmtShape(o.shape)}, the tensor ${fmtShape(t.shape)}; they must match`);
  });
  const dt = dtypeCode(where, t);
  debugCheck(g, where, 'allGather', t, 0, 0);
  if (t.device !== 'cpu') throw new TypeError(`${where}: a list output is for CPU tensors; use allGatherIntoTensor on ${t.device}`);
  const a = hostArray(where, t);
  const recv = new (a.constructor as new (n: number) => HostArray)(t.size * g.worldSize);
  return submit(g, where, 'allGather', a, recv, t.size, dt, 0, 0, async, () => {
    outs.forEach((o, r) => {
      hostArray(where, o).set(recv.subarray(r * t.size, (r + 1) * t.size) as never);
      bumpVersion(o.storage, where);
    });
  });
}

/** tensorList[r] = rank r's tensor (torch.distributed.all_gather). */
export function allGather(tensorList: Tensor[], t: Tensor): Tensor[] {
  allGatherImpl(tensorList, t, false);
  return tensorList;
}
export function allGatherAsync(tensorList: Tensor[], t: Tensor): Work {
  return allGatherImpl(tensorList, t, true);
}

function reduceScatterTensorImpl(where: string, out: Tensor, t: Tensor, op: ReduceOp, async: boolean): Work {
  checkTensor(where, 'output', out);
  checkTensor(where, 'input', t);
  const g = currentGroup(where);
  sameKind(where, t, out, 'input', 'output');
  if (t.size !== out.size * g.worldSize)
    throw new RangeError(`${where}: input ${fmtShape(t.shape)} must hold worldSize (${g.worldSize}) × output ${fmtShape(out.shape)}`);
  const dt = dtypeCode(where, t);
  const oc = opCode(where, op, t);
  debugCheck(g, where, 'reduceScatter', t, oc, 0);
  if (nccl(g, t)) return runNccl(g, 'reduceScatter', t, out, out.size, dt, oc, 0);
  return submit(g, where, 'reduceScatter', hostArray(where, t), hostArray(where, out), out.size, dt, oc, 0, async, () =>
    bumpVersion(out.storage, where),
  );
}

/** out = this rank's block (dim 0) of op over ranks of t (torch.distributed.reduce_scatter_tensor). Returns out. */
export function reduceScatterTensor(out: Tensor, t: Tensor, op: ReduceOp = 'sum'): Tensor {
  reduceScatterTensorImpl('reduceScatterTensor', out, t, op, false);
  return out;
}
export function reduceScatterTensorAsync(out: Tensor, t: Tensor, op: ReduceOp = 'sum'): Work {
  return reduceScatterTensorImpl('reduceScatterTensorAsync', out, t, op, true);
}

function reduceScatterImpl(out: Tensor, inputs: Tensor[], op: ReduceOp, async: boolean): Work {
  const where = async ? 'reduceScatterAsync' : 'reduceScatter';
  checkTensor(where, 'output', out);
  const g = currentGroup(where);
  if (!Array.isArray(inputs) || inputs.length !== g.worldSize)
    throw new RangeError(
      `${where}: inputList must be an array of worldSize (${g.worldSize}) tensors, got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`,
    );
  inputs.forEach((x, r) => {
    checkTensor(where, `inputList[${r}]`, x);
    sameKind(where, out, x, 'output', `inputList[${r}]`);
    if (!sameShape(x.shape, out.shape))
      throw new RangeError(`${where}: inputList[${r}] has shape ${fmtShape(x.shape)}, the output ${fmtShape(out.shape)}; they must match`);
  });
  const dt = dtypeCode(where, out);
  const oc = opCode(where, op, out);
  debugCheck(g, where, 'reduceScatter', out, oc, 0);
  if (out.device !== 'cpu') throw new TypeError(`${where}: a list input is for CPU tensors; use reduceScatterTensor on ${out.device}`);
  const o = hostArray(where, out);
  const send = new (o.constructor as new (n: number) => HostArray)(out.size * g.worldSize);
  inputs.forEach((x, r) => send.set(hostArray(where, x) as never, r * out.size));
  return submit(g, where, 'reduceScatter', send, o, out.size, dt, oc, 0, async, () => bumpVersion(out.storage, where));
}

/** out = op over ranks of inputList[rank] (torch.distributed.reduce_scatter). Returns out. */
export function reduceScatter(out: Tensor, inputList: Tensor[], op: ReduceOp = 'sum'): Tensor {
  reduceScatterImpl(out, inputList, op, false);
  return out;
}
export function reduceScatterAsync(out: Tensor, inputList: Tensor[], op: ReduceOp = 'sum'): Work {
  return reduceScatterImpl(out, inputList, op, true);
}

/** Waits until every rank reached the barrier (torch.distributed.barrier). */
export function barrier(): void {
  const g = currentGroup('barrier');
  debugCheck(g, 'barrier', 'barrier', null, 0, 0);
  submit(g, 'barrier', 'barrier', null, null, 0, 0, 0, 0, false, () => {});
}
export function barrierAsync(): Work {
  const g = currentGroup('barrierAsync');
  return submit(g, 'barrierAsync', 'barrier', null, null, 0, 0, 0, 0, true, () => {});
}

/** @internal allReduce on a raw host array (DDP's flat buckets, fit's metric sums). */
export function allReduceArray(
  where: string,
  a: Float32Array | Float64Array | Int32Array,
  op: ReduceOp,
  async: boolean,
  finish: () => void = () => {},
): Work {
  const g = currentGroup(where);
  const dt = a instanceof Float32Array ? 0 : a instanceof Float64Array ? 1 : 2;
  return submit(g, where, 'allReduce', a, a, a.length, dt, OPS[op], 0, async, finish);
}

/** @internal broadcast / allGather on raw host arrays (DDP's construction checks). */
export function broadcastArray(where: string, a: HostArray, src: number): void {
  const g = currentGroup(where);
  const dt = a instanceof Float32Array ? 0 : a instanceof Float64Array ? 1 : a instanceof Int32Array ? 2 : 3;
  submit(g, where, 'broadcast', null, a, a.length, dt, 0, src, false, () => {});
}
export function allGatherArray(where: string, a: Int32Array | Uint8Array): Int32Array | Uint8Array {
  const g = currentGroup(where);
  const out = a instanceof Int32Array ? new Int32Array(a.length * g.worldSize) : new Uint8Array(a.length * g.worldSize);
  submit(g, where, 'allGather', a, out, a.length, a instanceof Int32Array ? 2 : 3, 0, 0, false, () => {});
  return out;
}
