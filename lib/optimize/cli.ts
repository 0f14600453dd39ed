// `wattgrad optimize <model> [techniques] [options]`: the trade-off table (see run.ts for what each
// technique does and measure.ts for how each row is measured). Prints the table, writes
// DIR/optimize.json (every figure, baseline first), DIR/report.html (the table and a chart of
// accuracy vs joules per 1,000 predictions) and DIR/models/*.safetensors (whose sizes are the bytes
// on disk).

import fs from 'node:fs';
import path from 'node:path';
import { FlagError, nearest, numberFlag, parseFlags } from '../options.js';
import { writeFileAtomic } from '../io/atomic.js';
import { MODELS, type DemoModelName } from '../models/index.js';
import { formatOptimizeTable, writeOptimizeReport } from './report.js';
import { QUANTIZE_MODES, runOptimize, staticApiMissing, type QuantizeMode } from './run.js';

export interface OptimizeIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

export const OPTIMIZE_USAGE = `usage: wattgrad optimize <model> [techniques] [options]

Trains the baseline demo model on MNIST, applies each technique, and compares them (baseline first):
accuracy, parameters, bytes on disk, FLOPs, latency per batch (p50/p95), samples/s, joules per 1,000
predictions (measured by RAPL/NVML where a counter can be read, else an estimate, marked "~").

models: ${Object.keys(MODELS).join(', ')} (or mlp, cnn, lstm)

techniques (any combination):
  --quantize M          dynamic | static | qat (a comma list: --quantize dynamic,static)
  --prune X             unstructured global magnitude pruning to sparsity X in [0, 1), fine-tuned
  --prune-channels X    remove a fraction X in [0, 1) of the channels (Conv2d/Linear), fine-tuned
  --distill-from T      train an MLP 784-64-10 student from teacher T (e.g. cnn); also the student alone
  --amp bf16|f16        train with autocast (+ GradScaler for f16) and infer under autocast

options:
  --epochs N            baseline epochs (default: the model's)
  --finetune-epochs N   fine-tuning epochs (default: --epochs)
  --student-limit N     --distill-from: both students learn from the first N training samples (default 300)
  --student-epochs N    --distill-from: epochs of both students (default 30)
  --limit N             train on the first N training samples
  --test-limit N        measure on the first N test samples (default all)
  --batch-size N        images per timed inference batch (default 64)
  --batches N           time at least N batches per row (default 20)
  --seed N              seed (default 0)
  --cpu-watts W         watts for the estimate where no counter can be read (default 15)
  --out DIR             where optimize.json, report.html and models/ go (default ./wattgrad-optimize)
  --quiet               no progress lines
  -h, --help            this help
`;

const SHORT: Record<string, DemoModelName> = { mlp: 'mnist-mlp', cnn: 'mnist-cnn', lstm: 'mnist-lstm' };

function modelName(what: string, v: string): DemoModelName {
  if (Object.hasOwn(MODELS, v)) return v as DemoModelName;
  if (Object.hasOwn(SHORT, v)) return SHORT[v]!;
  const all = [...Object.keys(MODELS), ...Object.keys(SHORT)];
  const near = nearest(v, all);
  throw new FlagError(
    `optimize: unknown ${what} '${v}' (expected one of ${Object.keys(MODELS).join(', ')})${near ? ` — did you mean '${near}'?` : ''}`,
  );
}

const fraction = (name: string, raw: string | boolean | string[] | undefined): number | undefined =>
  numberFlag('optimize', name, raw, { min: 0, max: 1, maxOpen: true });
const count = (name: string, raw: string | boolean | string[] | undefined): number | undefined =>
  numberFlag('optimize', name, raw, { min: 1, integer: true });

