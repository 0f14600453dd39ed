// Faults: a rank killed mid-training, a rank that stops calling collectives. The other ranks must
// end with a clear error and the job must not hang (the harness kills a job that outlives its
// timeout: `signal` is then SIGKILL and the test fails).
import { describe, expect, it } from 'vitest';
import { runRanks, skipReason } from './harness.js';

const reason = skipReason();
if (reason) console.warn(`test/distributed/fault: skipped: ${reason}`);

describe.skipIf(reason !== null)('faults', () => {
  it('a rank killed mid-training: mpirun ends the others, each says why (Open MPI behaviour + our SIGTERM note)', async () => {
    const run = await runRanks(3, 'fault', { args: ['kill'], timeoutMs: 60_000 });
    expect(run.signal, 'the job hung and was killed by the harness').toBeNull();
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/process rank 1 .*exited on signal 9/);
    // the survivors were blocked in a collective (or between steps) and were told why they end
    expect(run.stderr).toMatch(
      /wattgrad\.distributed: rank [02] of 3 was terminated by the launcher \(SIGTERM\): another rank exited or failed/,
    );
    expect(run.results.filter(Boolean).length).toBe(0); // nobody finished
  }, 90_000);

  it('a rank that stops calling collectives: the others time out with a clear error', async () => {
    const run = await runRanks(3, 'fault', { args: ['stall', '3000'], timeoutMs: 60_000 });
    expect(run.signal, 'the job hung and was killed by the harness').toBeNull();
    expect(run.code).not.toBe(0);
    const errors = [0, 2].map((r) => (run.results[r] as { error?: string } | undefined)?.error ?? '');
    // at least one survivor reports the timeout (mpirun may end the other first)
    expect(
      errors.some((e) =>
        /allReduce: timed out after 3000 ms waiting for the other ranks \(this is rank [02] of 3\): a rank died, hangs, or called a different collective/.test(
          e,
        ),
      ),
      errors.join(' | '),
    ).toBe(true);
  }, 90_000);
});
