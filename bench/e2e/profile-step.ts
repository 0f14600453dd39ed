// Times the bench's e2e training steps (the goal table's "train cnn b64" and MLP cases) alone, for
// profiling: node --cpu-prof dist-bench/bench/e2e/profile-step.js [cnn|mlp] [batch] [steps]
import { makeModel, makeTrainer } from './models.js';
import { fromHost } from '../../lib/ops/creation.js';

const [name = 'cnn', batchS = '64', stepsS = '200'] = process.argv.slice(2);
const batch = Number(batchS),
  steps = Number(stepsS);
const ctx = { backend: 'js', device: 'cpu', quick: false } as unknown as Parameters<typeof makeModel>[0];
const model = makeModel(ctx, name as 'cnn' | 'mlp');
const trainer = makeTrainer(model);
const shape = model.inputShape(batch);
const n = shape.reduce((a, b) => a * b, 1);
const x = fromHost(
  Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5 + 0.5),
  shape,
  'float32',
  'cpu',
);
const y = fromHost(
  Int32Array.from({ length: batch }, (_, i) => (i * 7) % 10),
  [batch],
  'int32',
  'cpu',
);
for (let i = 0; i < 10; i++) trainer.step(x, y);
const ts: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = process.hrtime.bigint();
  trainer.step(x, y);
  ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
ts.sort((a, b) => a - b);
console.log(`${name} b${batch}: median ${ts[ts.length >> 1]!.toFixed(3)} ms over ${steps} steps`);
