// The inference engine behind `serve`: it owns the model, runs one batch at a time, measures each
// batch's energy and swaps weights atomically.
//
// Two engines share one implementation (ModelRunner):
//   - InProcessEngine runs the model on the calling thread (any nn.Module instance handed to serve());
//   - WorkerEngine runs a ModelRunner in a worker thread (a demo model name or a factory module), so
//     the HTTP thread only parses, queues and answers: inference is off the request path.
// Batches are serialised per engine (a promise chain), and a reload runs between two batches: no
// batch ever sees a half-loaded model.

import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import { noGrad } from '../autograd/mode.js';
import { tidy } from '../memory.js';
import { tensor } from '../ops/index.js';
import { EnergyMeter } from '../energy/index.js';
import { loadCheckpoint } from '../io/checkpoint.js';
import { load, readSafetensors } from '../io/safetensors.js';
import { synchronize } from '../backend/registry.js';
import type { ModelLike } from '../train/types.js';
import type { Tensor } from '../tensor.js';
import { Module } from '../nn/module.js';
import { quantizeDynamic } from '../quantization/dynamic.js';
import { isQuantized, loadQuantized, QUANTIZATION_METADATA_KEY } from '../quantization/io.js';

export type InputDType = 'float32' | 'int32';

/** What a batch cost, and how that was found out. */
export interface BatchEnergy {
  /** joules of the whole batch (measured, or estimated when `estimated`); null when neither is possible */
  joules: number | null;
  estimated: boolean;
  /** e.g. "rapl", "nvml-counter", "estimate (cpu 20 W)", or "unavailable: …" */
  method: string;
}

export interface BatchResult {
  /** row-major outputs of all rows */
  output: Float32Array;
  /** the output's shape, batch dimension first */
  shape: number[];
  energy: BatchEnergy;
  seconds: number;
}

export interface ModelInfo {
  inputShape: number[];
  inputDtype: InputDType;
  /** per-instance output shape (without the batch dimension), known after the warm-up forward */
  outputShape: number[];
  parameters: number;
  device: string;
  version: number;
  weights: string | null;
  /** 'dynamic int8' when served with quantized: true (quantization.quantizeDynamic), else null */
  quantized: string | null;
}

export interface Engine {
  readonly info: ModelInfo;
  run(input: Float32Array | Int32Array, rows: number): Promise<BatchResult>;
  /** Loads new weights (default: the configured file again) and switches to them between batches. */
  reload(weights?: string): Promise<ModelInfo>;
  close(): Promise<void>;
}

export interface EnergyOptions {
  /** watts assumed for the CPU where no counter exists (labelled estimated); default 10 W per logical core in use */
  cpuWatts?: number;
  /** watts assumed for a GPU without an NVML counter (labelled estimated) */
  gpuWatts?: number;
}

/** How a worker builds its model: a demo model name or an ES module exporting a factory. */
export type ModelSpec = { demo: 'mnist-mlp' | 'mnist-cnn' | 'mnist-lstm' } | { module: string; export?: string; args?: unknown[] };

export interface RunnerConfig {
  inputShape: number[];
  inputDtype: InputDType;
  device: string;
  weights: string | null;
  energy: EnergyOptions;
  /** run quantization.quantizeDynamic on the model after loading its float weights (cpu only) */
  quantized?: boolean;
}

/**
 * Loads a wattgrad checkpoint (`wattgrad train --save`: its model part) or a plain safetensors state
 * dict into the model. Both loads are transactional (everything is checked before anything is
 * copied), so a file that does not fit leaves the model as it was.
 */
