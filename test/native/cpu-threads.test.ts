// The addon's CPU kernels called from several JS threads at once (lib/serve runs a model in a
// worker_thread while the main thread may compute too): two worker_threads and the main thread run
// packed GEMMs (float32 and float64, k past one KC block, a batch of small matrices that the pool
// splits one matrix per task) and conv2d forward / grad-input / grad-weight at the same time, each
// on its own data and shapes, for several rounds, and every result must equal, bit for bit, the
// same call made alone beforehand. The pool runs one job at a time and its scratch belongs to the
// calling OS thread (native/cpu/pool.cc); before that, the second JS thread overwrote the first's
// packed B between its pack and compute jobs.
// Skips, saying why, when the loaded addon has no CPU kernels. Run with a cpu build:
//   WATTGRAD_NATIVE=build/<out>/Release/wattgrad.node npx vitest run test/native/cpu-threads.test.ts
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { addonPath, cpu, noCpuLabel, randArray, rng, SEED } from './cpu-util.js';

type Arr = Float32Array | Float64Array;
interface Job {
  kind: 'mm' | 'conv' | 'convGradInput' | 'convGradWeight';
  a: Arr;
  b: Arr;
  outLen: number;
  dims: number[];
}

// One source for the main thread and the workers (plain JS: workers evaluate it as a string).
const RUN_JOB_SRC = `function runJob(b, j) {
  const out = j.a instanceof Float64Array ? new Float64Array(j.outLen) : new Float32Array(j.outLen);
  out.fill(NaN);
  const d = j.dims;
  if (j.kind === 'mm') b.cpuMatmul(j.a, j.b, out, d[0], d[1], d[2], d[3], d[4] === 1, d[5] === 1, d[6], d[7]);
  else if (j.kind === 'conv') b.cpuConv2d(j.a, j.b, out, ...d);
  else if (j.kind === 'convGradInput') b.cpuConv2dGradInput(j.a, j.b, out, ...d);
  else b.cpuConv2dGradWeight(j.a, j.b, out, ...d);
  return out;
}`;
const runJob = new Function(`return ${RUN_JOB_SRC}`)() as (b: unknown, j: Job) => Arr;

const WORKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
${RUN_JOB_SRC}
const b = require(workerData.addon);
const gate = new Int32Array(workerData.gate);
Atomics.add(gate, 1, 1);
Atomics.notify(gate, 1);
Atomics.wait(gate, 0, 0); // all participants start together
const results = [];
for (let r = 0; r < workerData.rounds; r++) results.push(workerData.jobs.map((j) => runJob(b, j)));
parentPort.postMessage(results);
`;

function mmJob(r: () => number, dtype: 'float32' | 'float64', batch: number, m: number, n: number, k: number, ta = false, tb = false): Job {
  return {
    kind: 'mm',
    a: randArray(dtype, batch * m * k, r),
    b: randArray(dtype, batch * k * n, r),
    outLen: batch * m * n,
    dims: [batch, m, n, k, ta ? 1 : 0, tb ? 1 : 0, m * k, k * n],
  };
}

// conv geometry: batch, inC, inH, inW, outC, kH, kW, outH, outW, strides, pads, dilations, groups
function convJobs(r: () => number, batch: number, inC: number, hw: number, outC: number, k: number, pad: number): Job[] {
  const o = hw + 2 * pad - k + 1;
  const dims = [batch, inC, hw, hw, outC, k, k, o, o, 1, 1, pad, pad, 1, 1, 1];
  const x = randArray('float32', batch * inC * hw * hw, r);
  const w = randArray('float32', outC * inC * k * k, r);
  const dy = randArray('float32', batch * outC * o * o, r);
  return [
    { kind: 'conv', a: x, b: w, outLen: batch * outC * o * o, dims },
    { kind: 'convGradInput', a: dy, b: w, outLen: batch * inC * hw * hw, dims },
    { kind: 'convGradWeight', a: x, b: dy, outLen: outC * inC * k * k, dims },
  ];
}

const initialThreads = cpu ? cpu.cpuGetNumThreads() : 1;
afterAll(() => {
  if (cpu) cpu.cpuSetNumThreads(initialThreads);
});

describe(`native CPU kernels from several JS threads at once (seed ${SEED})${noCpuLabel}`, () => {
  it.skipIf(!cpu)(
    'two worker_threads and the main thread computing concurrently get the serial results',
    async () => {
      const b = cpu!;
      b.cpuSetNumThreads(3); // the pool is shared by all JS threads of the process
      const r = rng(SEED);
      // each participant its own shapes (so the per-thread buffers differ in size) and data
      const sets: Job[][] = [
        [mmJob(r, 'float32', 1, 190, 530, 700), mmJob(r, 'float32', 12, 40, 50, 60), ...convJobs(r, 8, 16, 14, 32, 3, 1)],
        [
          mmJob(r, 'float64', 1, 200, 300, 520, true, false),
          mmJob(r, 'float32', 1, 150, 610, 600, false, true),
          ...convJobs(r, 6, 1, 28, 16, 5, 2),
        ],
        [mmJob(r, 'float32', 1, 230, 450, 900, true, true), mmJob(r, 'float64', 10, 30, 60, 50), ...convJobs(r, 5, 16, 14, 32, 3, 1)],
      ];
      const serial = sets.map((jobs) => jobs.map((j) => runJob(b, j)));
      for (const set of serial) for (const out of set) expect(out.some(Number.isNaN)).toBe(false);

      const rounds = 12;
      const gate = new SharedArrayBuffer(8);
      const flag = new Int32Array(gate);
      const addon = path.resolve(addonPath!);
      const workers = [0, 1].map((i) => new Worker(WORKER_SRC, { eval: true, workerData: { addon, gate, rounds, jobs: sets[i] } }));
      const done = workers.map(
        (w) =>
          new Promise<Arr[][]>((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
            w.once('exit', (code) => reject(new Error(`worker exited with ${code} before replying`)));
          }),
      );
      try {
        // wait (without blocking the event loop for long) until both workers are at the gate
        while (Atomics.load(flag, 1) < 2) await new Promise((res) => setTimeout(res, 5));
        Atomics.store(flag, 0, 1);
        Atomics.notify(flag, 0);
        const mine: Arr[][] = [];
        for (let k = 0; k < rounds; k++) mine.push(sets[2]!.map((j) => runJob(b, j)));
        const all = [...(await Promise.all(done)), mine];
        all.forEach((perRound, p) => {
          expect(perRound.length).toBe(rounds);
          perRound.forEach((outs, k) => {
            outs.forEach((out, ji) => {
              const want = serial[p]![ji]!;
              const job = sets[p]![ji]!;
              let bad = -1;
              for (let e = 0; e < want.length && bad < 0; e++) if (!Object.is(out[e], want[e])) bad = e;
              expect(
                bad,
                `participant ${p} round ${k} job ${ji} (${job.kind} ${job.dims}) element ${bad}: ${out[bad]} vs ${want[bad]}`,
              ).toBe(-1);
            });
          });
        });
      } finally {
        await Promise.all(workers.map((w) => w.terminate()));
      }
    },
    120_000,
  );
});
