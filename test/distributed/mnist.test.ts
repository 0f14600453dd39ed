// The MNIST CNN under 2 ranks reaches the single-process accuracy: `wattgrad train mnist-cnn
// --nproc 2` (the CLI starts mpirun itself) against the same command without --nproc, on the
// first 2,000 training digits for one epoch. The global batch (64) is split 32 + 32, so the
// two runs take the same optimisation steps up to float rounding.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadNative } from '../../lib/native.js';
import { bundle, skipReason } from './harness.js';

const reason = skipReason();
if (reason) console.warn(`test/distributed/mnist: skipped: ${reason}`);

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return bundle('cli').then(
    (file) =>
      new Promise((resolve) => {
        const env = { ...process.env, WATTGRAD_NATIVE: loadNative().path!, WATTGRAD_NUM_THREADS: '1', WATTGRAD_QUIET: '1' };
        const child = spawn(process.execPath, [file, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 240_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      }),
  );
}

const accuracy = (s: string): number => {
  const m = /test accuracy ([\d.]+)%/.exec(s);
  if (!m) throw new Error(`no test accuracy in:\n${s}`);
  return Number(m[1]) / 100;
};

describe.skipIf(reason !== null)('MNIST CNN on 2 ranks', () => {
  it('wattgrad train mnist-cnn --nproc 2 reaches the single-process accuracy', async () => {
    const common = ['train', 'mnist-cnn', '--limit', '2000', '--epochs', '1', '--quiet', '--seed', '3'];
    const one = await cli(common);
    expect(one.code, one.stderr).toBe(0);
    const two = await cli([...common, '--nproc', '2']);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toMatch(/on cpu × 2 ranks \(MPI, DistributedDataParallel\)/);
    // rank 0 reports, once
    expect(two.stdout.match(/test accuracy/g)!.length).toBe(1);
    const a1 = accuracy(one.stdout);
    const a2 = accuracy(two.stdout);
    expect(a1).toBeGreaterThan(0.8);
    expect(a2).toBeGreaterThanOrEqual(a1 - 0.01);
  }, 300_000);

  it('--nproc without an MPI launcher says what to install', async () => {
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      void bundle('cli').then((file) => {
        const child = spawn(process.execPath, [file, 'train', 'mnist-mlp', '--nproc', '2'], {
          env: { ...process.env, PATH: '/nonexistent', WATTGRAD_MPIRUN: '' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stderr }));
      });
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /train --nproc 2: no MPI launcher \(mpirun or mpiexec\) found on PATH; install Open MPI \(Debian\/Ubuntu: apt-get install openmpi-bin libopenmpi-dev/,
    );
  }, 60_000);
});
