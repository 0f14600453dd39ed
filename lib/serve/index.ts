// The model server: `serve(model, options)` and its parts.
export { serve, DEFAULT_CPU_WATTS_PER_CORE } from './server.js';
export type { ServeOptions, ModelServer, DemoModelName } from './server.js';
export type { ModelInfo, ModelSpec, EnergyOptions, BatchEnergy, InputDType } from './engine.js';
export { DynamicBatcher, QueueFullError, QueueTimeoutError } from './batcher.js';
export { BadRequest } from './parse.js';
