// DDP vs one process: every rank trains the DDP model on its slice of a global batch; rank 0
// also trains a plain copy (rank 0's initial weights) on the whole global batch. After the same
// SGD steps the weights must agree. argv: dtype bucketMb steps accumulate(0|1)
import { manualSeed, nn, optim, mseLoss, randn, tidy } from '../../../lib/index.js';
import * as dist from '../../../lib/distributed/index.js';
import type { Tensor } from '../../../lib/tensor.js';
import { report } from './util.js';

const [dtype = 'float64', bucketMb = '25', stepsArg = '4', accumArg = '0'] = process.argv.slice(2);
const steps = Number(stepsArg);
const accumulate = accumArg === '1';
const g = dist.initProcessGroup({ timeoutMs: 30_000 });
const W = g.worldSize;
const B = 3; // rows per rank per micro-batch

function makeModel(seed: number): nn.Sequential {
  manualSeed(seed);
  const m = new nn.Sequential(new nn.Linear(5, 16), new nn.Tanh(), new nn.Linear(16, 8), new nn.ReLU(), new nn.Linear(8, 2));
  return dtype === 'float64' ? m.double() : m;
}
// the global data, the same on every rank (seeded): micro-batches × (W·B) rows
manualSeed(1234);
const micro = accumulate ? 2 : 1;
const X: Tensor[] = [];
const Y: Tensor[] = [];
for (let s = 0; s < steps * micro; s++) {
  X.push(randn([W * B, 5], { dtype: dtype as 'float32' }).keep());
  Y.push(randn([W * B, 2], { dtype: dtype as 'float32' }).keep());
}
// rank r starts from different weights; DDP must broadcast rank 0's
const local = makeModel(100 + g.rank);
const ddp = new dist.DistributedDataParallel(local, { bucketMb: Number(bucketMb) });
const opt = new optim.SGD(ddp.parameters(), { lr: 0.1, momentum: 0.9 });
const mine = (t: Tensor): Tensor => t.slice(0, g.rank * B, (g.rank + 1) * B);
for (let s = 0; s < steps; s++) {
  opt.zeroGrad();
  for (let k = 0; k < micro; k++) {
    const i = s * micro + k;
    const run = (): void =>
      tidy(() => {
        const loss = mseLoss(ddp.forward(mine(X[i]!)), mine(Y[i]!)).mul(1 / micro);
        loss.backward();
      });
    if (k < micro - 1) ddp.noSync(run);
    else run();
  }
  opt.step();
}
const weights = (m: nn.Module): number[][] => [...m.parameters()].map((p) => Array.from(p.dataSync() as ArrayLike<number>));
const result: Record<string, unknown> = { weights: weights(local), stats: ddp.stats, buckets: ddp.bucketLayout() };
if (g.rank === 0) {
  const ref = makeModel(100);
  const ropt = new optim.SGD(ref.parameters(), { lr: 0.1, momentum: 0.9 });
  for (let s = 0; s < steps; s++) {
    ropt.zeroGrad();
    // the mean over every rank's rows of every micro-batch = one backward on all of them
    tidy(() => {
      const xs = X.slice(s * micro, (s + 1) * micro);
      const ys = Y.slice(s * micro, (s + 1) * micro);
      let loss: Tensor | null = null;
      for (let k = 0; k < micro; k++) {
        const l = mseLoss(ref.forward(xs[k]!), ys[k]!).mul(1 / micro);
        loss = loss ? loss.add(l) : l;
      }
      loss!.backward();
    });
    ropt.step();
  }
  result.reference = weights(ref);
  result.initialDiffered = true;
}
report(g.rank, result);