/** Runs the command; resolves to the exit code (0: every technique ran; 1: one failed). Flag errors throw FlagError. */
export async function optimizeCommand(argv: string[], io: OptimizeIO): Promise<number> {
  const out = (s: string): void => void io.stdout.write(s + '\n');
  const { values, positionals } = parseFlags(
    'optimize',
    argv,
    {
      quantize: { type: 'string', multiple: true },
      prune: { type: 'string' },
      'prune-channels': { type: 'string' },
      'distill-from': { type: 'string' },
      amp: { type: 'string' },
      epochs: { type: 'string' },
      'finetune-epochs': { type: 'string' },
      'student-limit': { type: 'string' },
      'student-epochs': { type: 'string' },
      limit: { type: 'string' },
      'test-limit': { type: 'string' },
      'batch-size': { type: 'string' },
      batches: { type: 'string' },
      seed: { type: 'string' },
      'cpu-watts': { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    { positionals: true },
  );
  if (values.help) {
    out(OPTIMIZE_USAGE);
    return 0;
  }
  if (positionals.length !== 1)
    throw new FlagError(
      positionals.length === 0
        ? `optimize: which model? (${Object.keys(MODELS).join(', ')})`
        : `optimize: one model at a time, got ${positionals.join(' ')}`,
    );
  const model = modelName('model', positionals[0]!);
  const quantize: QuantizeMode[] = [];
  for (const v of ((values.quantize as string[] | undefined) ?? []).flatMap((s) => s.split(','))) {
    if (!(QUANTIZE_MODES as readonly string[]).includes(v)) {
      const near = nearest(v, QUANTIZE_MODES);
      throw new FlagError(`optimize: --quantize must be dynamic, static or qat, got '${v}'${near ? ` — did you mean '${near}'?` : ''}`);
    }
    if (!quantize.includes(v as QuantizeMode)) quantize.push(v as QuantizeMode);
  }
  const amp = values.amp as string | undefined;
  if (amp !== undefined && amp !== 'bf16' && amp !== 'f16') throw new FlagError(`optimize: --amp must be bf16 or f16, got '${amp}'`);
  const distillFrom =
    values['distill-from'] === undefined ? undefined : modelName('--distill-from teacher', values['distill-from'] as string);
  const opts = {
    model,
    quantize,
    prune: fraction('prune', values.prune),
    pruneChannels: fraction('prune-channels', values['prune-channels']),
    distillFrom,
    amp: amp as 'bf16' | 'f16' | undefined,
    epochs: count('epochs', values.epochs),
    finetuneEpochs: count('finetune-epochs', values['finetune-epochs']),
    studentLimit: count('student-limit', values['student-limit']),
    studentEpochs: count('student-epochs', values['student-epochs']),
    limit: count('limit', values.limit),
    testLimit: count('test-limit', values['test-limit']),
    batchSize: count('batch-size', values['batch-size']),
    minBatches: count('batches', values.batches),
    seed: numberFlag('optimize', 'seed', values.seed, { min: 0, integer: true }),
    cpuWatts: numberFlag('optimize', 'cpu-watts', values['cpu-watts'], { min: 0, minOpen: true }),
    outDir: (values.out as string | undefined) ?? 'wattgrad-optimize',
  };
  if (opts.pruneChannels !== undefined && model === 'mnist-lstm')
    throw new FlagError(
      'optimize: --prune-channels needs a Sequential of Conv2d/Linear layers (mnist-mlp, mnist-cnn); mnist-lstm has an LSTM',
    );
  // fail before any training, not after the baseline
  for (const mode of quantize) {
    const missing = mode === 'dynamic' ? null : staticApiMissing(mode);
    if (missing) throw new Error(missing);
  }
  if (fs.existsSync(opts.outDir) && !fs.statSync(opts.outDir).isDirectory())
    throw new FlagError(`optimize: --out ${opts.outDir} is a file; give a directory`);

  const res = await runOptimize({ ...opts, log: values.quiet ? undefined : (s: string) => void io.stderr.write(s + '\n') });
  out(`wattgrad optimize ${model}: ${res.data.train} train / ${res.data.test} test samples (${res.data.source})`);
  out(formatOptimizeTable(res));
  const json = path.join(opts.outDir, 'optimize.json');
  const report = path.join(opts.outDir, 'report.html');
  writeFileAtomic(json, JSON.stringify(res, null, 2) + '\n');
  writeOptimizeReport(report, res);
  out(`wrote ${json}, ${report}`);
  return res.rows.some((r) => r.error) ? 1 : 0;
}
