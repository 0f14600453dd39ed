// wattgrad.distributed: data-parallel training across processes (torch.distributed's names).
// MPI (Open MPI or MPICH, dlopened by the addon) for CPU tensors; NCCL for CUDA tensors.
// Launch: mpirun -np 2 node train.mjs (docs/distributed.md).

export {
  initProcessGroup,
  destroyProcessGroup,
  isInitialized,
  getRank,
  getWorldSize,
  getBackend,
  isMpiAvailable,
  isNcclAvailable,
  launchEnv,
} from './group.js';
export type { Backend, InitProcessGroupOptions, LaunchEnv, ProcessGroup } from './group.js';
export {
  allReduce,
  allReduceAsync,
  broadcast,
  broadcastAsync,
  allGather,
  allGatherAsync,
  allGatherIntoTensor,
  allGatherIntoTensorAsync,
  reduceScatter,
  reduceScatterAsync,
  reduceScatterTensor,
  reduceScatterTensorAsync,
  barrier,
  barrierAsync,
  Work,
} from './collectives.js';
export type { ReduceOp } from './collectives.js';
export { DistributedDataParallel } from './ddp.js';
export type { DistributedDataParallelOptions } from './ddp.js';
export { DistributedSampler } from './sampler.js';
export type { DistributedSamplerOptions } from './sampler.js';
export { findMpirun, mpirunArgs } from './launch.js';
