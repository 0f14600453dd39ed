// Starting N ranks through the installed MPI launcher (wattgrad train ... --nproc N, the tests).

import fs from 'node:fs';
import path from 'node:path';

/** The mpirun (or mpiexec) on PATH (or $WATTGRAD_MPIRUN), or null. */
export function findMpirun(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.WATTGRAD_MPIRUN) return fs.existsSync(env.WATTGRAD_MPIRUN) ? env.WATTGRAD_MPIRUN : null;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    for (const name of ['mpirun', 'mpiexec']) {
      const p = path.join(dir, name);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {
        /* next */
      }
    }
  }
  return null;
}

/** What to tell a user without an MPI launcher. */
export const NO_MPIRUN =
  'no MPI launcher (mpirun or mpiexec) found on PATH; install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev; Fedora/RHEL: dnf install openmpi openmpi-devel) or MPICH, or set WATTGRAD_MPIRUN';

/**
 * mpirun's arguments for `np` local ranks of `command`: --oversubscribe (more ranks than cores is
 * fine for a test or a small machine) and, as root (containers, CI), --allow-run-as-root.
 * Open MPI's flags; MPICH's mpiexec takes -n and ignores neither, so they are only added for Open MPI.
 */
export function mpirunArgs(np: number, command: string[], mpirun: string): string[] {
  const isOpenMpi = isOpenMpiLauncher(mpirun);
  const args = ['-np', String(np)];
  if (isOpenMpi) {
    args.push('--oversubscribe');
    if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--allow-run-as-root');
  }
  return [...args, ...command];
}

function isOpenMpiLauncher(mpirun: string): boolean {
  try {
    const real = fs.realpathSync(mpirun);
    return /orterun|prterun|openmpi/i.test(real) || fs.existsSync(path.join(path.dirname(real), 'ompi_info'));
  } catch {
    return false;
  }
}
