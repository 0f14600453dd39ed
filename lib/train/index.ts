// Training: fit / evaluate / predict, the history, callbacks, metrics and progress output.
export { fit, evaluate, predict, resolveLoss } from './fit.js';
export type {
  FitOptions,
  EvaluateOptions,
  EvalResult,
  PredictOptions,
  LossFn,
  LossSpec,
  LossName,
  LossConfig,
  BatchSource,
  Unpack,
} from './fit.js';
export type { TensorFitOptions, TensorData } from './tensor-data.js';
export { History, monitorValue } from './history.js';
export type { EpochLog, StepLog } from './history.js';
export { EarlyStopping, ModelCheckpoint, CSVLogger, JSONLogger, LambdaCallback, TerminateOnNaN } from './callbacks.js';
export type { Callback, TrainState, BatchInfo, EarlyStoppingOptions, ModelCheckpointOptions } from './callbacks.js';
export { Accuracy, MeanAbsoluteError, makeMetric } from './metrics.js';
export type { Metric, MetricSpec, MetricName } from './metrics.js';
export {
  ConfusionMatrix,
  ClassificationScore,
  Precision,
  Recall,
  F1Score,
  AUC,
  confusionMatrix,
  precisionScore,
  recallScore,
  f1Score,
  aucScore,
  rocAuc,
  scoreFromConfusion,
} from './classification.js';
export type { Average, PredictionOptions, ScoreOptions, ScoreKind } from './classification.js';
export { Progress, formatEpochLog } from './progress.js';
export type { ProgressOptions, ProgressStream } from './progress.js';
export type { ModelLike, OptimizerLike, SchedulerLike } from './types.js';
