// Training checkpoints in one .safetensors file:
//
//   tensors      the model's weights under their state-dict names ("0.weight"); the optimizer's
//                and scheduler's state tensors under prefixed names ("optimizer.state.0.exp_avg")
//   __metadata__ "wattgrad.checkpoint": "1"
//                "model": JSON list of the model's state-dict names
//                "optimizer" / "scheduler": their state dicts as JSON, each tensor replaced by
//                                           {"$tensor": "<name in the file>"}
//                "optimizer.class" / "scheduler.class": their class names ('Adam'), checked at load
//                "epoch", "history", "rng" (the tensor RNG's {seed, offset}), "extra": JSON
//
// Loading is all or nothing (see loadCheckpoint): every field is checked, the file against the model
// (missing, unexpected or wrongly shaped keys, each named), every tensor decoded, and only then are
// the optimizer, the scheduler, the model and the RNG restored, with earlier steps undone if a
// later one fails.

import { noGrad } from '../autograd/mode.js';
import * as ops from '../ops/index.js';
import { getRngState, setRngState } from '../random.js';
import { fmtShape } from '../shape.js';
import { isTensor, type Tensor } from '../tensor.js';
import { History } from '../train/history.js';
import { stateDictEntries, type ModelLike, type OptimizerLike, type SchedulerLike } from '../train/types.js';
import { nullProto, parseStrictJson } from './json.js';
import { bool, checkOptions, nonNegativeInt, type OptionKeys } from '../options.js';
import { rawToTensor, readSafetensors, save, SafetensorsError, type RawTensor, type SafetensorsDType } from './safetensors.js';

const FLOAT_FILE_DTYPES = new Set<SafetensorsDType>(['F16', 'BF16', 'F32', 'F64', 'F8_E4M3', 'F8_E5M2']);

export const CHECKPOINT_VERSION = '1';

/** What a checkpoint needs of a loss scaler (amp.GradScaler). */
export interface ScalerLike {
  stateDict(): unknown;
  loadStateDict(state: unknown): unknown;
}

export interface CheckpointParts {
  model: ModelLike;
  optimizer?: OptimizerLike | null;
  scheduler?: SchedulerLike | null;
  /** a GradScaler (lib/amp): its stateDict() is stored as JSON under 'scaler' */
  scaler?: ScalerLike | null;
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
  if (Array.isArray(o.$map) && Object.keys(o).length === 1)
    return new Map((o.$map as [unknown, unknown][]).map(([k, v]) => [k, unflatten(v, tensors)]));
  if (Array.isArray(o.$array) && Object.keys(o).length === 1) return o.$array;
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unflatten(v, tensors)]));
}

function className(o: object): string {
  return (o.constructor as { name?: string } | undefined)?.name || 'Object';
}

/**
 * The state of one optimizer (or scheduler) class loaded into another is accepted by a generic
 * loadStateDict (an SGD momentum buffer into Adam: Adam's moments restart at zero, silently), so
 * the class stored at save must match. Files without the class (older ones) are not checked.
 */
function checkClass(path: string, what: 'optimizer' | 'scheduler', stored: string | undefined, target: object): void {
  if (stored === undefined || stored === className(target)) return;
  throw new SafetensorsError(
    `${path}: the checkpoint holds ${stored} ${what} state but the ${what} given is ${className(target)}; ` +
      `build a ${stored} to resume, or leave the ${what} out of loadCheckpoint to start it fresh`,
  );
}

