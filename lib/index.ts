// wattgrad: deep learning for Node.js, with the energy of every run.
// The package root: tensors, ops, autograd, memory, devices, nn, optim, data, training, energy, io.

export { Tensor, isTensor } from './tensor.js';
export type { NestedArray, TensorLike } from './tensor.js';
export type { DType, FloatDType, TypedArray } from './dtype.js';
export * from './ops/index.js';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './autograd/mode.js';
export type { BackwardOptions } from './autograd/engine.js';
export { tidy, keep, memory, disposeAll as dispose } from './memory.js';
export type { MemoryInfo } from './memory.js';
export { manualSeed, initialSeed, getRngState, setRngState } from './random.js';
export { backends, setDefaultDevice, getDefaultDevice, getBackend, synchronize } from './backend/registry.js';
export type { BackendInfo, Device } from './backend/registry.js';
export { costSnapshot, costDelta } from './backend/counter.js';
export type { CostSnapshot } from './backend/counter.js';
export * from './energy/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export { fit, evaluate, predict, History, EarlyStopping, ModelCheckpoint, CSVLogger, JSONLogger, LambdaCallback, Accuracy, MeanAbsoluteError } from './train/index.js';
export type { Callback, TrainState, EpochLog, FitOptions, EvalResult, Metric } from './train/index.js';
export { save, load, loadWithMetadata, saveCheckpoint, loadCheckpoint, SafetensorsError } from './io/index.js';
export { OutOfMemoryError, CudaError, CudaUnavailableError } from './backend/cuda/errors.js';
export * as cuda from './cuda.js';