function loadWeights(file: string, model: ModelLike, quantized = false): void {
  if (!fs.existsSync(file)) throw new Error(`serve: weights file ${file} does not exist`);
  const { metadata } = readSafetensors(file); // the file is read again below: reloads are rare
  if (metadata[QUANTIZATION_METADATA_KEY] !== undefined && !quantized) {
    throw new Error(
      `serve: ${file} is an int8 checkpoint (${metadata[QUANTIZATION_METADATA_KEY]}); serve it with --quantized (quantized: true), or serve the float checkpoint it was made from`,
    );
  }
  if (metadata[QUANTIZATION_METADATA_KEY] !== undefined) {
    try {
      loadQuantized(model as unknown as Module, file);
    } catch (e) {
      throw new Error(`serve: ${file} does not fit the model: ${(e as Error).message}`);
    }
    return;
  }
  if (metadata['wattgrad.checkpoint'] !== undefined) {
    loadCheckpoint(file, { model, restoreRng: false });
    return;
  }
  const sd = load(file);
  try {
    model.loadStateDict(sd);
  } catch (e) {
    throw new Error(`serve: ${file} does not fit the model: ${(e as Error).message}`);
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}

function describeEnergy(
  r: { joules: number | null; estimatedJoules: number | null; gpu: { method: string }[]; cpu: { method: string } | null },
  est: EnergyOptions,
): BatchEnergy {
  if (r.joules !== null) {
    const methods = [
      ...new Set([...r.gpu.map((g) => g.method), r.cpu?.method ?? ''].filter((m) => m !== '' && !m.startsWith('unavailable'))),
    ];
    return { joules: r.joules, estimated: false, method: methods.join('+') };
  }
  if (r.estimatedJoules !== null) {
    const parts = [
      est.cpuWatts !== undefined ? `cpu ${est.cpuWatts} W` : '',
      est.gpuWatts !== undefined ? `gpu ${est.gpuWatts} W` : '',
    ].filter(Boolean);
    return { joules: r.estimatedJoules, estimated: true, method: `estimate (${parts.join(', ')})` };
  }
  return { joules: null, estimated: false, method: r.cpu?.method ?? r.gpu[0]?.method ?? 'unavailable' };
}

/** Runs a model batch by batch; used directly by InProcessEngine and inside the worker. */
export class ModelRunner {
  readonly info: ModelInfo;
  private readonly meter: EnergyMeter;
  private batches = 0;
  /** what runs: the float model, or its int8 copy when cfg.quantized */
  private model: ModelLike;

  constructor(
    private readonly floatModel: ModelLike,
    private readonly cfg: RunnerConfig,
  ) {
    const model = floatModel;
    if (cfg.quantized) {
      if (cfg.device !== 'cpu')
        throw new Error(
          `serve: quantized serving runs on the cpu only (int8 layers have no CUDA kernel yet); drop --device ${cfg.device} or --quantized`,
        );
      if (!(model instanceof Module))
        throw new TypeError(
          'serve: quantized serving needs an nn.Module model (quantization.quantizeDynamic converts its nn.Linear layers)',
        );
    }
    if (cfg.device !== 'cpu') (model as { to?: (d: string) => unknown }).to?.(cfg.device);
    // an int8 checkpoint loads into the int8 copy; float weights load before quantizing
    const int8File = cfg.quantized === true && cfg.weights !== null && this.isInt8File(cfg.weights);
    if (cfg.weights !== null && !int8File) loadWeights(cfg.weights, model, cfg.quantized);
    model.eval();
    this.model = cfg.quantized ? this.quantize() : model;
    if (int8File) loadWeights(cfg.weights!, this.model, true);
    const est = { ...cfg.energy };
    this.meter = new EnergyMeter({
      estimate: est,
      samplePower: false,
      ...(cfg.device === 'cpu' ? {} : { synchronize: () => synchronize() }),
    });
    let parameters = 0;
    for (const p of floatModel.parameters()) parameters += p.size;
    this.info = {
      inputShape: cfg.inputShape,
      inputDtype: cfg.inputDtype,
      outputShape: [],
      parameters,
      device: cfg.device,
      version: 1,
      weights: cfg.weights,
      quantized: cfg.quantized ? 'dynamic int8' : null,
    };
    // one warm-up forward on a non-zero input gives the output shape and checks the input shape
    const numel = cfg.inputShape.reduce((a, b) => a * b, 1);
    const probe =
      cfg.inputDtype === 'int32' ? new Int32Array(numel).fill(1) : Float32Array.from({ length: numel }, (_, i) => ((i * 7919) % 97) / 97);
    const out = this.forward(probe, 1);
    this.info.outputShape = out.shape.slice(1);
  }

  private forward(input: Float32Array | Int32Array, rows: number): { output: Float32Array; shape: number[] } {
    return noGrad(() =>
      tidy(() => {
        const x = tensor(input, { shape: [rows, ...this.cfg.inputShape], dtype: this.cfg.inputDtype, device: this.cfg.device });
        let y = this.model.forward(x) as Tensor;
        if (!y || typeof (y as { dataSync?: unknown }).dataSync !== 'function') throw new Error('serve: the model must return one tensor');
        if (y.ndim === 0 || y.shape[0] !== rows)
          throw new Error(
            `serve: the model returned shape (${y.shape.join(', ')}) for a batch of ${rows}; the first dimension must be the batch`,
          );
        if (y.dtype !== 'float32') y = y.to('float32');
        const data = y.dataSync();
        const output = data instanceof Float32Array ? new Float32Array(data) : Float32Array.from(data as ArrayLike<number>);
        return { output, shape: [...y.shape] };
      }),
    );
  }

  run(input: Float32Array | Int32Array, rows: number): BatchResult {
    const name = `batch ${++this.batches}`;
    this.meter.begin(name);
    const t0 = performance.now();
    let out: { output: Float32Array; shape: number[] };
    try {
      out = this.forward(input, rows);
    } catch (e) {
      this.meter.end(name);
      throw e;
    }
    const r = this.meter.end(name, { samples: rows });
    return { ...out, energy: describeEnergy(r, this.cfg.energy), seconds: (performance.now() - t0) / 1000 };
  }

  /** The int8 copy of the float model (its nn.Linear layers quantized), in eval mode. */
  private quantize(): ModelLike {
    const q = quantizeDynamic(this.floatModel as unknown as Module) as unknown as ModelLike;
    if (!isQuantized(q as unknown as Module))
      throw new Error('serve: quantized serving: the model has no nn.Linear layers to quantize (dynamic int8 quantizes nn.Linear only)');
    return q;
  }

  private isInt8File(file: string): boolean {
    return fs.existsSync(file) && readSafetensors(file).metadata[QUANTIZATION_METADATA_KEY] !== undefined;
  }

  /** Validates the whole file first, then copies the weights in (between batches: the caller serialises). */
  reload(weights?: string): ModelInfo {
    const file = weights ?? this.cfg.weights;
    if (file === null || file === undefined) throw new Error('serve: no weights file to reload (the model was served without --weights)');
    if (this.cfg.quantized && this.isInt8File(file)) {
      loadWeights(file, this.model, true); // an int8 checkpoint goes straight into the int8 model
    } else if (this.cfg.quantized) {
      loadWeights(file, this.floatModel, true);
      const old = this.model as Module;
      this.model = this.quantize();
      old.dispose();
    } else {
      loadWeights(file, this.model);
    }
    this.info.version += 1;
    this.info.weights = file;
    return { ...this.info };
  }
}

/** A queue of one: each task starts when the previous one has settled. */
class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => T | Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }
}

