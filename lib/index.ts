// wattgrad: deep learning for Node.js, with the energy of every run.
// The package root: tensors, ops, autograd, memory, devices, nn, optim, data, training, energy, io.

export { Tensor, isTensor } from './tensor.js';
export type { NestedArray, TensorLike } from './tensor.js';
export type { DType, FloatDType, TypedArray } from './dtype.js';
// Every op, by name (lib/ops/*). Internal launch helpers (unaryRaw, binaryRaw, gatherBackwardRaw, sumTo,
// reduceDims, fromHost) and the fused optimizer steps behind optim.* (sgdStep, adamStep) stay internal.
export {
  tensor,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  fullLike,
  arange,
  linspace,
  eye,
  rand,
  randn,
  randint,
  uniform,
  normal,
  randLike,
  randnLike,
} from './ops/creation.js';
export type { TensorOptions } from './ops/creation.js';
export {
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  where,
  eq,
  ne,
  lt,
  le,
  gt,
  ge,
  neg,
  abs,
  sign,
  exp,
  expm1,
  log,
  log1p,
  sqrt,
  rsqrt,
  square,
  reciprocal,
  sin,
  cos,
  floor,
  ceil,
  round,
  clamp,
  relu,
  leakyRelu,
  elu,
  gelu,
  silu,
  sigmoid,
  tanh,
  softplus,
  cast,
  clone,
  to,
} from './ops/elementwise.js';
export { sum, mean, max, min, argmax, argmin, logsumexp, variance, std, norm } from './ops/reduce.js';
export {
  reshape,
  view,
  flatten,
  squeeze,
  unsqueeze,
  permute,
  transpose,
  expand,
  cat,
  stack,
  split,
  chunk,
  slice,
  select,
  indexSelect,
  gather,
} from './ops/shape.js';
export { matmul, linear } from './ops/matmul.js';
export { conv2d, maxPool2d, avgPool2d, adaptiveAvgPool2d } from './ops/conv.js';
export type { Conv2dOptions, Pool2dOptions, Pair } from './ops/conv.js';
export { softmax, logSoftmax, dropout, embedding, layerNorm, batchNorm, lstmGates, gruGates } from './ops/nn.js';
export type { BatchNormOptions } from './ops/nn.js';
export { crossEntropy, nllLoss, mseLoss, l1Loss, binaryCrossEntropy, bceWithLogits, huberLoss } from './ops/loss.js';
export type { CrossEntropyOptions, NllOptions, Reduction } from './ops/loss.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd/mode.js';
export type { BackwardOptions } from './autograd/engine.js';
export { tidy, keep, memory, disposeAll as dispose } from './memory.js';
export type { MemoryInfo } from './memory.js';
export { manualSeed, initialSeed, getRngState, setRngState } from './random.js';
export { backends, setDefaultDevice, getDefaultDevice, getBackend, synchronize } from './backend/registry.js';
export { setNumThreads, getNumThreads } from './backend/js/native-cpu.js';
export type { CpuKernelsInfo } from './backend/js/native-cpu.js';
export type { BackendInfo, Device } from './backend/registry.js';
export { costSnapshot, costDelta } from './backend/counter.js';
export type { CostSnapshot } from './backend/counter.js';
export * from './energy/index.js';
export * as nn from './nn/index.js';
export { klDiv, distillationLoss, Distiller } from './nn/distill.js';
export * as optim from './optim/index.js';
export * as quantization from './quantization/index.js';
export * as amp from './amp/index.js';
export { autocast, GradScaler } from './amp/index.js';
export * as data from './data/index.js';
export * as distributed from './distributed/index.js';
export {
  fit,
  evaluate,
  predict,
  History,
  EarlyStopping,
  ModelCheckpoint,
  CSVLogger,
  JSONLogger,
  LambdaCallback,
  TerminateOnNaN,
  Accuracy,
  MeanAbsoluteError,
} from './train/index.js';
export type { Callback, TrainState, EpochLog, FitOptions, EvalResult, Metric } from './train/index.js';
export {
  Precision,
  Recall,
  F1Score,
  AUC,
  ConfusionMatrix,
  confusionMatrix,
  precisionScore,
  recallScore,
  f1Score,
  aucScore,
} from './train/index.js';
export type { LossSpec, LossName, LossConfig, MetricSpec, MetricName, Average, ScoreOptions } from './train/index.js';
export { save, load, loadWithMetadata, saveCheckpoint, loadCheckpoint, SafetensorsError } from './io/index.js';
export { OutOfMemoryError, CudaError, CudaUnavailableError } from './backend/cuda/errors.js';
export * as cuda from './cuda.js';
