#!/usr/bin/env node
// The `wattgrad` command:
//   wattgrad train mnist-mlp|mnist-cnn|mnist-lstm [options]   train a demo model on MNIST
//   wattgrad info                                            version, backends, GPU, addon
// main(argv, io) is exported so tests can run it in-process and capture the output.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { backends, setDefaultDevice, synchronize } from './backend/registry.js';
import { fallbackAdvice, loadNative, nativeInfo, nativeWarningReported, packageRoot } from './native.js';
import { manualSeed } from './random.js';
import { DataLoader } from './data/loader.js';
import { loadMnist } from './data/mnist.js';
import { EnergyMeter, formatEnergySummary, writeHtmlReport } from './energy/index.js';
import { saveCheckpoint } from './io/checkpoint.js';
import { fit, evaluate } from './train/fit.js';
import { TerminateOnNaN } from './train/callbacks.js';
import { nearest, numberFlag, parseFlags } from './options.js';
import { fmtDuration, type ProgressStream } from './train/progress.js';
import type { DemoModelName, DemoSpec } from './models/index.js';
import type { RankSetup } from './distributed/cli-support.js';
import type { DistributedEnergy } from './distributed/fit-support.js';

export interface CliIO {
  stdout: ProgressStream;
  stderr: ProgressStream;
}

class UsageError extends Error {}

// the demo models (and with them nn and optim) load only for `train`
const MODEL_HELP: Record<DemoModelName, string> = {
  'mnist-mlp': 'MLP 784-256-10, ReLU, dropout',
  'mnist-cnn': 'CNN conv5x5(16)-pool-conv5x5(32)-pool-linear',
  'mnist-lstm': 'LSTM over 28 rows (hidden 64) + linear',
};
const modelNames = (): string[] => Object.keys(MODEL_HELP);

const USAGE = `usage: wattgrad <command> [options]

commands:
  train <model>   train a demo model on MNIST and report accuracy, time and samples/s
                  models: ${Object.entries(MODEL_HELP)
                    .map(([k, d]) => `${k} (${d})`)
                    .join('\n                          ')}
  serve           serve a trained demo model over HTTP (wattgrad serve --help)
  optimize <model>  quantize / prune / distill / mixed precision, one table of accuracy, size,
                  latency and joules per 1,000 predictions (wattgrad optimize --help)
  info            version, backends found, the GPU, why CUDA is unavailable, the addon loaded

train options:
  --epochs N          epochs (default: the model's)
  --batch-size N      batch size (default: the model's)
  --lr X              Adam learning rate (default: the model's)
  --device D          cpu | cuda | cuda:N (default cpu)
  --seed N            seed for init, dropout and the shuffle (default 0)
  --data-dir DIR      read MNIST IDX files (train-images-idx3-ubyte[.gz], …) from DIR instead of
                      the embedded 10,000 digits (8,000 train / 2,000 test)
  --limit N           train on the first N training samples only (quick runs)
  --save PATH         save a checkpoint (.safetensors: weights, optimizer, history) at the end
  --energy            measure energy (GPU: NVML, CPU: RAPL) per epoch and for the run
  --report FILE       write an HTML report (loss/accuracy, power, energy); implies --energy
  --cpu-watts W       where the CPU cannot be measured (no RAPL), estimate it as W watts × time;
                      shown as "~" apart from measured energy, never in kWh/CO2e; implies --energy
  --gpu-watts W       the same for a GPU that cannot be measured (no NVML)
  --quiet             no progress output
  --nproc N           data-parallel over N local processes: runs this command under the installed
                      mpirun (Open MPI or MPICH); --batch-size is the global batch, split over ranks
  --no-terminate-on-nan  keep training when the loss turns NaN/Inf (default: stop, exit 1, save nothing)
  -h, --help          this help
`;

/** An integer flag >= min (lib/options.ts numberFlag: decimal digits only, range named in the error). */
function intOpt(name: string, v: string | boolean | string[] | undefined, min = 1): number | undefined {
  return numberFlag('train', name, v, { min, integer: true });
}

