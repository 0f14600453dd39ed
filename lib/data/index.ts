// wattgrad.data: datasets, the DataLoader, MNIST (embedded or IDX files), the IDX format, and text
// (tokenize, Vocabulary, padSequences).

export { TensorDataset, Subset, ConcatDataset, randomSplit, hasGetBatch } from './dataset.js';
export type { Dataset, BatchDataset } from './dataset.js';
export { DataLoader, defaultCollate, batchTensors } from './loader.js';
export type { DataLoaderOptions, Collate, Sampler } from './loader.js';
export {
  loadMnist, embeddedMnist, embeddedMnistRaw, readMnistDir, readMnistPair, mnistTensors,
  MNIST_MEAN, MNIST_STD, MNIST_FILES, EMBEDDED_SPLIT,
} from './mnist.js';
export type { MnistRaw, MnistSplit, MnistDatasets, LoadMnistOptions, MnistTensorOptions } from './mnist.js';
export { parseIdx, readIdxFile, encodeIdx, writeIdxFile, isGzip, IdxFormatError } from './idx.js';
export type { IdxArray, IdxType, IdxData } from './idx.js';
export { SeededRandom, permutation, deriveSeed } from './shuffle.js';
export { tokenize, Vocabulary, padSequences } from './text.js';
export type { Tokenizer, TokenizeOptions, VocabularyOptions, FromTextsOptions, PadOptions, PadSide, EncodeBatchOptions, VocabularyJSON } from './text.js';
// each rank's shard for data-parallel training: lib/distributed/sampler.ts
export { DistributedSampler } from '../distributed/sampler.js';
export type { DistributedSamplerOptions } from '../distributed/sampler.js';
