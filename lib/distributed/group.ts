// The default process group (torch.distributed's init_process_group and friends).
//
// Rank and world size come from MPI itself (MPI_Comm_rank/size after MPI_Init_thread); the
// launcher's environment is read too, to say clearly when the two disagree (a script started
// with RANK/WORLD_SIZE but not through mpirun) and for LOCAL_RANK (which GPU a rank uses):
//   Open MPI: OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE, OMPI_COMM_WORLD_LOCAL_RANK
//   MPICH / Hydra: PMI_RANK, PMI_SIZE, MPI_LOCALRANKID
//   torchrun style: RANK, WORLD_SIZE, LOCAL_RANK

import { checkOptions, nonNegativeInt, oneOf, type OptionKeys } from '../options.js';
import { distBinding, type DistBinding, type DistInitInfo } from './native.js';

export type Backend = 'mpi' | 'nccl';

export interface InitProcessGroupOptions {
  /** 'mpi' (CPU tensors; the default) or 'nccl' (CUDA tensors; set up over MPI) */
  backend?: Backend;
  /**
   * how long a collective may wait for the other ranks before it fails (ms; default 1 800 000,
   * torch's 30 min; env WATTGRAD_DIST_TIMEOUT_MS). 0 waits forever. After a timeout the group is
   * unusable: end the job.
   */
  timeoutMs?: number;
}

const INIT_KEYS: OptionKeys<InitProcessGroupOptions> = { backend: true, timeoutMs: true };

export interface LaunchEnv {
  rank: number | null;
  worldSize: number | null;
  localRank: number | null;
  /** which variables gave them: 'openmpi', 'mpich', 'torchrun' or null */
  source: 'openmpi' | 'mpich' | 'torchrun' | null;
}

function envInt(env: NodeJS.ProcessEnv, name: string): number | null {
  const v = env[name];
  if (v === undefined || v === '') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`initProcessGroup: ${name}=${v} is not a non-negative integer`);
  return n;
}

/** Rank, world size and local rank as the launcher's environment gives them. */
export function launchEnv(env: NodeJS.ProcessEnv = process.env): LaunchEnv {
  if (env.OMPI_COMM_WORLD_RANK !== undefined)
    return {
      rank: envInt(env, 'OMPI_COMM_WORLD_RANK'),
      worldSize: envInt(env, 'OMPI_COMM_WORLD_SIZE'),
      localRank: envInt(env, 'OMPI_COMM_WORLD_LOCAL_RANK'),
      source: 'openmpi',
    };
  if (env.PMI_RANK !== undefined)
    return {
      rank: envInt(env, 'PMI_RANK'),
      worldSize: envInt(env, 'PMI_SIZE'),
      localRank: envInt(env, 'MPI_LOCALRANKID') ?? envInt(env, 'LOCAL_RANK'),
      source: 'mpich',
    };
  if (env.RANK !== undefined || env.WORLD_SIZE !== undefined)
    return { rank: envInt(env, 'RANK'), worldSize: envInt(env, 'WORLD_SIZE'), localRank: envInt(env, 'LOCAL_RANK'), source: 'torchrun' };
  return { rank: null, worldSize: null, localRank: null, source: null };
}

export interface ProcessGroup {
  backend: Backend;
  rank: number;
  worldSize: number;
  localRank: number;
  timeoutMs: number;
  mpi: DistInitInfo;
  binding: DistBinding;
}

let group: ProcessGroup | null = null;

/** Settles the async collectives: native onDone(id, error) lands here. */
export const pendingWork = new Map<number, (error: string | null) => void>();

function onDone(id: number, error: string | null): void {
  const settle = pendingWork.get(id);
  if (settle) settle(error);
}