/** A finite number flag > 0. */
function numOpt(name: string, v: string | boolean | string[] | undefined): number | undefined {
  return numberFlag('train', name, v, { min: 0, minOpen: true });
}

/**
 * Fails before training when `file` cannot be written: a parent that is a regular file, the path
 * itself a directory, or the nearest existing directory not writable.
 */
function checkWritable(flag: string, file: string): void {
  const abs = path.resolve(file);
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(abs);
  } catch {
    /* absent: fine */
  }
  if (st?.isDirectory()) throw new UsageError(`--${flag} ${file}: is a directory (give a file name)`);
  let dir = path.dirname(abs);
  for (;;) {
    let ds: fs.Stats | null = null;
    try {
      ds = fs.statSync(dir);
    } catch {
      /* keep walking up */
    }
    if (ds) {
      if (!ds.isDirectory()) throw new UsageError(`--${flag} ${file}: ${dir} is a file, not a directory`);
      try {
        fs.accessSync(dir, fs.constants.W_OK);
      } catch {
        throw new UsageError(`--${flag} ${file}: cannot write in ${dir} (permission denied)`);
      }
      return;
    }
    const up = path.dirname(dir);
    if (up === dir) return;
    dir = up;
  }
}

export function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs the CLI; resolves to the exit code (0 ok, 1 failure, 2 usage error). */
export async function main(
  argv: string[] = process.argv.slice(2),
  io: CliIO = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const out = (s: string): void => void io.stdout.write(s + '\n');
  const err = (s: string): void => void io.stderr.write(s + '\n');
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
      out(USAGE);
      return cmd === undefined ? 2 : 0;
    }
    if (cmd === '--version' || cmd === '-v') {
      out(version());
      return 0;
    }
    if (cmd === 'info') return info(rest, out);
    if (cmd === 'train') return await train(rest, io, out);
    if (cmd === 'serve') return await (await import('./serve/cli.js')).serveCommand(rest, io);
    if (cmd === 'optimize') return await (await import('./optimize/cli.js')).optimizeCommand(rest, io);
    const near = nearest(cmd, ['train', 'serve', 'info', 'optimize']);
    throw new UsageError(
      `unknown command '${cmd}' (expected 'train', 'serve', 'optimize' or 'info')${near ? ` — did you mean '${near}'?` : ''}`,
    );
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`wattgrad: ${(e as Error).message}`);
      err(`run 'wattgrad --help' for usage`);
      return 2;
    }
    err(`wattgrad: error: ${(e as Error).message}`);
    return 1;
  }
}

