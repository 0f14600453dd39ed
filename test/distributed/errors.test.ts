// In-process checks that need no mpirun: collectives before initProcessGroup, the launcher's
// environment, and the messages when MPI or NCCL cannot be loaded (these two need the addon).
import { afterEach, describe, expect, it } from 'vitest';
import { tensor, nn } from '../../lib/index.js';
import * as dist from '../../lib/distributed/index.js';
import { loadNative } from '../../lib/native.js';

const addon = loadNative().binding as unknown as { distMpiLoad?: unknown } | null;
const noAddon = !addon || typeof addon.distMpiLoad !== 'function';

describe('distributed without a process group', () => {
  it('collectives, getRank, DDP and the sampler say to call initProcessGroup first', () => {
    const t = tensor([1, 2, 3]);
    expect(dist.isInitialized()).toBe(false);
    for (const f of [
      () => dist.allReduce(t),
      () => dist.allReduceAsync(t, 'avg'),
      () => dist.broadcast(t, 0),
      () => dist.allGather([t], t),
      () => dist.reduceScatter(t, [t]),
      () => dist.barrier(),
      () => dist.getRank(),
      () => dist.getWorldSize(),
    ])
      expect(f).toThrow(/the default process group is not initialized; call distributed\.initProcessGroup\(\{ backend: 'mpi' \}\) first/);
    expect(() => new dist.DistributedDataParallel(new nn.Linear(2, 2))).toThrow(
      /DistributedDataParallel: the default process group is not initialized/,
    );
    expect(() => new dist.DistributedSampler({ length: 10 })).toThrow(/DistributedSampler: the default process group is not initialized/);
    expect(() => dist.allReduce(t, 'mean' as never)).toThrow(/not initialized/); // the group is checked first
    dist.destroyProcessGroup(); // a no-op without a group
  });

  it('reads rank and world size from Open MPI, MPICH and torchrun variables', () => {
    expect(dist.launchEnv({ OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_RANK: '1' })).toEqual({
      rank: 1,
      worldSize: 4,
      localRank: 1,
      source: 'openmpi',
    });
    expect(dist.launchEnv({ PMI_RANK: '2', PMI_SIZE: '3', MPI_LOCALRANKID: '0' })).toEqual({
      rank: 2,
      worldSize: 3,
      localRank: 0,
      source: 'mpich',
    });
    expect(dist.launchEnv({ RANK: '0', WORLD_SIZE: '2', LOCAL_RANK: '0' })).toEqual({
      rank: 0,
      worldSize: 2,
      localRank: 0,
      source: 'torchrun',
    });
    expect(dist.launchEnv({})).toEqual({ rank: null, worldSize: null, localRank: null, source: null });
    expect(() => dist.launchEnv({ RANK: 'one' })).toThrow(/RANK=one is not a non-negative integer/);
  });

  it('initProcessGroup checks its options', () => {
    expect(() => dist.initProcessGroup({ backend: 'gloo' as never })).toThrow(/backend/);
    expect(() => dist.initProcessGroup({ timeout: 5 } as never)).toThrow(/timeout/);
  });
});

describe.skipIf(noAddon)('loading MPI and NCCL', () => {
  const saved = { mpi: process.env.WATTGRAD_MPI_LIB, nccl: process.env.WATTGRAD_NCCL_LIB };
  afterEach(() => {
    for (const [k, v] of [
      ['WATTGRAD_MPI_LIB', saved.mpi],
      ['WATTGRAD_NCCL_LIB', saved.nccl],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  it('without libmpi, initProcessGroup says what to install', () => {
    process.env.WATTGRAD_MPI_LIB = '/nonexistent/libmpi.so.40';
    expect(dist.isMpiAvailable()).toBe(false);
    expect(() => dist.initProcessGroup()).toThrow(
      /initProcessGroup\(\{ backend: 'mpi' \}\): could not load an MPI library \(\/nonexistent\/libmpi\.so\.40: .*\)\. Install Open MPI \(Debian\/Ubuntu: apt-get install openmpi-bin libopenmpi-dev; Fedora\/RHEL: dnf install openmpi/,
    );
    expect(dist.isInitialized()).toBe(false);
  });

  it('without libnccl, the nccl backend says what to install (or that the addon has no CUDA)', () => {
    process.env.WATTGRAD_NCCL_LIB = '/nonexistent/libnccl.so.2';
    const r = (addon as unknown as { distNcclLoad(): { ok: boolean; error?: string; cuda: boolean } }).distNcclLoad();
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(
      /could not load NCCL \(\/nonexistent\/libnccl\.so\.2: .*\)\. Install NCCL 2 \(Debian\/Ubuntu with NVIDIA's CUDA repository: apt-get install libnccl2/,
    );
    expect(dist.isNcclAvailable()).toBe(false);
    // checked before MPI starts, so this process stays without MPI
    expect(() => dist.initProcessGroup({ backend: 'nccl' })).toThrow(
      /initProcessGroup\(\{ backend: 'nccl' \}\): (this addon was built without CUDA; build it with nvcc present|could not load NCCL \(\/nonexistent\/libnccl\.so\.2)/,
    );
    expect(dist.isInitialized()).toBe(false);
  });
});
