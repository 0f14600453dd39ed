import { defineConfig } from 'vitest/config';

// One suite over every backend: test/**. The GPU bundle's staging copy and build trees are not tests.
// Two projects: `unit` (kernels, ops, autograd, layers, optimizers, io, data, energy, errors: seconds;
// npm run test:unit) and `integration` (training runs and accuracy targets, the CLI, examples, the
// cross-backend parity sweeps and gradchecks, benchmarks, the server, the npm package, the GPU suites;
// npm run test:integration). `npm test` runs both.
const exclude = ['**/node_modules/**', '.gpu-bundle/**', 'dist/**', 'build/**'];
export const INTEGRATION = [
  'test/train/**/*.test.ts',
  'test/distributed/mnist.test.ts', // trains the MNIST CNN on 1 and 2 ranks through the CLI
  'test/examples/**/*.test.ts',
  'test/cli/**/*.test.ts',
  'test/gpu/**/*.test.ts',
  'test/bench/**/*.test.ts',
  'test/serve/**/*.test.ts',
  'test/compress/**/*.test.ts', // distillation and pruning train small models
  'test/optimize/cli.test.ts', // wattgrad optimize trains the baseline and every technique
  'test/amp/mnist.test.ts', // bf16 autocast training of the MNIST CNN against float32
  'test/quantization/mnist.test.ts', // trains the MNIST MLP before quantizing it
  'test/quantization/static-mnist.test.ts', // trains the MNIST MLP (and, slow, the CNN) for static int8 and QAT
  'test/native/pack.test.ts',
  'test/native/tc-emu.test.ts', // compiles and runs the host tensor-core emulation (g++)
  'test/native/tc-emu.test.ts',
  'test/parity.test.ts',
  'test/backend/parity.test.ts',
  'test/**/gradcheck.test.ts',
];

export default defineConfig({
  test: {
    // include/exclude live in the projects only: a project extending the root would add the root's list to its own
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: [...exclude, ...INTEGRATION] } },
      { extends: true, test: { name: 'integration', include: INTEGRATION, exclude } },
    ],
  },
});
