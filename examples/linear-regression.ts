// Linear regression, the explicit PyTorch-style loop: y = 3·x₁ − 2·x₂ + 1 + noise.
// Run: npx tsc -p examples && node dist-examples/examples/linear-regression.js  (or import { run } in a test)

import { pathToFileURL } from 'node:url';
import * as wg from '../lib/index.js';

export async function run(
  o: { epochs?: number; seed?: number; verbose?: boolean } = {},
): Promise<{ weight: number[]; bias: number; loss: number }> {
  wg.manualSeed(o.seed ?? 0);
  const n = 512;
  const x = wg.randn([n, 2]);
  const noise = wg.tidy(() => wg.randn([n, 1]).mul(0.05));
  const y = wg.tidy(() =>
    x
      .matmul(wg.tensor([[3], [-2]]))
      .add(1)
      .add(noise),
  );
  const loader = new wg.data.DataLoader(new wg.data.TensorDataset(x, y), { batchSize: 32, shuffle: true, seed: 0 });

  const model = new wg.nn.Linear(2, 1);
  const opt = new wg.optim.SGD(model.parameters(), { lr: 0.1 });
  let last = NaN;
  for (let epoch = 1; epoch <= (o.epochs ?? 20); epoch++) {
    let sum = wg.zeros([]);
    for (const [xb, yb] of loader) {
      const next = wg.tidy(() => {
        opt.zeroGrad();
        const loss = wg.mseLoss(model.forward(xb!), yb!);
        loss.backward();
        opt.step();
        return sum.add(loss.detach()); // running sum stays on the device
      });
      sum.dispose();
      sum = next;
    }
    last = sum.item() / loader.length; // one readback per epoch
    sum.dispose();
    if (o.verbose) console.log(`epoch ${epoch}: mse ${last.toFixed(5)}`);
  }
  const weight = [...model.weight.dataSync()];
  const bias = model.bias!.item();
  for (const t of [x, noise, y]) t.dispose();
  model.dispose();
  return { weight, bias, loss: last };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const term = (v: number, x = ''): string => `${v < 0 ? '−' : '+'} ${Math.abs(v).toFixed(3)}${x}`;
  run({ verbose: true }).then((r) =>
    console.log(`learned y = ${r.weight[0]!.toFixed(3)}·x₁ ${term(r.weight[1]!, '·x₂')} ${term(r.bias)}  (true: 3·x₁ − 2·x₂ + 1)`),
  );
}
