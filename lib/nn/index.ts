// wattgrad.nn: modules, layers, losses, init and functional, after torch.nn.
// The root exports it as `nn`: `import { nn } from 'wattgrad'; new nn.Linear(4, 2)`.

export { Module } from './module.js';
export type { AnyModule, StateDict, LoadStateDictOptions, LoadStateDictResult } from './module.js';
export { Parameter, isParameter } from './parameter.js';
export * from './layers/index.js';
export { Loss, MSELoss, L1Loss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, HuberLoss } from './losses.js';
export { KLDivLoss, klDiv, distillationLoss, softDistillationLoss, Distiller } from './distill.js';
export type { KLDivOptions, KLDivReduction, DistillationOptions, DistillerOptions } from './distill.js';
export { summarize as summary } from './summary.js';
export type { ModelSummary, SummaryRow, SummaryTotals, SummaryOptions } from './summary.js';
export type { Reduction } from './losses.js';
export * as prune from './prune.js';
export * as quantized from './quantized.js';
export * as init from './init.js';
export * as functional from './functional.js';
export * as F from './functional.js';
// data parallel over processes (MPI / NCCL): lib/distributed/ddp.ts
export { DistributedDataParallel } from '../distributed/ddp.js';
export type { DistributedDataParallelOptions } from '../distributed/ddp.js';
