// Accuracy and size of dynamic int8 vs fp32 for the MNIST MLP, trained briefly on the embedded set.
//
//   npx tsc -p tsconfig.bench.json && node dist-bench/bench/quant/int8-mnist.js [trainLimit] [epochs]
//
// Prints fp32 and int8 test accuracy (the 2,000-digit embedded test split), the argmax agreement,
// the largest logit difference, parameter bytes of both (summary) and the safetensors file sizes.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { evaluate, fit, manualSeed, noGrad, optim, quantization, save, tidy, type Tensor } from '../../lib/index.js';
import { loadMnist } from '../../lib/data/mnist.js';
import { mnistMlp } from '../../lib/models/index.js';

const trainLimit = Number(process.argv[2] ?? 4000);
const epochs = Number(process.argv[3] ?? 2);
const data = loadMnist({ trainLimit });
const [xTrain, yTrain] = data.train.tensors as [Tensor, Tensor];
const [xTest, yTest] = data.test.tensors as [Tensor, Tensor];
manualSeed(0);
const model = mnistMlp();
await fit(model, {
  x: xTrain,
  y: yTrain,
  batchSize: 64,
  shuffle: true,
  seed: 1,
  epochs,
  optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }),
  verbose: false,
});
model.zeroGrad();
model.eval();
const q = quantization.quantizeDynamic(model);
const acc = async (m: { forward(x: Tensor): Tensor }): Promise<number> =>
  (await evaluate(m as never, { x: xTest, y: yTest, batchSize: 500 }, { metrics: ['accuracy'] })).metrics.accuracy!;
const accF = await acc(model),
  accQ = await acc(q);
const { agree, maxDiff } = noGrad(() =>
  tidy(() => {
    const yf = model.forward(xTest),
      yq = q.forward(xTest);
    const af = yf.argmax(1).dataSync(),
      aq = yq.argmax(1).dataSync();
    let same = 0;
    for (let i = 0; i < af.length; i++) if (af[i] === aq[i]) same++;
    return { agree: same / af.length, maxDiff: yf.sub(yq).abs().max().item() };
  }),
);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-int8-'));
save(path.join(dir, 'f.safetensors'), model.stateDict());
quantization.saveQuantized(path.join(dir, 'q.safetensors'), q);
const sf = fs.statSync(path.join(dir, 'f.safetensors')).size,
  sq = fs.statSync(path.join(dir, 'q.safetensors')).size;
fs.rmSync(dir, { recursive: true, force: true });
const bf = model.summary([1, 1, 28, 28], { print: false }).totals.paramBytes,
  bq = q.summary([1, 1, 28, 28], { print: false }).totals.paramBytes;
console.log(
  JSON.stringify(
    {
      trainLimit,
      epochs,
      testSamples: yTest.shape[0],
      accuracy: { fp32: accF, int8: accQ, diffPoints: +(100 * (accQ - accF)).toFixed(2) },
      argmaxAgreement: agree,
      maxLogitDiff: +maxDiff.toFixed(4),
      paramBytes: { fp32: bf, int8: bq, ratio: +(bf / bq).toFixed(3) },
      fileBytes: { fp32: sf, int8: sq, ratio: +(sf / sq).toFixed(3) },
    },
    null,
    2,
  ),
);
