// End-to-end: MNIST MLP and CNN training throughput (samples/s) and energy (J/sample, J/epoch)
// on the backend under test. Inputs are synthetic MNIST-shaped batches (uniform [0, 1) pixels,
// random labels): throughput does not depend on the values. J/epoch = J/sample × 60 000 (the
// MNIST training set), extrapolated from the measured window and labelled so.

import { fromHost } from '../../lib/ops/creation.js';
import { crossEntropy } from '../../lib/ops/loss.js';
import { tidy } from '../../lib/memory.js';
import { costDelta, costSnapshot } from '../../lib/backend/counter.js';
import { synchronize } from '../../lib/backend/registry.js';
import { EnergyMeter } from '../../lib/energy/index.js';
import type { Tensor } from '../../lib/tensor.js';
import { median } from '../lib/timing.js';
import type { BenchContext, Validation } from '../lib/types.js';
import { allOf, compare, disposeAll, randomArray, randomInts, toCpu } from '../lib/util.js';
import { e2eBatch, makeModel, makeTrainer, modelFromParams, type Model, type ModelName } from './models.js';

export const MNIST_TRAIN = 60000;

export interface EnergyFigures {
  /** how it was measured ('rapl', 'nvml-counter', …) or 'unavailable: <reason>' */
  method: string;
  joules: number | null;
  joulesPerSample: number | null;
  /** extrapolated: joulesPerSample × 60 000 */
  joulesPerEpoch: number | null;
  windowSeconds: number;
}

export interface E2ePeer {
  peer: string;
  stepMedianMs: number;
  samplesPerSecond: number;
  /** our samples/s ÷ the peer's: > 1 means we are faster */
  speedup: number;
  note?: string;
}

export interface E2eResult {
  model: ModelName;
  id: string;
  backend: string;
  batch: number;
  steps: number;
  stepMedianMs: number;
  samplesPerSecond: number;
  /** counter FLOPs of one step */
  flopsPerStep: number;
  energy: EnergyFigures;
  validation: Validation | null;
  peers: E2ePeer[];
  error?: string;
}

export const e2eId = (model: ModelName, batch: number): string => `train ${model} b${batch}`;

function batches(ctx: BenchContext, model: Model, batch: number, count: number): { x: Tensor; y: Tensor }[] {
  return Array.from({ length: count }, (_, i) => ({
    x: fromHost(
      randomArray(
        model.inputShape(batch).reduce((a, b) => a * b, 1),
        201 + i,
        0,
        1,
      ),
      model.inputShape(batch),
      'float32',
      ctx.device,
    ),
    y: fromHost(randomInts(batch, 10, 301 + i), [batch], 'int32', ctx.device),
  }));
}

/** cuda: one step on the device and the same step on js from the same parameters → compare. */
function validateStep(ctx: BenchContext, name: ModelName, batch: number): Validation {
  if (ctx.backend === 'js') {
    const model = makeModel(ctx, name);
    const [b] = batches(ctx, model, batch, 1);
    const loss = crossEntropy(model.forward(b!.x), b!.y);
    const l = loss.item();
    disposeAll([loss, b!.x, b!.y, ...model.params]);
    const ok = Number.isFinite(l) && Math.abs(l - Math.log(10)) < 1.5;
    return { ok, worst: ok ? 0 : Infinity, against: `initial loss ${l.toFixed(3)} ≈ ln 10 (js is the reference backend)` };
  }
  // forward + backward on the device and on js from the same parameters and batch: compare the
  // loss and every gradient (the fused Adam update is validated by the adamw case)
  const dev = makeModel(ctx, name);
  const cpuModel = modelFromParams(
    name,
    dev.params.map((p) => toCpu(p).requiresGrad_()),
  );
  const [b] = batches(ctx, dev, batch, 1);
  const bx = toCpu(b!.x),
    by = toCpu(b!.y);
  const tol = { atol: 1e-4, rtol: 1e-3 };
  const vs = tidy(() => {
    const ld = crossEntropy(dev.forward(b!.x), b!.y);
    const lc = crossEntropy(cpuModel.forward(bx), by);
    ld.backward();
    lc.backward();
    const out = [compare(ld.dataSync(), lc.dataSync(), tol, 'js backend: loss and gradients of one batch')];
    dev.params.forEach((p, i) =>
      out.push(compare(p.grad!.dataSync(), cpuModel.params[i]!.grad!.dataSync(), tol, 'js backend: loss and gradients of one batch')),
    );
    return out;
  });
  disposeAll([
    b!.x,
    b!.y,
    bx,
    by,
    ...dev.params.map((p) => p.grad),
    ...cpuModel.params.map((p) => p.grad),
    ...dev.params,
    ...cpuModel.params,
  ]);
  return allOf(vs);
}

