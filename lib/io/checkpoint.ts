// Training checkpoints in one .safetensors file:
//
//   tensors      the model's weights under their state-dict names ("0.weight"); the optimizer's
//                and scheduler's state tensors under prefixed names ("optimizer.state.0.exp_avg")
//   __metadata__ "wattgrad.checkpoint": "1"
//                "model": JSON list of the model's state-dict names
//                "optimizer" / "scheduler": their state dicts as JSON, each tensor replaced by
//                                           {"$tensor": "<name in the file>"}
//                "epoch", "history", "rng" (the tensor RNG's {seed, offset}), "extra": JSON
//
// Loading checks the file against the model first (missing, unexpected or wrongly shaped keys,
// each named) and only then restores the model, the optimizer, the scheduler and the RNG.

import { getRngState, setRngState } from '../random.js';
import { fmtShape } from '../shape.js';
import { isTensor, type Tensor } from '../tensor.js';
import { History } from '../train/history.js';
import { stateDictEntries, type ModelLike, type OptimizerLike, type SchedulerLike } from '../train/types.js';
import { rawToTensor, readSafetensors, save, SafetensorsError, type RawTensor } from './safetensors.js';

export const CHECKPOINT_VERSION = '1';

export interface CheckpointParts {
  model: ModelLike;
  optimizer?: OptimizerLike | null;
  scheduler?: SchedulerLike | null;
  /** epochs completed */
  epoch?: number;
  history?: History | null;
  /** the tensor RNG state to store; default the current one (getRngState()); false: none */
  rng?: { seed: number; offset: number } | false;
  /** anything JSON-serialisable (model name, hyper-parameters, …) */
  extra?: unknown;
}

// ---- JSON state with tensors pulled out ---------------------------------------------------------

/** JSON for `value` with each tensor replaced by {"$tensor": name}; tensors go into `out`. */
function flatten(value: unknown, prefix: string, out: Map<string, Tensor>): unknown {
  if (isTensor(value)) {
    if (out.has(prefix)) throw new Error(`checkpoint: two tensors map to the name '${prefix}'`);
    out.set(prefix, value);
    return { $tensor: prefix };
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return { $num: String(value) };
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Map) return { $map: [...value.entries()].map(([k, v], i) => [k, flatten(v, `${prefix}.${String(k) || i}`, out)]) };
  if (Array.isArray(value)) return value.map((v, i) => flatten(v, `${prefix}.${i}`, out));
  if (ArrayBuffer.isView(value)) return { $array: Array.from(value as unknown as ArrayLike<number>) };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, flatten(v, `${prefix}.${k}`, out)]));
}

function unflatten(value: unknown, tensors: (name: string) => Tensor): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => unflatten(v, tensors));
  const o = value as Record<string, unknown>;
  if (typeof o.$tensor === 'string' && Object.keys(o).length === 1) return tensors(o.$tensor);
  if (typeof o.$num === 'string' && Object.keys(o).length === 1) return Number(o.$num);
  if (Array.isArray(o.$map) && Object.keys(o).length === 1) return new Map((o.$map as [unknown, unknown][]).map(([k, v]) => [k, unflatten(v, tensors)]));
  if (Array.isArray(o.$array) && Object.keys(o).length === 1) return o.$array;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unflatten(v, tensors)]));
}

/** Writes a checkpoint atomically (see the header for the layout). */
export function saveCheckpoint(path: string, parts: CheckpointParts): void {
  const tensors = new Map<string, Tensor>();
  const modelKeys: string[] = [];
  for (const [k, t] of stateDictEntries(parts.model.stateDict())) {
    tensors.set(k, t);
    modelKeys.push(k);
  }
  const extraTensors = new Map<string, Tensor>();
  const metadata: Record<string, string> = {
    'wattgrad.checkpoint': CHECKPOINT_VERSION,
    model: JSON.stringify(modelKeys),
  };
  if (parts.optimizer) metadata.optimizer = JSON.stringify(flatten(parts.optimizer.stateDict(), 'optimizer', extraTensors));
  if (parts.scheduler) metadata.scheduler = JSON.stringify(flatten(parts.scheduler.stateDict(), 'scheduler', extraTensors));
  for (const [k, t] of extraTensors) {
    if (tensors.has(k)) throw new Error(`saveCheckpoint: the model has a state-dict entry '${k}' that collides with optimizer/scheduler state`);
    tensors.set(k, t);
  }
  if (parts.epoch !== undefined) metadata.epoch = String(parts.epoch);
  if (parts.history) metadata.history = JSON.stringify(parts.history);
  if (parts.rng !== false) metadata.rng = JSON.stringify(parts.rng ?? getRngState());
  if (parts.extra !== undefined) metadata.extra = JSON.stringify(parts.extra);
  save(path, tensors, { metadata });
}

