// wattgrad.optim: optimizers with fused update kernels, lr schedulers, gradient clipping.
// The root exports it as `optim`: `new optim.AdamW(model.parameters(), { lr: 1e-3 })`.

export { Optimizer } from './optimizer.js';
export type { ParamGroup, ParamGroupInput, ParamsInput, ParamState, OptimizerStateDict } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SGDOptions } from './sgd.js';
export { Adam } from './adam.js';
export type { AdamOptions } from './adam.js';
export { AdamW } from './adamw.js';
export { RMSprop } from './rmsprop.js';
export type { RMSpropOptions } from './rmsprop.js';
export { Adagrad } from './adagrad.js';
export type { AdagradOptions } from './adagrad.js';
export { LRScheduler, StepLR, ExponentialLR, LambdaLR, CosineAnnealingLR, LinearWarmup } from './schedulers.js';
export type { SchedulerStateDict, LinearWarmupOptions } from './schedulers.js';
export { OneCycleLR } from './onecycle.js';
export type { OneCycleLROptions } from './onecycle.js';
export { ReduceLROnPlateau } from './plateau.js';
export type { ReduceLROnPlateauOptions, PlateauStateDict } from './plateau.js';
export { clipGradNorm, clipGradValue } from './clip.js';