/** Writes a checkpoint atomically (see the header for the layout). */
export function saveCheckpoint(path: string, parts: CheckpointParts): void {
  if (typeof path !== 'string' || path === '')
    throw new TypeError(
      `saveCheckpoint: path must be a non-empty string, got ${path === null ? 'null' : typeof path} (the arguments are (path, { model, optimizer, … }))`,
    );
  if (!parts || typeof parts !== 'object')
    throw new TypeError(
      'saveCheckpoint: expected { model, optimizer?, scheduler?, epoch?, history?, rng?, extra? } as the second argument',
    );
  checkOptions('saveCheckpoint', parts, CHECKPOINT_PARTS_KEYS);
  if (!parts.model || typeof parts.model.stateDict !== 'function')
    throw new TypeError('saveCheckpoint: parts.model (a module with stateDict()) is required');
  if (parts.epoch !== undefined) nonNegativeInt('saveCheckpoint', 'epoch', parts.epoch);
  // what loadCheckpoint refuses is refused here, before a good checkpoint is replaced
  if (parts.rng !== undefined && parts.rng !== false) {
    for (const k of ['seed', 'offset'] as const) {
      const v: unknown = (parts.rng as Record<string, unknown> | null)?.[k];
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
        throw new RangeError(`saveCheckpoint: rng.${k} must be a non-negative integer (from getRngState()), got ${jsonType(v)}`);
    }
  }
  const json = (key: string, v: unknown): string => {
    let out: string;
    try {
      out = JSON.stringify(v);
    } catch (e) {
      throw new TypeError(`saveCheckpoint: ${key} cannot be stored as JSON (${(e as Error).message.split('\n')[0]})`);
    }
    // what loadCheckpoint could not read back is refused now
    if (out !== undefined && jsonDepth(out) > MAX_METADATA_DEPTH)
      throw new RangeError(`saveCheckpoint: ${key} nests deeper than ${MAX_METADATA_DEPTH} levels, which loadCheckpoint refuses`);
    return out;
  };
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
  if (parts.optimizer) {
    metadata.optimizer = JSON.stringify(flatten(parts.optimizer.stateDict(), 'optimizer', extraTensors));
    metadata['optimizer.class'] = className(parts.optimizer);
  }
  if (parts.scheduler) {
    metadata.scheduler = JSON.stringify(flatten(parts.scheduler.stateDict(), 'scheduler', extraTensors));
    metadata['scheduler.class'] = className(parts.scheduler);
  }
  for (const [k, t] of extraTensors) {
    if (tensors.has(k))
      throw new Error(`saveCheckpoint: the model has a state-dict entry '${k}' that collides with optimizer/scheduler state`);
    tensors.set(k, t);
  }
  if (parts.scaler) metadata.scaler = json('scaler', parts.scaler.stateDict());
  if (parts.epoch !== undefined) metadata.epoch = String(parts.epoch);
  if (parts.history) metadata.history = json('history', parts.history);
  if (parts.rng !== false) metadata.rng = JSON.stringify(parts.rng ?? getRngState());
  if (parts.extra !== undefined) metadata.extra = json('extra', parts.extra);
  save(path, tensors, { metadata });
}

const CHECKPOINT_PARTS_KEYS: OptionKeys<CheckpointParts> = {
  model: true,
  optimizer: true,
  scheduler: true,
  scaler: true,
  epoch: true,
  history: true,
  rng: true,
  extra: true,
};
const LOAD_TARGET_KEYS: OptionKeys<LoadCheckpointTargets> = {
  model: true,
  optimizer: true,
  scheduler: true,
  scaler: true,
  restoreRng: true,
};