export interface LoadCheckpointTargets {
  model?: ModelLike | null;
  optimizer?: OptimizerLike | null;
  scheduler?: SchedulerLike | null;
  /** restore the tensor RNG state stored in the file (default true) */
  restoreRng?: boolean;
}

export interface LoadedCheckpoint {
  epoch: number;
  history: History | null;
  rng: { seed: number; offset: number } | null;
  extra: unknown;
  metadata: Record<string, string>;
}

function parseJson(path: string, key: string, s: string | undefined): unknown {
  if (s === undefined) return undefined;
  try {
    return JSON.parse(s);
  } catch (e) {
    throw new SafetensorsError(`${path}: checkpoint metadata '${key}' is not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Restores what a checkpoint holds into the given objects (those left out are skipped) and returns
 * the epoch, history, RNG state and extra data. Nothing is modified if the file does not fit.
 */
export function loadCheckpoint(path: string, targets: LoadCheckpointTargets = {}): LoadedCheckpoint {
  const file = readSafetensors(path);
  const md = file.metadata;
  if (md['wattgrad.checkpoint'] === undefined) {
    throw new SafetensorsError(`${path}: not a wattgrad checkpoint (no 'wattgrad.checkpoint' metadata); use load() for a plain state dict`);
  }
  const modelKeys = (parseJson(path, 'model', md.model) as string[] | undefined) ?? [];
  const model = targets.model ?? null;
  let device = 'cpu';

  // 1. check everything before touching anything
  if (model) {
    const current = new Map(stateDictEntries(model.stateDict()));
    for (const t of current.values()) { device = t.device; break; }
    const missing = [...current.keys()].filter((k) => !modelKeys.includes(k));
    const unexpected = modelKeys.filter((k) => !current.has(k));
    if (missing.length || unexpected.length) {
      throw new SafetensorsError(`${path}: checkpoint does not match the model:` +
        (missing.length ? ` missing ${missing.map((k) => `'${k}'`).join(', ')};` : '') +
        (unexpected.length ? ` unexpected ${unexpected.map((k) => `'${k}'`).join(', ')};` : ''));
    }
    for (const k of modelKeys) {
      const raw = file.tensors.get(k);
      if (!raw) throw new SafetensorsError(`${path}: checkpoint lists model key '${k}' but holds no such tensor`);
      const want = current.get(k)!.shape;
      if (raw.shape.length !== want.length || raw.shape.some((d, i) => d !== want[i])) {
        throw new SafetensorsError(`${path}: tensor '${k}' has shape ${fmtShape(raw.shape)} but the model expects ${fmtShape(want)}`);
      }
    }
  }
  const optState = targets.optimizer ? parseJson(path, 'optimizer', md.optimizer) : undefined;
  if (targets.optimizer && optState === undefined) throw new SafetensorsError(`${path}: checkpoint holds no optimizer state`);
  const schedState = targets.scheduler ? parseJson(path, 'scheduler', md.scheduler) : undefined;
  if (targets.scheduler && schedState === undefined) throw new SafetensorsError(`${path}: checkpoint holds no scheduler state`);

  const made: Tensor[] = [];
  const tensorOf = (name: string): Tensor => {
    const raw: RawTensor | undefined = file.tensors.get(name);
    if (!raw) throw new SafetensorsError(`${path}: checkpoint state refers to tensor '${name}', which the file does not hold`);
    const t = rawToTensor(raw, device, name);
    made.push(t);
    return t;
  };

  // 2. restore
  try {
    if (model) {
      const sd: Record<string, Tensor> = {};
      for (const k of modelKeys) sd[k] = tensorOf(k);
      model.loadStateDict(sd);
    }
    if (targets.optimizer) targets.optimizer.loadStateDict(unflatten(optState, tensorOf));
    if (targets.scheduler) targets.scheduler.loadStateDict(unflatten(schedState, tensorOf));
  } finally {
    // loadStateDict copies values into the live tensors (or takes its own references)
    for (const t of made) t.dispose();
  }
  const rng = (parseJson(path, 'rng', md.rng) as { seed: number; offset: number } | undefined) ?? null;
  if (rng && targets.restoreRng !== false) setRngState(rng);
  const hist = parseJson(path, 'history', md.history);
  return {
    epoch: md.epoch !== undefined ? Number(md.epoch) : 0,
    history: hist === undefined ? null : History.fromJSON(hist),
    rng,
    extra: parseJson(path, 'extra', md.extra),
    metadata: md,
  };
}
