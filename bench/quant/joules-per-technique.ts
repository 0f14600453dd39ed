// Joules per 1,000 predictions per technique (the `wattgrad optimize` table as a bench case).
//
//   npx tsc -p tsconfig.bench.json && node dist-bench/bench/quant/joules-per-technique.js \
//       [model=mnist-cnn] [trainLimit=4000] [epochs=2] [cpuWatts] [outDir]
//
// Trains the baseline on the embedded MNIST, applies every technique lib/optimize has (dynamic /
// static / QAT int8 where lib/quantization has the API, 50% unstructured pruning, 50% channel
// pruning, distillation into an MLP 784-64-10 from the CNN with the student alone beside it, bf16
// autocast), and measures each over the 2,000 test digits in 64-image batches: accuracy, size,
// p50/p95 latency, samples/s and J/1k predictions. Energy is the RAPL/NVML counter difference over
// the timed loop where a counter can be read, else W × s with the wattage given (marked estimate);
// an estimate is proportional to latency and says so. Prints the table, then the JSON.
// The machine is shared while helpers work: take ratios from one run, and leave the quiet run to the lead.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatOptimizeTable } from '../../lib/optimize/report.js';
import { runOptimize, staticApiMissing, type QuantizeMode } from '../../lib/optimize/run.js';
import type { DemoModelName } from '../../lib/models/index.js';

const model = (process.argv[2] ?? 'mnist-cnn') as DemoModelName;
const limit = Number(process.argv[3] ?? 4000);
const epochs = Number(process.argv[4] ?? 2);
const cpuWatts = process.argv[5] === undefined ? undefined : Number(process.argv[5]);
const outDir = process.argv[6] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'wg-joules-'));
const quantize: QuantizeMode[] = ['dynamic', ...(['static', 'qat'] as const).filter((m) => staticApiMissing(m) === null)];

const res = await runOptimize({
  model,
  quantize,
  prune: 0.5,
  pruneChannels: model === 'mnist-lstm' ? undefined : 0.5,
  distillFrom: 'mnist-cnn',
  amp: 'bf16',
  epochs,
  limit,
  cpuWatts,
  outDir,
  log: (s) => void process.stderr.write(s + '\n'),
});
console.log(formatOptimizeTable(res));
console.log(
  JSON.stringify(
    {
      model,
      trainLimit: limit,
      epochs,
      machine: { ...res.machine, cpuModel: os.cpus()[0]?.model ?? 'unknown', loadavg: os.loadavg() },
      energyNote: res.energyNote,
      rows: res.rows.map((r) => ({
        technique: r.technique,
        accuracy: r.accuracy,
        joulesPer1k: r.joulesPer1k,
        energyMethod: r.energyMethod,
        samplesPerSecond: r.samplesPerSecond,
        p50ms: r.latencyMs?.p50,
        p95ms: r.latencyMs?.p95,
        bytesOnDisk: r.bytesOnDisk,
        params: r.params,
        error: r.error,
      })),
    },
    null,
    2,
  ),
);