export interface LoadCheckpointTargets {
  model?: ModelLike | null;
  optimizer?: OptimizerLike | null;
  scheduler?: SchedulerLike | null;
  /** a GradScaler to restore from the file's 'scaler' state */
  scaler?: ScalerLike | null;
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

// ---- reading and checking every field --------------------------------------------------------

/** Deepest nesting of a JSON metadata value (extra, history, optimizer state) in a checkpoint. */
export const MAX_METADATA_DEPTH = 1000;

/** The nesting depth of JSON text (brackets outside strings). */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** Parses metadata `key` strictly (duplicate keys are errors, objects have no prototype). */
function parseJson(path: string, key: string, s: string | undefined): unknown {
  if (s === undefined) return undefined;
  try {
    return parseStrictJson(s, { maxDepth: MAX_METADATA_DEPTH });
  } catch (e) {
    throw new SafetensorsError(`${path}: checkpoint metadata '${key}' is not valid JSON (${(e as Error).message})`);
  }
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A non-negative safe integer, or an error naming the file, the field and what it holds. */
function countField(path: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new SafetensorsError(`${path}: checkpoint metadata '${key}' must be a non-negative integer, got ${jsonType(v)}`);
  }
  return v;
}

/** The checkpoint's metadata, every field parsed and checked (nothing is restored yet). */
interface CheckedMetadata {
  modelKeys: string[];
  optimizer: unknown;
  scheduler: unknown;
  epoch: number;
  rng: { seed: number; offset: number } | null;
  history: unknown;
  extra: unknown;
}

function checkMetadata(path: string, md: Record<string, string>): CheckedMetadata {
  const version = md['wattgrad.checkpoint'];
  if (version === undefined) {
    throw new SafetensorsError(`${path}: not a wattgrad checkpoint (no 'wattgrad.checkpoint' metadata); use load() for a plain state dict`);
  }
  if (version !== CHECKPOINT_VERSION) {
    throw new SafetensorsError(
      `${path}: checkpoint format version ${JSON.stringify(version.slice(0, 20))} is not supported (this wattgrad reads version ${CHECKPOINT_VERSION}); was it written by a newer wattgrad?`,
    );
  }
  const modelKeys = parseJson(path, 'model', md.model) ?? [];
  if (!Array.isArray(modelKeys) || !modelKeys.every((k) => typeof k === 'string')) {
    throw new SafetensorsError(`${path}: checkpoint metadata 'model' must be a JSON array of state-dict names, got ${jsonType(modelKeys)}`);
  }
  const dup = modelKeys.find((k, i) => modelKeys.indexOf(k) !== i);
  if (dup !== undefined) throw new SafetensorsError(`${path}: checkpoint metadata 'model' lists '${dup}' twice`);
  const optimizer = parseJson(path, 'optimizer', md.optimizer);
  if (optimizer !== undefined && !isPlainObject(optimizer))
    throw new SafetensorsError(
      `${path}: checkpoint metadata 'optimizer' must be a JSON object (an optimizer state dict), got ${jsonType(optimizer)}`,
    );
  const scheduler = parseJson(path, 'scheduler', md.scheduler);
  if (scheduler !== undefined && !isPlainObject(scheduler))
    throw new SafetensorsError(
      `${path}: checkpoint metadata 'scheduler' must be a JSON object (a scheduler state dict), got ${jsonType(scheduler)}`,
    );
  // epoch: written as String(n); "abc", "-7", "1.5", "" and " 3" are all refused (Number() would take some)
  let epoch = 0;
  if (md.epoch !== undefined) {
    if (!/^(0|[1-9]\d{0,15})$/.test(md.epoch) || !Number.isSafeInteger(Number(md.epoch))) {
      throw new SafetensorsError(
        `${path}: checkpoint metadata 'epoch' must be a non-negative integer (epochs completed), got ${JSON.stringify(md.epoch.slice(0, 40))}`,
      );
    }
    epoch = Number(md.epoch);
  }
  let rng: CheckedMetadata['rng'] = null;
  const r = parseJson(path, 'rng', md.rng);
  if (r !== undefined && r !== null) {
    if (!isPlainObject(r))
      throw new SafetensorsError(`${path}: checkpoint metadata 'rng' must be an object {seed, offset}, got ${jsonType(r)}`);
    rng = { seed: countField(path, 'rng.seed', r.seed), offset: countField(path, 'rng.offset', r.offset) };
  }
  const history = parseJson(path, 'history', md.history);
  if (history !== undefined) {
    if (!isPlainObject(history))
      throw new SafetensorsError(`${path}: checkpoint metadata 'history' must be an object {epochs, steps, …}, got ${jsonType(history)}`);
    for (const k of ['epochs', 'steps'] as const) {
      const list = history[k];
      if (list !== undefined && (!Array.isArray(list) || !list.every(isPlainObject))) {
        throw new SafetensorsError(`${path}: checkpoint metadata 'history.${k}' must be an array of objects, got ${jsonType(list)}`);
      }
    }
  }
  return { modelKeys: modelKeys as string[], optimizer, scheduler, epoch, rng, history, extra: parseJson(path, 'extra', md.extra) };
}

// ---- undo: what a partly failed restore puts back -----------------------------------------------

/** A deep copy of a state dict (tensors cloned), to restore with loadStateDict if a later step fails. */
function snapshot(state: unknown): { value: unknown; dispose(): void } {
  const tensors = new Map<string, Tensor>();
  const json = flatten(state, 's', tensors);
  const copies = new Map<string, Tensor>();
  try {
    for (const [k, t] of tensors)
      copies.set(
        k,
        noGrad(() => ops.clone(t)),
      );
  } catch (e) {
    for (const t of copies.values()) t.dispose();
    throw e;
  }
  return {
    value: unflatten(json, (name) => copies.get(name)!),
    dispose: () => {
      for (const t of copies.values()) t.dispose();
    },
  };
}

/**
 * Restores what a checkpoint holds into the given objects (those left out are skipped) and returns
 * the epoch, history, RNG state and extra data.
 *
 * It is all or nothing: every metadata field is parsed and checked (epoch, rng, history, the
 * JSON types), the model's keys and shapes are checked and every tensor is decoded before anything
 * is touched. The optimizer and the scheduler then load first (their loadStateDict checks their
 * own state), the model last; if a later step still fails, the earlier ones are put back from a
 * copy, so a failed load leaves the model, optimizer, scheduler and RNG as they were.
 */
export function loadCheckpoint(path: string, targets: LoadCheckpointTargets = {}): LoadedCheckpoint {
  targets = checkOptions('loadCheckpoint', targets, LOAD_TARGET_KEYS);
  bool('loadCheckpoint', 'restoreRng', targets.restoreRng, true);
  const file = readSafetensors(path);
  const md = file.metadata;
  const meta = checkMetadata(path, md);
  const { modelKeys } = meta;
  const model = targets.model ?? null;
  const optimizer = targets.optimizer ?? null;
  const scheduler = targets.scheduler ?? null;
  let device = 'cpu';

  // 1. check everything before touching anything
  if (model) {
    const current = new Map(stateDictEntries(model.stateDict()));
    for (const t of current.values()) {
      device = t.device;
      break;
    }
    const missing = [...current.keys()].filter((k) => !modelKeys.includes(k));
    const unexpected = modelKeys.filter((k) => !current.has(k));
    if (missing.length || unexpected.length) {
      throw new SafetensorsError(
        `${path}: checkpoint does not match the model:` +
          (missing.length ? ` missing ${missing.map((k) => `'${k}'`).join(', ')};` : '') +
          (unexpected.length ? ` unexpected ${unexpected.map((k) => `'${k}'`).join(', ')};` : ''),
      );
    }
    for (const k of modelKeys) {
      const raw = file.tensors.get(k);
      if (!raw) throw new SafetensorsError(`${path}: checkpoint lists model key '${k}' but holds no such tensor`);
      const dst = current.get(k)!;
      const want = dst.shape;
      if (raw.shape.length !== want.length || raw.shape.some((d, i) => d !== want[i])) {
        throw new SafetensorsError(`${path}: tensor '${k}' has shape ${fmtShape(raw.shape)} but the model expects ${fmtShape(want)}`);
      }
      if (dst.dtype === 'int32' && FLOAT_FILE_DTYPES.has(raw.dtype)) {
        throw new SafetensorsError(
          `${path}: tensor '${k}' is ${raw.dtype} in the file but int32 in the model (a float would be truncated)`,
        );
      }
    }
  }
  if (optimizer && meta.optimizer === undefined) throw new SafetensorsError(`${path}: checkpoint holds no optimizer state`);
  if (optimizer) checkClass(path, 'optimizer', md['optimizer.class'], optimizer);
  if (scheduler) checkClass(path, 'scheduler', md['scheduler.class'], scheduler);
  if (scheduler && meta.scheduler === undefined) throw new SafetensorsError(`${path}: checkpoint holds no scheduler state`);
  const scaler = targets.scaler ?? null;
  const scalerSd = scaler ? parseJson(path, 'scaler', md.scaler) : undefined;
  if (scaler && !isPlainObject(scalerSd))
    throw new SafetensorsError(
      scalerSd === undefined
        ? `${path}: checkpoint holds no GradScaler state (it was saved without { scaler })`
        : `${path}: checkpoint metadata 'scaler' must be a JSON object (a GradScaler state dict), got ${jsonType(scalerSd)}`,
    );

  const made: Tensor[] = [];
  let stage = 'the checkpoint tensors';
  const undo: (() => void)[] = [];
  const cleanup: (() => void)[] = [];
  const tensorOf = (name: string): Tensor => {
    const raw: RawTensor | undefined = file.tensors.get(name);
    if (!raw) throw new SafetensorsError(`${path}: checkpoint state refers to tensor '${name}', which the file does not hold`);
    const t = rawToTensor(raw, device, name);
    made.push(t);
    return t;
  };

  try {
    // every tensor decoded (values that do not fit, unknown references) before any commit
    let sd: Record<string, Tensor> | null = null;
    if (model) {
      sd = nullProto<Tensor>();
      for (const k of modelKeys) sd[k] = tensorOf(k);
    }
    const optSd = optimizer ? unflattenChecked(path, 'optimizer', meta.optimizer, tensorOf) : undefined;
    const schedSd = scheduler ? unflattenChecked(path, 'scheduler', meta.scheduler, tensorOf) : undefined;

    // 2. commit, most likely to refuse first; each step can be undone until the last succeeds
    if (scaler) {
      stage = 'the GradScaler';
      const before = scaler.stateDict();
      scaler.loadStateDict(scalerSd);
      undo.push(() => scaler.loadStateDict(before));
    }
    if (optimizer) {
      stage = 'the optimizer';
      const before = scheduler || model ? snapshot(optimizer.stateDict()) : null;
      if (before) cleanup.push(before.dispose);
      optimizer.loadStateDict(optSd);
      if (before) undo.push(() => optimizer.loadStateDict(before.value));
    }
    if (scheduler) {
      stage = 'the scheduler';
      const before = model ? snapshot(scheduler.stateDict()) : null;
      if (before) cleanup.push(before.dispose);
      scheduler.loadStateDict(schedSd);
      if (before) undo.push(() => scheduler.loadStateDict(before.value));
    }
    stage = 'the model';
    if (model) model.loadStateDict(sd);
  } catch (e) {
    for (const u of undo.reverse()) {
      try {
        u();
      } catch {
        /* keep the first error; the undo uses state these objects produced */
      }
    }
    // name the file (a loadStateDict error names only the object); the type stays
    if (e instanceof Error && !e.message.includes(path)) e.message = `${path}: cannot restore ${stage} (nothing was changed): ${e.message}`;
    throw e;
  } finally {
    // loadStateDict copies values into the live tensors (or takes its own references)
    for (const t of made) t.dispose();
    for (const c of cleanup) c();
  }
  if (meta.rng && targets.restoreRng !== false) setRngState(meta.rng);
  return {
    epoch: meta.epoch,
    history: meta.history === undefined ? null : History.fromJSON(meta.history),
    rng: meta.rng,
    extra: meta.extra,
    metadata: md,
  };
}

/** unflatten, with the markers' payloads checked ($tensor names, $num values, $map pairs). */
function unflattenChecked(path: string, key: string, value: unknown, tensors: (name: string) => Tensor): unknown {
  const bad = (what: string): never => {
    throw new SafetensorsError(`${path}: checkpoint metadata '${key}': ${what}`);
  };
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      v.forEach(walk);
      return;
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      if (keys[0] === '$num' && !['NaN', 'Infinity', '-Infinity'].includes(o.$num as string))
        bad(`{"$num": …} must hold "NaN", "Infinity" or "-Infinity", got ${jsonType(o.$num)}`);
      if (keys[0] === '$map') {
        if (!Array.isArray(o.$map) || !o.$map.every((e) => Array.isArray(e) && e.length === 2))
          bad('{"$map": …} must hold [key, value] pairs');
        (o.$map as unknown[][]).forEach((e) => walk(e[1]));
        return;
      }
      if (keys[0] === '$array' && (!Array.isArray(o.$array) || !o.$array.every((x) => typeof x === 'number')))
        bad('{"$array": …} must hold numbers');
    }
    for (const k of keys) walk(o[k]);
  };
  walk(value);
  return unflatten(value, tensors);
}