function info(argv: string[], out: (s: string) => void): number {
  const { values } = parseFlags('info', argv, { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } });
  if (values.help) {
    out('usage: wattgrad info [--json]\n  version, backends found, the GPU (if any), why CUDA is unavailable, the addon file loaded');
    return 0;
  }
  nativeWarningReported(); // info reports the addon's state itself: no fallback warning line on top
  const native = nativeInfo();
  const bs = backends();
  let gpus: { index: number; name?: string; totalMemory?: number; computeCapability?: string; usable: boolean; problem?: string }[] = [];
  let driver: number | null = null;
  let cudaNote: string | null = null; // e.g. "simulator build, no tensor cores"
  const binding = loadNative().binding;
  if (binding) {
    try {
      const st = binding.cudaStatus();
      gpus = st.devices;
      driver = st.driverVersion;
      cudaNote = st.note ?? null;
    } catch {
      /* reported through backends() */
    }
  }
  const report = {
    version: version(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    backends: bs,
    addon: { path: native.path, error: native.error, build: native.buildInfo },
    gpus,
    driverVersion: driver,
    cudaNote,
  };
  if (values.json) {
    out(JSON.stringify(report, null, 2));
    return 0;
  }
  out(`wattgrad ${report.version} (node ${report.node}, ${report.platform})`);
  out('backends:');
  for (const b of bs) {
    out(`  ${b.name.padEnd(5)} ${b.available ? `available: ${b.devices.join(', ')}` : `unavailable: ${b.reason ?? 'unknown reason'}`}`);
    const ck = b.cpuKernels;
    if (ck)
      out(
        `        cpu kernels: ${ck.native.length ? `native ${ck.native.join(', ')} (${ck.isa}, ${ck.threads} thread${ck.threads === 1 ? '' : 's'}; ISAs here: ${ck.supportedIsas.join(', ')}), the rest pure JS` : `pure JS (${ck.reason ?? 'no native CPU kernels'})`}`,
      );
  }
  out(`native addon: ${native.path ?? `not loaded (${native.error ?? 'unknown reason'})`}`);
  if (!native.path) out(`  ${fallbackAdvice(packageRoot(), loadNative())}`);
  if (native.buildInfo) {
    const bi = native.buildInfo;
    out(
      `  build: ${bi.version}, ${bi.buildType}, cuda ${bi.cuda ? `yes (runtime ${bi.cudaRuntime ?? '?'}, archs ${bi.cudaArchs || '?'})` : 'no'}, kernels ${bi.kernels ? 'yes' : 'no'}, nvml ${bi.nvml ? 'yes' : 'no'}`,
    );
    if (cudaNote) out(`  cuda: ${cudaNote}${bi.simulator ? ' (GPGPU-Sim, PTX compute_75: kernels run on a simulated GPU)' : ''}`);
  }
  for (const w of native.warnings) out(`  warning: ${w}`);
  if (gpus.length === 0) out('GPU: none found');
  for (const g of gpus) {
    const mem = g.totalMemory ? `, ${(g.totalMemory / 2 ** 30).toFixed(1)} GiB` : '';
    const cc = g.computeCapability ? `, compute ${g.computeCapability}` : '';
    out(`GPU ${g.index}: ${g.name ?? 'unknown'}${mem}${cc}${g.usable ? '' : ` (not usable: ${g.problem ?? 'unknown'})`}`);
  }
  if (driver !== null) out(`CUDA driver: ${Math.floor(driver / 1000)}.${(driver % 1000) / 10}`);
  return 0;
}