/** torch.distributed.init_process_group: joins the job the launcher started (mpirun -np N node script.mjs). */
export function initProcessGroup(options: InitProcessGroupOptions = {}): ProcessGroup {
  const o = checkOptions('initProcessGroup', options, INIT_KEYS);
  const backend = oneOf('initProcessGroup', 'backend', o.backend, ['mpi', 'nccl'], 'mpi');
  const envTimeout = process.env.WATTGRAD_DIST_TIMEOUT_MS;
  const timeoutMs = nonNegativeInt(
    'initProcessGroup',
    'timeoutMs',
    o.timeoutMs ?? (envTimeout !== undefined && envTimeout !== '' ? Number(envTimeout) : undefined),
    1_800_000,
  );
  if (group) {
    throw new Error(
      `initProcessGroup: the default process group is already initialized (backend ${group.backend}, rank ${group.rank} of ${group.worldSize}); call destroyProcessGroup() first`,
    );
  }
  const launch = launchEnv();
  const binding = distBinding('initProcessGroup');
  const load = binding.distMpiLoad();
  if (!load.ok) throw new Error(`initProcessGroup({ backend: '${backend}' }): ${load.error}`);
  if (backend === 'nccl') ncclPreflight(binding); // before MPI starts: a missing NCCL fails cleanly
  const info = binding.distInit(timeoutMs, onDone);
  abortOnFailure(binding);
  if (launch.worldSize !== null && launch.worldSize !== info.size) {
    throw new Error(
      `initProcessGroup: the environment says world size ${launch.worldSize} (${launch.source}), but MPI started ${info.size} process${info.size === 1 ? '' : 'es'}: ` +
        `launch every rank through the MPI launcher (mpirun -np ${launch.worldSize} node script.mjs), not by setting RANK/WORLD_SIZE`,
    );
  }
  if (launch.rank !== null && launch.source !== 'torchrun' && launch.rank !== info.rank) {
    throw new Error(`initProcessGroup: the launcher says rank ${launch.rank} (${launch.source}), MPI says ${info.rank}`);
  }
  const g: ProcessGroup = {
    backend,
    rank: info.rank,
    worldSize: info.size,
    localRank: launch.localRank ?? info.rank,
    timeoutMs,
    mpi: info,
    binding,
  };
  if (backend === 'nccl') initNccl(g);
  group = g;
  return g;
}

let exitHook = false;
/**
 * A rank that exits with a failure (an uncaught error, process.exit(1)) aborts the whole job
 * (MPI_Abort: mpirun ends every rank and names this one). Without this the failing rank would
 * wait in MPI_Finalize for ranks that wait in a collective for it, until their timeout.
 * A clean exit (code 0) finalizes MPI normally (the addon's atexit).
 */
function abortOnFailure(binding: DistBinding): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', (code) => {
    if (code !== 0) binding.distAbort(code);
  });
}

function ncclPreflight(b: DistBinding): void {
  const nl = b.distNcclLoad();
  if (!nl.cuda || !b.distNcclUniqueId || !b.distNcclInit) {
    throw new Error(
      "initProcessGroup({ backend: 'nccl' }): this addon was built without CUDA; build it with nvcc present (npm run build:native) or use backend: 'mpi'",
    );
  }
  if (!nl.ok) throw new Error(`initProcessGroup({ backend: 'nccl' }): ${nl.error}`);
}

function initNccl(g: ProcessGroup): void {
  const b = g.binding;
  if (!b.distNcclUniqueId || !b.distNcclInit) throw new Error("initProcessGroup({ backend: 'nccl' }): no NCCL entry points");
  // rank 0 makes the unique id, MPI broadcasts it, every rank joins the communicator
  const id = g.rank === 0 ? b.distNcclUniqueId() : new Uint8Array(128);
  b.distWait(b.distSubmit(1, null, id, id.length, 3, 0, 0, false));
  b.distNcclInit(id, g.rank, g.worldSize);
}

/** The default group, or throws naming `where` and what to do. */
export function currentGroup(where: string): ProcessGroup {
  if (!group) {
    throw new Error(
      `${where}: the default process group is not initialized; call distributed.initProcessGroup({ backend: 'mpi' }) first, and start the script with mpirun -np N node script.mjs`,
    );
  }
  return group;
}

export function isInitialized(): boolean {
  return group !== null;
}

export function getRank(): number {
  return currentGroup('getRank').rank;
}

export function getWorldSize(): number {
  return currentGroup('getWorldSize').worldSize;
}

/** The backend of the default group ('mpi' or 'nccl'). */
export function getBackend(): Backend {
  return currentGroup('getBackend').backend;
}

/**
 * Leaves the default group. MPI itself stays initialised until the process exits (MPI cannot be
 * initialised twice in one process), so initProcessGroup may be called again.
 */
export function destroyProcessGroup(): void {
  if (!group) return;
  if (group.backend === 'nccl') group.binding.distNcclDestroy?.();
  group = null;
}

/** torch.distributed.is_mpi_available: an MPI library can be loaded (nothing is initialised). */
export function isMpiAvailable(): boolean {
  try {
    return distBinding('isMpiAvailable').distMpiLoad().ok;
  } catch {
    return false;
  }
}

/** torch.distributed.is_nccl_available: a CUDA build of the addon and libnccl can be loaded. */
export function isNcclAvailable(): boolean {
  try {
    const r = distBinding('isNcclAvailable').distNcclLoad();
    return r.ok && r.cuda === true;
  } catch {
    return false;
  }
}
