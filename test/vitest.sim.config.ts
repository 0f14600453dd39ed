// The vitest setup of the simulator stage (scripts/test-sim.sh, npm run test:sim): the cuda test
// files in ONE project and ONE worker, files one after another, no per-file isolation. The
// simulator starts once per process (it extracts and assembles all PTX: ~15 s), and a second
// worker (vitest.config.ts has two projects) would pay that again. Host-only files of test/native
// (tc-emu: the mma host emulation; pack: npm pack; cpu-*: the native CPU kernels) run in the main
// pass instead.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/backend/parity.test.ts',
      'test/backend/int32-wrap.test.ts',
      'test/parity.test.ts',
      'test/native/**/*.test.ts',
      'test/gpu/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', 'test/native/tc-emu.test.ts', 'test/native/pack.test.ts', 'test/native/cpu-*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    isolate: false,
    fileParallelism: false,
    // at ~2M simulated thread instructions per second one test may take minutes
    testTimeout: 900_000,
    hookTimeout: 900_000,
  },
});
