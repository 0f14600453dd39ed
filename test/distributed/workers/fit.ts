// fit() under DDP: progress on rank 0 only, epoch loss/metrics/validation reduced over ranks,
// ModelCheckpoint written by rank 0 only, energy per rank summed, resumeFrom on every rank.
import fs from 'node:fs';
import path from 'node:path';
import { manualSeed, nn, optim, randn, randint, fit, ModelCheckpoint, data } from '../../../lib/index.js';
import * as dist from '../../../lib/distributed/index.js';
import { report } from './util.js';

const g = dist.initProcessGroup({ timeoutMs: 30_000 });
const dir = process.env.WATTGRAD_TEST_OUT!;
manualSeed(5); // the same data on every rank
const N = 60; // 60 samples: 30 (2 ranks) or 20 (3 ranks) per rank
const X = randn([N, 6]).keep();
const Y = randint(0, 3, [N]).keep();
const ds = new data.TensorDataset(X, Y);
const valDs = new data.TensorDataset(X.slice(0, 0, 30), Y.slice(0, 0, 30));
manualSeed(50 + g.rank); // different initial weights: DDP broadcasts rank 0's
const model = new dist.DistributedDataParallel(new nn.Sequential(new nn.Linear(6, 12), new nn.ReLU(), new nn.Linear(12, 3)));
const opt = new optim.SGD(model.parameters(), { lr: 0.2 });
const train = new data.DistributedSampler(ds, { seed: 1 }).loader({ batchSize: 5 });
const validation = new data.DistributedSampler(valDs, { shuffle: false }).loader({ batchSize: 10 });
const ckpt = path.join(dir, `ckpt-rank${g.rank}.safetensors`);
const h = await fit(model, {
  train,
  validation,
  optimizer: opt,
  epochs: 2,
  metrics: ['accuracy'],
  energy: { cpu: true, gpu: false },
  logInterval: 2,
  callbacks: [new ModelCheckpoint({ path: ckpt })],
});
const weights = (): number[] => model.parameters().flatMap((p) => Array.from(p.dataSync() as ArrayLike<number>));
const afterTwo = weights();
// resume from rank 0's checkpoint on every rank, one epoch more (after a barrier: rank 0 has written it)
dist.barrier();
const h2 = await fit(model, { train, optimizer: opt, epochs: 3, verbose: false, resumeFrom: path.join(dir, 'ckpt-rank0.safetensors') });
report(g.rank, {
  epochs: h.epochs.map((e) => ({
    loss: e.loss,
    acc: e.metrics.accuracy,
    valLoss: e.valLoss,
    valAcc: e.valMetrics?.accuracy,
    samples: e.samples,
  })),
  energy: h.energy ? { flops: h.energy.flops, distributed: (h.energy as { distributed?: unknown }).distributed } : null,
  checkpoint: fs.existsSync(ckpt),
  afterTwo,
  resumedEpochs: h2.epochs.length,
  final: weights(),
});