function openMeter(ctx: BenchContext): { meter: EnergyMeter | null; reason: string | null } {
  try {
    const meter = new EnergyMeter({ synchronize: () => synchronize(), gpu: ctx.backend === 'cuda' ? true : false, cpu: true });
    return { meter, reason: null };
  } catch (e) {
    return { meter: null, reason: `EnergyMeter failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export function runE2e(ctx: BenchContext, name: ModelName): E2eResult {
  const batch = e2eBatch(ctx);
  const base = { model: name, id: e2eId(name, batch), backend: ctx.backend, batch };
  let validation: Validation | null = null;
  try {
    validation = validateStep(ctx, name, batch);
  } catch (e) {
    validation = { ok: false, worst: Infinity, against: 'one-step check', note: e instanceof Error ? e.message : String(e) };
  }
  const model = makeModel(ctx, name);
  const trainer = makeTrainer(model);
  const data = batches(ctx, model, batch, 8);
  try {
    for (let i = 0; i < 3; i++) trainer.step(data[i % data.length]!.x, data[i % data.length]!.y);
    synchronize();
    const c0 = costSnapshot();
    trainer.step(data[0]!.x, data[0]!.y);
    const flopsPerStep = costDelta(c0, costSnapshot()).flops;
    synchronize();

    const { meter, reason } = openMeter(ctx);
    const budget = ctx.quick ? Math.min(ctx.budgetMs, 300) : Math.max(ctx.budgetMs * 2, 3000);
    const minSteps = ctx.quick ? 3 : 10;
    const times: number[] = [];
    meter?.begin('e2e');
    const t0 = process.hrtime.bigint();
    let steps = 0;
    while (steps < minSteps || Number(process.hrtime.bigint() - t0) / 1e6 < budget) {
      const s0 = process.hrtime.bigint();
      const b = data[steps % data.length]!;
      trainer.step(b.x, b.y);
      if (ctx.backend === 'js') times.push(Number(process.hrtime.bigint() - s0) / 1e6);
      steps++;
    }
    synchronize();
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    let energy: EnergyFigures = {
      method: `unavailable: ${reason}`,
      joules: null,
      joulesPerSample: null,
      joulesPerEpoch: null,
      windowSeconds: seconds,
    };
    if (meter) {
      const r = meter.end('e2e', { samples: steps * batch });
      meter.close();
      const methods = [...r.gpu.map((g) => g.method), ...(r.cpu ? [r.cpu.method] : [])];
      const measured = methods.filter((m) => !m.startsWith('unavailable'));
      const method = measured.length ? measured.join('+') : methods.join('; ');
      const jps = r.joules === null ? null : r.joules / (steps * batch);
      energy = {
        method,
        joules: r.joules,
        joulesPerSample: jps,
        joulesPerEpoch: jps === null ? null : jps * MNIST_TRAIN,
        windowSeconds: r.seconds,
      };
    }
    const stepMs = ctx.backend === 'js' ? median(times) : (seconds * 1000) / steps;
    return {
      ...base,
      steps,
      stepMedianMs: stepMs,
      samplesPerSecond: (steps * batch) / seconds,
      flopsPerStep,
      energy,
      validation,
      peers: [],
    };
  } catch (e) {
    return {
      ...base,
      steps: 0,
      stepMedianMs: NaN,
      samplesPerSecond: NaN,
      flopsPerStep: 0,
      validation,
      peers: [],
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
      energy: { method: 'unavailable: run failed', joules: null, joulesPerSample: null, joulesPerEpoch: null, windowSeconds: 0 },
    };
  } finally {
    trainer.dispose();
    disposeAll([...model.params, ...data.flatMap((d) => [d.x, d.y])]);
  }
}
