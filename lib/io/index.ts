// Saving and loading: safetensors files and training checkpoints.
export {
  save,
  load,
  loadWithMetadata,
  readSafetensors,
  serialize,
  deserialize,
  SafetensorsError,
  SAFETENSORS_DTYPES,
} from './safetensors.js';
export type { RawTensor, SafetensorsDType, SafetensorsContents, SaveOptions, LoadOptions, TensorMap } from './safetensors.js';
export { saveCheckpoint, loadCheckpoint, CHECKPOINT_VERSION } from './checkpoint.js';
export type { CheckpointParts, LoadCheckpointTargets, LoadedCheckpoint } from './checkpoint.js';
export { writeFileAtomic } from './atomic.js';
