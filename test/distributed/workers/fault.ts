// Faults mid-training, argv[2]: 'kill' (rank 1 SIGKILLs itself at step 3) or 'stall' (rank 1
// stops calling collectives at step 3). The other ranks must fail with a clear error, not hang.
import { manualSeed, nn, optim, mseLoss, randn, tidy } from '../../../lib/index.js';
import * as dist from '../../../lib/distributed/index.js';
import { report } from './util.js';

const mode = process.argv[2] ?? 'kill';
const g = dist.initProcessGroup({ timeoutMs: Number(process.argv[3] ?? 3000) });
manualSeed(1);
const model = new nn.Sequential(new nn.Linear(8, 32), new nn.ReLU(), new nn.Linear(32, 1));
const ddp = new dist.DistributedDataParallel(model);
const opt = new optim.SGD(ddp.parameters(), { lr: 0.01 });
try {
  for (let step = 0; step < 1000; step++) {
    if (g.rank === 1 && step === 3) {
      if (mode === 'kill') process.kill(process.pid, 'SIGKILL');
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000); // stalls, calls nothing
    }
    opt.zeroGrad();
    tidy(() => mseLoss(ddp.forward(randn([4, 8])), randn([4, 1])).backward());
    opt.step();
  }
  report(g.rank, { finished: true });
} catch (e) {
  report(g.rank, { error: (e as Error).message });
  process.stderr.write(`rank ${g.rank}: ${(e as Error).message}\n`);
  process.exit(1);
}
