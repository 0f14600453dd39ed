// wattgrad.quantization: int8 inference after torch.ao.quantization: dynamic, static (prepare /
// calibrate / convert) and quantization-aware training (prepareQat).
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
export {
  MinMaxObserver,
  MovingAverageMinMaxObserver,
  HistogramObserver,
  PerChannelMinMaxObserver,
  ObserverBase,
  quantRange,
  qparamsFromRange,
} from './observers.js';
export type { ObserverOptions, QParams, QScheme } from './observers.js';
export { FakeQuantize, fakeQuantize, disableObserver, enableObserver, disableFakeQuant, enableFakeQuant } from './fake-quantize.js';
export type { FakeQuantizeOptions } from './fake-quantize.js';
export {
  prepare,
  prepareQat,
  calibrate,
  convert,
  quantizeStatic,
  fuseModules,
  fusableModules,
  getDefaultQconfig,
  getDefaultQatQconfig,
  quantizeWithQparams,
  QuantStub,
  DeQuantStub,
  QuantWrapper,
  LinearReLU,
  ConvReLU2d,
  ObservedLinear,
  ObservedConv2d,
  fuseInt8MaxPools,
  PoolFusedIdentity,
} from './static.js';
export type { QConfig, QBackend, PrepareOptions, CalibrationData, ConvertOptions } from './static.js';
export { qconv2d, qconv2dDirect, im2colU8 } from './qconv.js';
export type { QConv2dArgs } from './qconv.js';
export { qconv2dMaxPool, maxPool2dU8, maxPoolPlanes, poolOutSize } from './qpool.js';
export type { PoolWindow } from './qpool.js';
export { QuantizedLinear, QuantizedConv2d, Quantize, DeQuantize, quantizeForKernel } from '../nn/quantized-static.js';
export type { InputQParams } from '../nn/quantized-static.js';