export class InProcessEngine implements Engine {
  private readonly runner: ModelRunner;
  private readonly serial = new Serial();
  constructor(model: ModelLike, cfg: RunnerConfig) {
    this.runner = new ModelRunner(model, cfg);
  }
  get info(): ModelInfo {
    return this.runner.info;
  }
  run(input: Float32Array | Int32Array, rows: number): Promise<BatchResult> {
    // setImmediate: the batch starts in its own macrotask, after the requests already read
    return this.serial.run(
      () =>
        new Promise<BatchResult>((resolve, reject) =>
          setImmediate(() => {
            try {
              resolve(this.runner.run(input, rows));
            } catch (e) {
              reject(e);
            }
          }),
        ),
    );
  }
  reload(weights?: string): Promise<ModelInfo> {
    return this.serial.run(() => this.runner.reload(weights));
  }
  async close(): Promise<void> {
    await this.serial.run(() => undefined);
  }
}

type WorkerReply = { id: number; ok: true; result?: BatchResult; info?: ModelInfo } | { id: number; ok: false; error: string };

/** The compiled worker entry: next to this file in dist/, or dist/serve/ when running from sources. */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const beside = path.join(path.dirname(here), 'worker.js');
  if (fs.existsSync(beside)) return beside;
  const fromSources = path.resolve(path.dirname(here), '..', '..', 'dist', 'serve', 'worker.js');
  if (fs.existsSync(fromSources)) return fromSources;
  throw new Error(`serve: the worker entry (worker.js) was not found beside ${here}; build the library first (npm run build)`);
}

export class WorkerEngine implements Engine {
  private worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: WorkerReply & { ok: true }) => void; reject: (e: Error) => void }>();
  private dead: Error | null = null;
  info!: ModelInfo;

  private constructor(spec: ModelSpec, cfg: RunnerConfig) {
    const spec2 =
      'module' in spec && !spec.module.startsWith('file:') && path.isAbsolute(spec.module)
        ? { ...spec, module: pathToFileURL(spec.module).href }
        : spec;
    this.worker = new Worker(workerFile(), { workerData: { spec: spec2, cfg } });
    this.worker.on('message', (m: WorkerReply | { ready: ModelInfo } | { failed: string }) => {
      if ('id' in m) {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m);
        else p.reject(new Error(m.error));
      }
    });
    const fail = (e: Error): void => {
      this.dead = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (!this.dead) fail(new Error(`serve: the inference worker exited (code ${code})`));
    });
  }

  /** Starts the worker and waits until its model is built and warmed up. */
  static async start(spec: ModelSpec, cfg: RunnerConfig): Promise<WorkerEngine> {
    const e = new WorkerEngine(spec, cfg);
    e.info = await new Promise<ModelInfo>((resolve, reject) => {
      const onMsg = (m: { ready?: ModelInfo; failed?: string }): void => {
        if (m.ready) {
          e.worker.off('message', onMsg);
          resolve(m.ready);
        } else if (m.failed) {
          e.worker.off('message', onMsg);
          reject(new Error(m.failed));
        }
      };
      e.worker.on('message', onMsg);
      e.worker.once('error', reject);
    }).catch(async (err: Error) => {
      await e.worker.terminate();
      throw err;
    });
    return e;
  }

  private call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<WorkerReply & { ok: true }> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  async run(input: Float32Array | Int32Array, rows: number): Promise<BatchResult> {
    const r = await this.call({ type: 'run', input, rows }, [input.buffer as ArrayBuffer]);
    return r.result!;
  }

  async reload(weights?: string): Promise<ModelInfo> {
    const r = await this.call({ type: 'reload', weights });
    this.info = r.info!;
    return r.info!;
  }

  async close(): Promise<void> {
    if (this.dead) return;
    await this.call({ type: 'close' }).catch(() => undefined);
    await this.worker.terminate();
  }
}