async function train(argv: string[], io: CliIO, out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseFlags(
    'train',
    argv,
    {
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      device: { type: 'string' },
      save: { type: 'string' },
      seed: { type: 'string' },
      'data-dir': { type: 'string' },
      limit: { type: 'string' },
      energy: { type: 'boolean' },
      report: { type: 'string' },
      'cpu-watts': { type: 'string' },
      'gpu-watts': { type: 'string' },
      quiet: { type: 'boolean' },
      'no-terminate-on-nan': { type: 'boolean' },
      nproc: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    { positionals: true },
  );
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? `train: which model? (${modelNames().join(', ')})`
        : `train: one model at a time, got ${positionals.join(' ')}`,
    );
  }
  const name = positionals[0]!;
  // own keys only: 'constructor' or 'toString' is not a model
  if (!Object.hasOwn(MODEL_HELP, name)) {
    const near = nearest(name, modelNames());
    throw new UsageError(`unknown model '${name}' (expected one of ${modelNames().join(', ')})${near ? ` — did you mean '${near}'?` : ''}`);
  }
  const { MODELS } = await import('./models/index.js');
  const spec: DemoSpec = MODELS[name as DemoModelName];
  const epochs = intOpt('epochs', values.epochs) ?? spec.defaults.epochs;
  const batchSize = intOpt('batch-size', values['batch-size']) ?? spec.defaults.batchSize;
  const lr = numOpt('lr', values.lr) ?? spec.defaults.lr;
  const seed = intOpt('seed', values.seed, 0) ?? 0;
  const limit = intOpt('limit', values.limit);
  // --nproc N: the parent runs N ranks of this command under mpirun; each rank trains a DDP model
  const nproc = intOpt('nproc', values.nproc, 1) ?? 1;
  let ranks: RankSetup | null = null;
  let formatDistributedEnergy: (e: DistributedEnergy) => string = () => '';
  if (nproc > 1) {
    const d = await import('./distributed/cli-support.js');
    formatDistributedEnergy = d.formatDistributedEnergy;
    if (!d.underLauncher()) return await d.launchRanks(nproc, ['train', ...argv]);
    ranks = d.setupRank(nproc, batchSize);
    if (ranks.rank !== 0) out = () => {}; // rank 0 reports
  }
  const device = (values.device as string | undefined) ?? 'cpu';
  if (!/^(cpu|cuda(:\d+)?)$/.test(device)) throw new UsageError(`--device must be cpu, cuda or cuda:N, got '${device}'`);
  const cpuWatts = numOpt('cpu-watts', values['cpu-watts']);
  const gpuWatts = numOpt('gpu-watts', values['gpu-watts']);
  const energyOn = values.energy === true || values.report !== undefined || cpuWatts !== undefined || gpuWatts !== undefined;
  const savePath = values.save as string | undefined;
  const reportPath = values.report as string | undefined;
  const dataDir = values['data-dir'] as string | undefined;
  // fail before training, not after: outputs must be writable
  if (savePath !== undefined) checkWritable('save', savePath);
  if (reportPath !== undefined) checkWritable('report', reportPath);

  setDefaultDevice(device); // fails here, with the reason, when cuda is unavailable
  manualSeed(seed);
  const t0 = performance.now();
  const data = loadMnist({ dataDir, trainLimit: limit });
  const from = dataDir !== undefined ? `--data-dir ${dataDir}` : 'the embedded MNIST';
  for (const [split, ds] of [
    ['training', data.train],
    ['test', data.test],
  ] as const) {
    if (ds.length === 0) {
      data.train.dispose();
      data.test.dispose();
      throw new Error(
        `${from}: the ${split} IDX files hold 0 images; there is nothing to ${split === 'training' ? 'train on' : 'test on'}`,
      );
    }
    const [, , rows, cols] = ds.tensors[0]!.shape;
    if (rows !== 28 || cols !== 28) {
      data.train.dispose();
      data.test.dispose();
      throw new Error(`${from}: ${name} expected 28×28 MNIST images, got ${rows}×${cols} in the ${split} images`);
    }
  }
  const train = device === 'cpu' ? data.train : data.train.to(device);
  const test = device === 'cpu' ? data.test : data.test.to(device);
  if (train !== data.train) {
    data.train.dispose();
    data.test.dispose();
  }
  const run = spec.create({ lr, epochs, device });
  const { model, optimizer, scheduler } = run;
  const nParams = [...model.parameters()].reduce((a, p) => a + p.size, 0);
  out(
    `wattgrad ${version()}: training ${name} (${nParams.toLocaleString('en-US')} parameters) on ${device}${ranks ? ` × ${ranks.worldSize} ranks (MPI, DistributedDataParallel)` : ''}`,
  );
  out(`data: ${data.source}: ${train.length} train / ${test.length} test samples`);
  out(`epochs ${epochs}, batch size ${batchSize}, lr ${lr} (${spec.recipe}), seed ${seed}${energyOn ? ', energy on' : ''}`);

  const estimate = cpuWatts !== undefined || gpuWatts !== undefined ? { cpuWatts, gpuWatts } : undefined;
  const meter = energyOn ? new EnergyMeter({ synchronize, estimate }) : null;
  const nanGuard = values['no-terminate-on-nan'] ? null : new TerminateOnNaN();
  try {
    const trainLoader = ranks ? ranks.trainLoader(train, seed) : new DataLoader(train, { batchSize, shuffle: true, seed });
    const testLoader = ranks ? ranks.testLoader(test) : new DataLoader(test, { batchSize: 500 });
    const history = await fit(ranks ? ranks.wrap(model) : model, {
      train: trainLoader,
      validation: testLoader,
      optimizer,
      scheduler,
      clipGradNorm: run.clipGradNorm ?? undefined,
      epochs,
      metrics: ['accuracy'],
      energy: meter ?? false,
      verbose: values.quiet ? false : { stream: io.stderr },
      callbacks: nanGuard ? [nanGuard] : [],
    });
    if (nanGuard?.terminated) {
      // the weights are NaN/Inf now: report where it happened, save nothing
      io.stderr.write(
        `wattgrad: error: ${history.stopReason ?? 'the loss became NaN'}${savePath ? `; ${savePath} was not written` : ''}\n`,
      );
      return 1;
    }
    // every rank holds the same weights: the whole test split on each (no collectives here)
    const final = await evaluate(model, ranks ? new DataLoader(test, { batchSize: 500 }) : testLoader, { metrics: ['accuracy'] });
    const trainSeconds = history.epochs.reduce((a, e) => a + e.seconds, 0);
    const samples = history.epochs.reduce((a, e) => a + e.samples, 0);
    out('');
    out(`test accuracy ${(100 * final.metrics.accuracy!).toFixed(2)}% (loss ${final.loss.toFixed(4)}) on ${final.samples} samples`);
    out(
      `train time ${fmtDuration(trainSeconds)} for ${history.epochs.length} epoch(s), ${Math.round(samples / trainSeconds)} samples/s; total ${fmtDuration((performance.now() - t0) / 1000)}`,
    );
    // one row per epoch, then the whole run; devices without counters say why, never 0 J
    const energyRows = history.energy ? [...history.epochs.flatMap((e) => (e.energy ? [e.energy] : [])), history.energy] : undefined;
    if (energyRows) {
      out('');
      out('energy:');
      out(formatEnergySummary(energyRows));
      const de = (history.energy as { distributed?: DistributedEnergy } | undefined)?.distributed;
      if (de) out(formatDistributedEnergy(de));
    }
    if (savePath && (!ranks || ranks.rank === 0)) {
      saveCheckpoint(savePath, {
        model,
        optimizer,
        scheduler,
        epoch: history.epochs.length,
        history,
        extra: { model: name, epochs, batchSize, lr, seed, device },
      });
      out(`saved checkpoint to ${savePath}`);
    }
    if (reportPath && (!ranks || ranks.rank === 0)) {
      const file = await writeHtmlReport(reportPath, {
        title: `wattgrad: ${name} on MNIST`,
        history: history.epochs.map((e) => ({
          epoch: e.epoch,
          loss: e.loss,
          accuracy: e.metrics.accuracy ?? NaN,
          valLoss: e.valLoss,
          valAccuracy: e.valMetrics?.accuracy,
          seconds: e.seconds,
          energy: e.energy ?? null,
        })),
        powerSeries: meter?.powerSeries(),
        summary: energyRows,
        // the CLI evaluates on the test split after every epoch; the final evaluation is the test card
        validationLabel: 'test',
        test: { accuracy: final.metrics.accuracy, loss: final.loss, samples: final.samples },
        notes: [
          `${nParams.toLocaleString('en-US')} parameters, device ${device}, batch ${batchSize}, Adam lr ${lr}, seed ${seed}`,
          `data: ${data.source}`,
          `test accuracy ${(100 * final.metrics.accuracy!).toFixed(2)}%`,
        ],
      });
      out(`wrote report ${file}`);
    }
    return 0;
  } finally {
    meter?.close();
    train.dispose();
    test.dispose();
    optimizer.dispose();
    model.dispose();
    setDefaultDevice('cpu');
    ranks?.close();
  }
}

// run when executed directly (node dist/cli.js), not when imported by tests
const self = fileURLToPath(import.meta.url);
let invoked = '';
try {
  invoked = process.argv[1] ? fs.realpathSync.native(path.resolve(process.argv[1])) : '';
} catch {
  /* not a file */
}
if (invoked === self || invoked === self.replace(/\.ts$/, '.js')) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
