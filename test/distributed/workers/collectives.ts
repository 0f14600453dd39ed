// Every collective, every dtype, sync and async, on this rank's inputs values(rank); prints the
// outputs (collectives.test.ts computes what they must be by hand).
import { tensor, zeros } from '../../../lib/index.js';
import * as dist from '../../../lib/distributed/index.js';
import type { Tensor } from '../../../lib/tensor.js';
import { report } from './util.js';

type DT = 'float32' | 'float64' | 'int32';
export const N = 6;
/** rank r's input: ±(r+1)(i+1) (+ r/4 for floats), alternating signs so max and min differ from sum */
function values(r: number, n: number, dtype: DT, salt = 0): number[] {
  return Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (r + 1) * (i + 1 + salt) + (dtype === 'int32' ? 0 : r / 4));
}
const arr = (t: Tensor): number[] => Array.from(t.dataSync() as ArrayLike<number>);

const g = dist.initProcessGroup({ backend: 'mpi', timeoutMs: 30_000 });
const r = g.rank;
const W = g.worldSize;
const out: Record<string, number[]> = {};
const errors: Record<string, string> = {};
for (const dtype of ['float32', 'float64', 'int32'] as DT[]) {
  const ops = dtype === 'int32' ? (['sum', 'max', 'min'] as const) : (['sum', 'avg', 'max', 'min'] as const);
  for (const op of ops) {
    const t = tensor(values(r, N, dtype), { dtype });
    dist.allReduce(t, op);
    out[`allReduce.${dtype}.${op}`] = arr(t);
    const a = tensor(values(r, N, dtype), { dtype });
    const w = dist.allReduceAsync(a, op);
    await w.wait();
    out[`allReduceAsync.${dtype}.${op}`] = arr(a);
  }
  const b = tensor(values(r, N, dtype), { dtype });
  dist.broadcast(b, W - 1);
  out[`broadcast.${dtype}`] = arr(b);
  const bw = tensor(values(r, N, dtype), { dtype });
  dist.broadcastAsync(bw, 0).waitSync();
  out[`broadcastAsync.${dtype}`] = arr(bw);
  const list = Array.from({ length: W }, () => zeros([2, 3], { dtype }));
  dist.allGather(list, tensor(values(r, N, dtype), { dtype }).reshape([2, 3]));
  out[`allGather.${dtype}`] = list.flatMap(arr);
  const into = zeros([2 * W, 3], { dtype });
  await dist.allGatherIntoTensorAsync(into, tensor(values(r, N, dtype), { dtype }).reshape([2, 3])).wait();
  out[`allGatherIntoTensor.${dtype}`] = arr(into);
  // reduceScatter: input block k of rank r is values(r, N, dtype, salt k)
  const inputs = Array.from({ length: W }, (_, k) => tensor(values(r, N, dtype, k), { dtype }));
  const rs = zeros([N], { dtype });
  dist.reduceScatter(rs, inputs, 'sum');
  out[`reduceScatter.${dtype}.sum`] = arr(rs);
  const rsm = zeros([N], { dtype });
  dist.reduceScatterAsync(rsm, inputs, 'max').waitSync();
  out[`reduceScatter.${dtype}.max`] = arr(rsm);
  const flatIn = tensor(
    inputs.flatMap((x) => arr(x)),
    { dtype },
  );
  const rst = zeros([N], { dtype });
  dist.reduceScatterTensor(rst, flatIn, 'min');
  out[`reduceScatterTensor.${dtype}.min`] = arr(rst);
}
// several async allReduces in flight at once complete in issue order, each correct
const many = Array.from({ length: 8 }, (_, k) => tensor(values(r, 1000, 'float64', k), { dtype: 'float64' }));
const works = many.map((t) => dist.allReduceAsync(t, 'sum'));
await Promise.all(works.map((w) => w.wait()));
out.manyAsync = many.map((t) => arr(t)[999]!);
dist.barrier();
await dist.barrierAsync().wait();
// the async form runs off the JS thread: rank 0 starts it while the others are still busy for
// 300 ms, and its event loop keeps turning until the others join
const late = tensor(values(r, N, 'float64'), { dtype: 'float64' });
let ticks = 0;
if (r === 0) {
  const w = dist.allReduceAsync(late, 'sum');
  const pendingAtStart = !w.isCompleted();
  while (!w.isCompleted()) {
    await new Promise((res) => setImmediate(res));
    ticks++;
  }
  await w.wait();
  out.asyncTicks = [ticks, pendingAtStart ? 1 : 0];
} else {
  const t0 = Date.now();
  while (Date.now() - t0 < 300);
  dist.allReduce(late, 'sum');
}
out.late = arr(late);
// local mismatch errors
const catchMsg = (k: string, f: () => unknown): void => {
  try {
    f();
    errors[k] = 'no error';
  } catch (e) {
    errors[k] = (e as Error).message;
  }
};
catchMsg('dtype', () => dist.allGatherIntoTensor(zeros([2 * W], { dtype: 'float64' }), zeros([2])));
catchMsg('shape', () => dist.allGatherIntoTensor(zeros([3 * W + 1]), zeros([3])));
catchMsg('listLength', () => dist.allGather([zeros([2])], zeros([2])));
catchMsg('op', () => dist.allReduce(zeros([2], { dtype: 'int32' }), 'avg'));
catchMsg('src', () => dist.broadcast(zeros([2]), W));
catchMsg('init twice', () => dist.initProcessGroup());
report(r, {
  worldSize: W,
  info: { rank: g.rank, size: g.worldSize, impl: g.mpi.implementation, thread: g.mpi.threadLevel },
  out,
  errors,
  rankEnv: dist.launchEnv(),
});
dist.destroyProcessGroup();
