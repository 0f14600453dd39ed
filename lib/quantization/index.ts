// wattgrad.quantization: int8 inference after torch.ao.quantization (dynamic quantization today).
// The root exports it as `quantization`: `quantization.quantizeDynamic(model, { layers: [nn.Linear] })`.

export { quantizeDynamic } from './dynamic.js';
export type { QuantizeDynamicOptions } from './dynamic.js';
export { QTensor, quantizeWeightPerChannel, quantizeActivations, activationParams, roundHalfEven } from './qtensor.js';
export type { QDType } from './qtensor.js';
export { qgemm, qgemmJs, setQgemmKernel, qgemmKernelName, checkQgemmArgs } from './qgemm.js';
export type { QgemmArgs, QgemmKernel } from './qgemm.js';
export {
  quantizedStateDict,
  quantizationMetadata,
  saveQuantized,
  loadQuantized,
  isQuantized,
  QUANTIZATION_METADATA_KEY,
  QUANTIZED_LAYERS_METADATA_KEY,
} from './io.js';
export { cloneModule } from './copy.js';
export { DynamicQuantizedLinear, DynamicQuantizedRNN, DynamicQuantizedLSTM, DynamicQuantizedGRU } from '../nn/quantized.js';
export { dynamicLinearHost } from '../nn/quantized-rnn.js';
