// Mixed precision: autocast regions and dynamic loss scaling (torch.amp).
export {
  autocast,
  Autocast,
  isAutocastEnabled,
  getAutocastDType,
  AUTOCAST_LOWER_PRECISION_OPS,
  AUTOCAST_FLOAT32_OPS,
  type AutocastOptions,
  type AutocastDType,
} from './autocast.js';
export { GradScaler, type GradScalerOptions, type GradScalerState, type ScalableOptimizer } from './grad-scaler.js';
export { fitAmp, type FitAmp, type FitAmpOption } from './fit.js';
export { roundTo, roundBf16Array, roundF16Array, roundValue } from './round.js';
