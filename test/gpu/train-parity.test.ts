// Issue 5 on a GPU, part 1: every seed model trains on cuda the same way it trains on js.
//
// For each seed model: the same seed, the same first N batches of the embedded MNIST training
// split (same shuffle), N optimizer steps through fit() on 'cpu' (the js reference) and on
// 'cuda:0', the loss read after every step. Then both models are evaluated on the fixed
// 2,000-digit test split.
//   - step 1's loss (the same initial weights on the same batch) within rtol 1e-4;
//   - the first 5 steps within rtol 1e-4, every step within rtol 1e-3. Measured on js, float32 vs
//     float64 over these runs drifts by at most 5e-6 relative, so a correct cuda backend (other
//     summation orders, same float32) stays far inside; a wrong kernel, RNG stream or optimizer
//     step shows up at the first step it touches;
//   - test accuracy within 1 percentage point.
// Step counts are small because the js side of the comparison runs here too (the full-length
// runs and the accuracy targets are in train-targets.test.ts).
//
// Cost on the GPU machine: ~20 s, nearly all of it the js reference (js: CNN ~0.2 s/step,
// LSTM ~0.15 s/step, a 2,000-digit evaluation ~2 s each on one core).
import { expect, it } from 'vitest';
import { assertClose } from '../util/backends.js';
import { describeCuda, leakGuard } from './cuda.js';
import { pct, trainSeedModel, type SeedModel } from './seed-models.js';
import { scaled, SIM_SCALE } from '../util/scale.js';

// steps of batch 64 (the first steps × 64 training digits, one epoch)
const STEPS: [SeedModel, number][] = [
  ['logistic', 60],
  ['mnist-mlp', 60],
  ['mnist-cnn', 25],
  ['mnist-lstm', 40],
];
// Under the simulator (WATTGRAD_TEST_SCALE=sim: ~2M simulated thread instructions/s) a few steps
// on ONE small batch, repeated as epochs (so the loss must fall on it), evaluated on 8 test
// digits: [model, steps, batch]. The same comparisons with js, step for step. (One CNN image,
// forward and backward, is ~45M simulated instructions: ~25 s.)
const SIM_STEPS: [SeedModel, number, number][] = [
  ['logistic', 4, 16],
  ['mnist-mlp', 3, 4],
  ['mnist-cnn', 2, 1],
  ['mnist-lstm', 3, 2],
];
const SIM_TEST_DIGITS = 8;

describeCuda('seed models train on cuda as on js (issue 5)', (device) => {
  const plan: [SeedModel, number, number][] = SIM_SCALE ? SIM_STEPS : STEPS.map(([m, s]) => [m, s, 64]);
  for (const [name, steps, batch] of plan) {
    it(
      `${name}: ${steps} steps on cpu and ${device} give the same loss curve and test accuracy`,
      async () => {
        const done = leakGuard(name);
        const opts = SIM_SCALE
          ? { epochs: steps, trainLimit: batch, batchSize: batch, testLimit: SIM_TEST_DIGITS, logInterval: 1, seed: 0 }
          : { epochs: 1, trainLimit: steps * 64, logInterval: 1, seed: 0 };
        const js = await trainSeedModel(name, { ...opts, device: 'cpu' });
        const cu = await trainSeedModel(name, { ...opts, device });
        console.log(
          `[parity] ${name}: ${steps} steps; loss js ${js.losses.at(-1)!.toFixed(5)} cuda ${cu.losses.at(-1)!.toFixed(5)}; ` +
            `test accuracy js ${pct(js.testAccuracy)} cuda ${pct(cu.testAccuracy)}; ` +
            `max rel loss diff ${Math.max(...cu.losses.map((l, i) => Math.abs(l - js.losses[i]!) / Math.abs(js.losses[i]!))).toExponential(2)}`,
        );

        expect(js.losses).toHaveLength(steps);
        expect(cu.losses).toHaveLength(steps);
        for (const l of cu.losses) expect(Number.isFinite(l), `cuda loss ${l}`).toBe(true);
        assertClose(
          cu.losses.slice(0, 1),
          js.losses.slice(0, 1),
          { rtol: 1e-4, atol: 1e-6 },
          `${name} loss at step 1 (same init, same batch), cuda vs js`,
        );
        assertClose(cu.losses.slice(0, 5), js.losses.slice(0, 5), { rtol: 1e-4, atol: 1e-6 }, `${name} loss, steps 1-5, cuda vs js`);
        assertClose(cu.losses, js.losses, { rtol: 1e-3, atol: 1e-5 }, `${name} loss, all ${steps} steps, cuda vs js`);
        // training did something (the comparison is not between two untrained models)
        expect(cu.losses.at(-1)!).toBeLessThan(cu.losses[0]!);
        expect(
          Math.abs(cu.testAccuracy - js.testAccuracy),
          `test accuracy cuda ${pct(cu.testAccuracy)} vs js ${pct(js.testAccuracy)}`,
        ).toBeLessThanOrEqual(0.01);
        expect(Math.abs(cu.testLoss - js.testLoss) / js.testLoss, 'test loss, relative difference').toBeLessThan(1e-3);
        done();
      },
      scaled(180_000, 900_000),
    ); // the simulator: minutes per model
  }
});
