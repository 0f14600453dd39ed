// Runs test/distributed/workers/*.ts as N MPI ranks: each worker is bundled (rolldown, which
// vitest's vite brings) into <repo>/build/distributed-test/ so it imports lib/ from source, then
// started with `mpirun -np N --oversubscribe [--allow-run-as-root] node worker.mjs`.
// Each rank writes its result to $WATTGRAD_TEST_OUT/rank-<r>.json (workers/util.ts report());
// runRanks reads them by rank. On timeout the whole job (mpirun and its ranks) is killed.
//
// Skips (with the reason) when mpirun is absent, when no MPI library loads, or when the native
// addon (which dlopens libmpi) is not built: CI's first pass runs without an addon.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNative } from '../../lib/native.js';
import { findMpirun, mpirunArgs } from '../../lib/distributed/launch.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
const outDir = path.join(repo, 'build', 'distributed-test'); // ignored by git, eslint and prettier

/** Why the distributed tests cannot run here, or null when they can. */
export function skipReason(): string | null {
  const mpirun = findMpirun();
  if (!mpirun) return 'mpirun not found (apt-get install openmpi-bin libopenmpi-dev)';
  const load = loadNative();
  const b = load.binding as unknown as { distMpiLoad?: () => { ok: boolean; error?: string } } | null;
  if (!b) return `the native addon is not built (npm run build:native): ${load.error}`;
  if (typeof b.distMpiLoad !== 'function') return `the loaded addon ${load.path} has no collectives (rebuild: npm run build:native)`;
  const m = b.distMpiLoad();
  if (!m.ok) return `no MPI library loads: ${m.error}`;
  return null;
}

const bundles = new Map<string, Promise<string>>();
const made: string[] = []; // best effort: a worker killed by vitest leaves its bundle in build/ (ignored)
process.on('exit', () => {
  for (const f of made) fs.rmSync(f, { force: true });
});

/** The worker bundled to an .mjs (once per test process). */
export function bundle(worker: string): Promise<string> {
  let p = bundles.get(worker);
  if (!p) {
    p = (async () => {
      const { build } = (await import('rolldown')) as unknown as {
        build(o: object): Promise<unknown>;
      };
      fs.mkdirSync(outDir, { recursive: true });
      const file = path.join(outDir, `${worker}-${process.pid}.mjs`);
      made.push(file);
      await build({
        input: path.join(here, 'workers', `${worker}.ts`),
        platform: 'node',
        logLevel: 'silent',
        output: { file, format: 'esm', codeSplitting: false },
      });
      return file;
    })();
    bundles.set(worker, p);
  }
  return p;
}

/** An MPI implementation to launch with: Open MPI's mpirun (the default) or MPICH's mpiexec.hydra. */
export type Impl = 'openmpi' | 'mpich';

/** Why `impl` cannot run here, or null (MPICH: Debian's mpich package, libmpich.so.12 + mpiexec.hydra). */
export function implSkipReason(impl: Impl): string | null {
  const base = skipReason();
  if (base || impl === 'openmpi') return base;
  const hydra = findMpirun({ PATH: process.env.PATH, WATTGRAD_MPIRUN: '/usr/bin/mpiexec.hydra' });
  if (!hydra) return 'MPICH not installed (apt-get install mpich: mpiexec.hydra, libmpich.so.12)';
  const b = loadNative().binding as unknown as { distMpiLoad(): { ok: boolean; implementation?: string } };
  const saved = process.env.WATTGRAD_MPI_LIB;
  process.env.WATTGRAD_MPI_LIB = 'libmpich.so.12';
  try {
    const m = b.distMpiLoad();
    return m.ok && m.implementation === 'MPICH' ? null : 'MPICH not installed (libmpich.so.12 does not load)';
  } finally {
    if (saved === undefined) delete process.env.WATTGRAD_MPI_LIB;
    else process.env.WATTGRAD_MPI_LIB = saved;
  }
}

export interface RankRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** RESULT json per rank (index = rank) */
  results: Record<string, unknown>[];
  /** ms from start to exit */
  ms: number;
}

/** Starts `np` ranks of `worker`; kills the job after timeoutMs (then `code` is null). */
export async function runRanks(
  np: number,
  worker: string,
  o: { env?: Record<string, string>; args?: string[]; timeoutMs?: number; impl?: Impl } = {},
): Promise<RankRun> {
  const file = await bundle(worker);
  const mpich = o.impl === 'mpich';
  const mpirun = mpich ? '/usr/bin/mpiexec.hydra' : findMpirun()!;
  const native = loadNative().path!;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    WATTGRAD_NATIVE: native,
    WATTGRAD_NUM_THREADS: '1',
    WATTGRAD_QUIET: '1',
    OMPI_MCA_rmaps_base_oversubscribe: '1',
    ...(mpich ? { WATTGRAD_MPI_LIB: 'libmpich.so.12' } : {}),
    ...o.env,
  };
  const args = mpich ? ['-n', String(np), 'node', file, ...(o.args ?? [])] : mpirunArgs(np, ['node', file, ...(o.args ?? [])], mpirun);
  const resultDir = fs.mkdtempSync(path.join(outDir, `${worker}-out-`));
  env.WATTGRAD_TEST_OUT = resultDir;
  const t0 = Date.now();
  return new Promise((resolve) => {
    // its own process group, so a timeout kills mpirun and every rank together
    const child = spawn(mpirun, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // too long: SIGTERM to mpirun (it ends its ranks), SIGKILL to its group 5 s later
    const kill = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        /* gone */
      }
    };
    let hard: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      kill('SIGTERM');
      hard = setTimeout(() => kill('SIGKILL'), 5000);
    }, o.timeoutMs ?? 60_000);
    // 'exit', not 'close': a rank orphaned by a killed mpirun may hold the pipes open
    child.on('exit', (code, signal) => {
      clearTimeout(hard);
      clearTimeout(timer);
      const results: Record<string, unknown>[] = [];
      for (const f of fs.readdirSync(resultDir)) {
        if (!/^rank-\d+\.json$/.test(f)) continue; // a worker may write other files there (checkpoints)
        try {
          const r = JSON.parse(fs.readFileSync(path.join(resultDir, f), 'utf8')) as Record<string, unknown>;
          results[r.rank as number] = r;
        } catch (e) {
          stderr += `\nharness: ${f}: ${(e as Error).message}`;
        }
      }
      fs.rmSync(resultDir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, results, ms: Date.now() - t0 });
    });
  });
}
