// Shared by the workers: this rank's result as JSON in $WATTGRAD_TEST_OUT/rank-<r>.json (files, not
// stdout: mpirun interleaves long lines of different ranks).
import fs from 'node:fs';
import path from 'node:path';

export function report(rank: number, data: Record<string, unknown>): void {
  const dir = process.env.WATTGRAD_TEST_OUT;
  if (!dir) throw new Error('worker: WATTGRAD_TEST_OUT is not set (run it through test/distributed/harness.ts)');
  fs.writeFileSync(path.join(dir, `rank-${rank}.json`), JSON.stringify({ rank, ...data }));
}
