// wattgrad benchmark entry.
//
//   npm run bench -- [--backend js|cuda] [--op matmul,conv2d,lstm,gru,adamw,sgd,softmax,xent,int8,basic,mlp,cnn]
//                    [--json out.json] [--write-results] [--quick] [--peer-json torch.json] [--no-peers]
//                    [--budget-ms 1500] [--no-cpu-goals]
//
// `npm run bench` compiles bench/ and lib/ with tsconfig.bench.json into dist-bench/ and runs
// dist-bench/bench/run.js (the entry the GPU bundle ships). Per op it prints: shape, median time,
// FLOP/s and bytes/s, % of the device's roofline (bandwidth and peak FLOP/s measured once at the
// start: a large copy and our best matmul; datasheet figures listed as leads), the roofline bound,
// validation against a reference, the op counter's FLOPs cross-check, and the speedup over each
// peer measured in the same run (tfjs on CPU, PyTorch on GPU). Then MNIST MLP/CNN training
// throughput and energy.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { getBackend, synchronize } from '../lib/backend/registry.js';
import { cudaAvailability } from '../lib/backend/cuda/index.js';
import { packageRoot } from '../lib/native.js';
import { matmul } from '../lib/ops/matmul.js';
import { clone } from '../lib/ops/elementwise.js';
import { conv2d } from '../lib/ops/conv.js';
import { fromHost } from '../lib/ops/creation.js';
import type { DType } from '../lib/dtype.js';

import { timeCpu, timeDevice, eventTimer, type TimeOptions } from './lib/timing.js';
import { cpuCopyBandwidth, datasheetLeads, floorSeconds, pctOfDatasheet, pctOfRoofline, type Roofline } from './lib/roofline.js';
import {
  GPU_PLACEHOLDER,
  GPU_PLACEHOLDER_KEY,
  renderConsole,
  renderMarkdown,
  writeResultsSection,
  type BenchMeta,
  type BenchReport,
} from './lib/report.js';
import type { BenchCase, BenchContext, CaseResult, PeerMeasurement, Validation } from './lib/types.js';
import { allOf, disposeAll, randTensor, randomArray } from './lib/util.js';
import { matmulCases, matmulId, matmulShapes } from './ops/matmul.js';
import { convCases, convId, convShapes } from './ops/conv2d.js';
import { rnnCases } from './ops/rnn.js';
import { optimCases } from './ops/optim.js';
import { softmaxCases } from './ops/softmax.js';
import { int8Cases } from './quant/cases.js';
import { basicCases } from './ops/basic.js';
import { runE2e, type E2eResult } from './e2e/train.js';
import { e2eBatch, type ModelName } from './e2e/models.js';
import { runCpuNative } from './lib/cpu-native.js';
import { runCpuGoals } from './lib/cpu-goals.js';
import { cpuKernelsInfo } from '../lib/backend/js/native-cpu.js';
import { crossCheck, loadTfjs, tfjsConvFwd, tfjsMatmul, tfjsTrainStep, tfjsVersion } from './peers/tfjs.js';

export const OP_FAMILIES: Record<string, (ctx: BenchContext) => BenchCase[]> = {
  matmul: matmulCases,
  conv2d: convCases,
  lstm: (ctx) => rnnCases(ctx, 'lstm'),
  gru: (ctx) => rnnCases(ctx, 'gru'),
  adamw: (ctx) => optimCases(ctx, 'adamw'),
  sgd: (ctx) => optimCases(ctx, 'sgd'),
  softmax: (ctx) => softmaxCases(ctx, 'softmax'),
  xent: (ctx) => softmaxCases(ctx, 'xent'),
  int8: int8Cases,
  basic: basicCases,
};
/** Families whose cases have no PyTorch counterpart in bench/peers/torch_ops.py (int8: ours against our own fp32 baseline; basic: native against the pure-JS kernels). */
export const NO_TORCH_PEER: ReadonlySet<string> = new Set(['int8', 'basic']);
export const E2E_MODELS: ModelName[] = ['mlp', 'cnn'];
export const ALL_OPS = [...Object.keys(OP_FAMILIES), ...E2E_MODELS];

export interface BenchOptions {
  backend: 'js' | 'cuda';
  ops: string[];
  json: string | null;
  writeResults: boolean;
  quick: boolean;
  peerJson: string | null;
  peers: boolean;
  budgetMs: number | null;
  /** js backend: skip the CPU goal table vs PyTorch CPU at 1 and all threads (bench/lib/cpu-goals.ts) */
  cpuGoals?: boolean;
  /** re-render a report written earlier with --json (e.g. bench.json from the GPU machine) instead of running */
  fromJson?: string | null;
  /** RESULTS.md path (default bench/RESULTS.md under the package root) */
  resultsPath?: string;
  /** progress lines (default: stderr) */
  log?: (line: string) => void;
}

export function parseArgs(argv: string[]): BenchOptions {
  const o: BenchOptions = {
    backend: 'js',
    ops: ALL_OPS,
    json: null,
    writeResults: false,
    quick: false,
    peerJson: null,
    peers: true,
    budgetMs: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const val = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`bench: ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--backend': {
        const v = val();
        if (v !== 'js' && v !== 'cuda' && v !== 'cpu') throw new Error(`bench: --backend must be js or cuda, got ${v}`);
        o.backend = v === 'cpu' ? 'js' : v;
        break;
      }
      case '--op':
      case '--ops': {
        const list = val()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .flatMap((s) =>
            s === 'e2e' || s === 'train' ? E2E_MODELS : s === 'rnn' ? ['lstm', 'gru'] : s === 'optim' ? ['adamw', 'sgd'] : [s],
          );
        const bad = list.filter((s) => !ALL_OPS.includes(s));
        if (bad.length) throw new Error(`bench: unknown op(s) ${bad.join(', ')} (known: ${ALL_OPS.join(', ')}, e2e)`);
        o.ops = list;
        break;
      }
      case '--json':
        o.json = val();
        break;
      case '--write-results':
        o.writeResults = true;
        break;
      case '--quick':
        o.quick = true;
        break;
      case '--peer-json':
        o.peerJson = val();
        break;
      case '--no-peers':
        o.peers = false;
        break;
      case '--no-cpu-goals':
        o.cpuGoals = false;
        break;
      case '--budget-ms':
        o.budgetMs = Number(val());
        break;
      case '--from-json':
        o.fromJson = val();
        break;
      case '--help':
      case '-h':
        process.stdout.write(
          `usage: npm run bench -- [--backend js|cuda] [--op ${ALL_OPS.join(',')}] [--json out.json] [--write-results] [--quick] [--peer-json file] [--no-peers] [--budget-ms N] [--no-cpu-goals] [--from-json bench.json --write-results]\n`,
        );
        process.exit(0);
        break;
      default:
        throw new Error(`bench: unknown argument ${a}`);
    }
  }
  if (o.writeResults && o.quick && !o.fromJson) throw new Error('bench: --write-results records full runs only (drop --quick)');
  return o;
}

// ---- machine facts ----------------------------------------------------------------------------

function gitCommit(root: string): string | null {
  try {
    return (
      execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim() || null
    );
  } catch {
    return null;
  }
}

function llcBytes(): number {
  for (const idx of [3, 2]) {
    try {
      const s = fs.readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${idx}/size`, 'utf8').trim();
      const m = /^(\d+)([KMG]?)/.exec(s);
      if (m) return Number(m[1]) * ({ K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as 'K' | 'M' | 'G'] ?? 1);
    } catch {
      /* next */
    }
  }
  return 32 * 1024 * 1024;
}

function fmtDriver(v: number | null): string | null {
  if (v === null) return null;
  return `CUDA driver API ${Math.floor(v / 1000)}.${(v % 1000) / 10}`;
}

// ---- roofline --------------------------------------------------------------------------------

function measureRoofline(ctx: BenchContext, deviceName: string): Roofline {
  const leads = datasheetLeads(deviceName);
  const opts: TimeOptions = { budgetMs: ctx.quick ? 150 : 1500, minSamples: 3 };
  if (ctx.backend === 'js') {
    const bw = cpuCopyBandwidth(ctx.quick ? 32 : 128, ctx.quick ? 3 : 7);
    const n = ctx.quick ? 128 : 1024;
    const a = randTensor(ctx, [n, n], 'float32', 1),
      b = randTensor(ctx, [n, n], 'float32', 2);
    const t = timeCpu(() => matmul(a, b).dispose(), opts);
    disposeAll([a, b]);
    return {
      device: deviceName,
      leads,
      bandwidth: bw,
      bandwidthSource: `TypedArray.set of ${ctx.quick ? 32 : 128} MiB (read + write), median`,
      peakFlops: { float32: (2 * n ** 3) / (t.medianMs / 1000) },
      peakFlopsSource: { float32: `js matmul ${n}³ float32, median` },
    };
  }
  const sync = (): void => synchronize();
  const n = ctx.quick ? 64 * 1024 * 1024 : 256 * 1024 * 1024;
  const x = randTensor(ctx, [n], 'float32', 1);
  const tc = timeDevice(() => clone(x).dispose(), sync, opts);
  x.dispose();
  const r: Roofline = {
    device: deviceName,
    leads,
    bandwidth: (2 * 4 * n) / (tc.medianMs / 1000),
    bandwidthSource: `device-to-device copy (clone) of ${(4 * n) / 2 ** 30} GiB, read + write, ${tc.method}`,
    peakFlops: {},
    peakFlopsSource: {},
  };
  const s = ctx.quick ? 2048 : 8192;
  for (const dtype of ['float32', 'bfloat16'] as DType[]) {
    try {
      const a = randTensor(ctx, [s, s], dtype, 3),
        b = randTensor(ctx, [s, s], dtype, 4);
      const t = timeDevice(() => matmul(a, b).dispose(), sync, opts);
      disposeAll([a, b]);
      r.peakFlops[dtype] = (2 * s ** 3) / (t.medianMs / 1000);
      r.peakFlopsSource[dtype] = `our matmul ${s}³ ${dtype}, ${t.method}`;
    } catch (e) {
      ctx.log(`roofline: ${dtype} matmul failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return r;
}

// ---- peers -----------------------------------------------------------------------------------

interface PeerSet {
  measurements: PeerMeasurement[];
  crossChecks: Map<string, Validation>;
  e2e: { id: string; peer: string; medianMs: number; note?: string }[];
  info: Record<string, string | null>;
  notes: string[];
}

async function tfjsPeers(ctx: BenchContext, o: BenchOptions): Promise<PeerSet> {
  const set: PeerSet = { measurements: [], crossChecks: new Map(), e2e: [], info: {}, notes: [] };
  const tf = await loadTfjs();
  if (!tf) {
    set.info['tfjs'] = null;
    set.notes.push('@tensorflow/tfjs could not be loaded: no CPU peer');
    return set;
  }
  set.info['tfjs-cpu'] = `@tensorflow/tfjs ${await tfjsVersion()} (backend ${tf.getBackend()}, pure JS), same process`;
  const opts: TimeOptions = { budgetMs: ctx.budgetMs, minSamples: ctx.quick ? 3 : 5 };
  if (o.ops.includes('matmul')) {
    for (const s of matmulShapes(ctx)) {
      ctx.log(`tfjs: matmul ${s.m}x${s.n}x${s.k}`);
      const { m, out } = tfjsMatmul(tf, s, opts);
      set.measurements.push(m);
      const a = fromHost(randomArray(s.m * s.k, 11), [s.m, s.k], 'float32', 'cpu');
      const b = fromHost(randomArray(s.k * s.n, 12), [s.k, s.n], 'float32', 'cpu');
      const c = matmul(a, b);
      set.crossChecks.set(matmulId(s), crossCheck(c.dataSync(), out, s.k));
      disposeAll([a, b, c]);
    }
  }
  if (o.ops.includes('conv2d')) {
    for (const s of convShapes(ctx)) {
      ctx.log(`tfjs: conv2d ${s.label}`);
      const { m, outNchw } = tfjsConvFwd(tf, s, opts);
      set.measurements.push(m);
      const x = fromHost(randomArray(s.n * s.c * s.h * s.h, 21), [s.n, s.c, s.h, s.h], 'float32', 'cpu');
      const w = fromHost(randomArray(s.k * s.c * s.r * s.r, 22, -0.2, 0.2), [s.k, s.c, s.r, s.r], 'float32', 'cpu');
      const y = conv2d(x, w, null, { stride: s.stride, padding: s.pad });
      set.crossChecks.set(convId(s, 'fwd'), crossCheck(y.dataSync(), outNchw, s.c * s.r * s.r));
      disposeAll([x, w, y]);
    }
  }
  for (const model of E2E_MODELS.filter((m) => o.ops.includes(m))) {
    ctx.log(`tfjs: ${model} training step`);
    // tfjs's CNN step is slow (its conv2d filter gradient): one warm-up step and three timed ones
    const o2: TimeOptions =
      model === 'cnn'
        ? { warmup: 1, minSamples: 3, budgetMs: 0 }
        : { ...opts, budgetMs: Math.max(opts.budgetMs ?? 0, ctx.quick ? 200 : 3000) };
    const m = tfjsTrainStep(tf, model, e2eBatch(ctx), o2);
    set.e2e.push(m);
  }
  return set;
}

function torchPeers(ctx: BenchContext, o: BenchOptions): PeerSet {
  const set: PeerSet = { measurements: [], crossChecks: new Map(), e2e: [], info: {}, notes: [] };
  let file = o.peerJson;
  if (!file) {
    const script = path.join(packageRoot(), 'bench', 'peers', 'torch_ops.py');
    const probe = spawnSync('python3', ['-c', 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 3)'], {
      stdio: 'ignore',
      timeout: 120_000,
    });
    if (probe.status !== 0) {
      set.info['torch'] = null;
      set.notes.push(
        probe.error ? `python3 not runnable (${probe.error.message}): no GPU peer` : 'python3 has no torch with CUDA: no GPU peer',
      );
      return set;
    }
    file = path.join(os.tmpdir(), `wattgrad-torch-peer-${process.pid}.json`);
    ctx.log(`peer: python3 ${path.relative(process.cwd(), script)} --json ${file}`);
    const r = spawnSync(
      'python3',
      [
        script,
        '--json',
        file,
        '--ops',
        o.ops.join(','),
        ...(o.quick ? ['--quick'] : []),
        ...(o.budgetMs ? ['--budget-ms', String(o.budgetMs)] : []),
      ],
      { stdio: ['ignore', 'inherit', 'inherit'], timeout: 3_600_000 },
    );
    if (r.status !== 0) {
      set.info['torch'] = null;
      set.notes.push(`torch_ops.py failed (exit ${r.status ?? r.signal}): no GPU peer`);
      return set;
    }
  }
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    device?: string;
    torch?: string;
    cuda?: string;
    cudnn?: number;
    copy_bytes_per_s?: number;
    errors?: string[];
    cases: { id: string; peer: string; dtype: string; median_ms: number | null; note?: string }[];
  };
  set.info['torch'] =
    `PyTorch ${j.torch ?? '?'} (CUDA ${j.cuda ?? '?'}, cuDNN ${j.cudnn ?? '?'}) on ${j.device ?? '?'}, CUDA events${o.peerJson ? `, from ${o.peerJson}` : ', same run'}`;
  if (j.copy_bytes_per_s) set.notes.push(`torch device copy bandwidth (lead): ${(j.copy_bytes_per_s / 1e12).toFixed(2)} TB/s`);
  for (const e of j.errors ?? []) set.notes.push(`torch peer error: ${e}`);
  for (const c of j.cases) {
    if (c.median_ms === null) continue;
    const m = { id: c.id, peer: c.peer, dtype: c.dtype, medianMs: c.median_ms, ...(c.note ? { note: c.note } : {}) };
    if (c.id.startsWith('train ')) set.e2e.push(m);
    else set.measurements.push(m);
  }
  return set;
}

const dtypeClass = (d: string): string => (d === 'bfloat16' || d === 'float16' ? d : 'float32');
const peerClass = (d: string): string => (d === 'tf32' ? 'float32' : dtypeClass(d));

// ---- the run ---------------------------------------------------------------------------------

function runCase(c: BenchCase, ctx: BenchContext, roof: Roofline): CaseResult {
  const base: CaseResult = {
    op: c.op,
    id: c.id,
    shape: c.shape,
    dtype: c.dtype,
    backend: ctx.backend,
    flops: c.flops,
    bytes: c.bytes,
    timing: null,
    flopsPerSecond: null,
    bytesPerSecond: null,
    pctRoofline: null,
    pctDatasheet: null,
    bound: null,
    counter: null,
    validation: null,
    peers: [],
  };
  if (c.memoryBytes && ctx.memoryBytes && c.memoryBytes > 0.8 * ctx.memoryBytes) {
    return { ...base, skipped: `needs ${(c.memoryBytes / 2 ** 30).toFixed(1)} GiB of ${(ctx.memoryBytes / 2 ** 30).toFixed(1)} GiB` };
  }
  let prep = null;
  try {
    prep = c.prepare(ctx);
    base.validation = prep.validate();
    const counted = prep.counted();
    if (counted) base.counter = { ...counted, flopsMatch: Math.abs(counted.flops - c.flops) <= 0.05 * c.flops };
    const opts: TimeOptions = { budgetMs: ctx.budgetMs, minSamples: ctx.quick ? 3 : 5 };
    const run = prep.run.bind(prep);
    base.timing = ctx.backend === 'js' ? timeCpu(run, opts) : timeDevice(run, () => synchronize(), opts);
    const s = base.timing.medianMs / 1000;
    base.flopsPerSecond = c.flops / s;
    base.bytesPerSecond = c.bytes / s;
    base.pctRoofline = pctOfRoofline(roof, s, c.flops, c.bytes, c.dtype);
    base.pctDatasheet = pctOfDatasheet(roof, s, c.flops, c.bytes, c.dtype);
    base.bound = floorSeconds(roof, c.flops, c.bytes, c.dtype).bound;
  } catch (e) {
    base.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  } finally {
    try {
      prep?.dispose();
    } catch {
      /* keep going */
    }
  }
  return base;
}

/**
 * The measured peak is our best matmul: the start-up measurement, or a matmul case of this run that
 * was faster (validated). Then every case's % of roofline is recomputed against it.
 */
function refineRoofline(roof: Roofline, cases: CaseResult[]): void {
  for (const c of cases) {
    if (c.op !== 'matmul' || !c.flopsPerSecond || !c.validation?.ok) continue;
    if (c.flopsPerSecond > (roof.peakFlops[c.dtype] ?? 0)) {
      roof.peakFlops[c.dtype] = c.flopsPerSecond;
      roof.peakFlopsSource[c.dtype] = `our best matmul in this run: ${c.shape} ${c.dtype}, median`;
    }
  }
  for (const c of cases) {
    if (!c.timing) continue;
    const s = c.timing.medianMs / 1000;
    c.pctRoofline = pctOfRoofline(roof, s, c.flops, c.bytes, c.dtype);
    c.bound = floorSeconds(roof, c.flops, c.bytes, c.dtype).bound;
  }
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const root = packageRoot();
  let device = 'cpu';
  let deviceName = os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
  let driver: string | null = null;
  let memoryBytes: number | null = null;
  if (o.backend === 'cuda') {
    const a = cudaAvailability();
    if (!a.available) throw new Error(`bench: cuda unavailable: ${a.reason}`);
    device = 'cuda:0';
    getBackend(device);
    deviceName = a.devices[0]?.name ?? 'unknown GPU';
    driver = fmtDriver(a.driverVersion);
    memoryBytes = a.devices[0]?.totalMemory ?? null;
  }
  const ctx: BenchContext = {
    backend: o.backend,
    device,
    quick: o.quick,
    memoryBytes,
    cacheBytes: o.backend === 'cuda' ? 50 * 1024 * 1024 : llcBytes(),
    budgetMs: o.budgetMs ?? (o.quick ? 60 : 1500),
    log,
  };
  const timingMethod =
    o.backend === 'js'
      ? 'process.hrtime.bigint() per call (short calls batched)'
      : eventTimer()
        ? 'CUDA events around batches of launches'
        : 'synchronize() + process.hrtime around batches of launches (the addon exports no CUDA events yet)';
  const notes: string[] = [];
  if (o.backend === 'js') {
    const ck = cpuKernelsInfo();
    notes.push(
      ck.native.length
        ? `cpu kernels: ${ck.native.join(', ')} native (addon, ${ck.isa}, ${ck.threads} threads), the rest pure JS; WATTGRAD_CPU_KERNELS=js measures pure JS`
        : `cpu kernels: pure JS (${ck.reason ?? 'no native CPU kernels'})`,
    );
  }
  if (o.backend === 'js')
    notes.push(
      `shared machine (${os.cpus().length} logical cores, other processes running): medians are noisy; ratios measured in the same run are the robust figures`,
    );

  log(`bench: ${o.backend} on ${deviceName}; measuring the roofline…`);
  const roofline = measureRoofline(ctx, deviceName);

  const cases: CaseResult[] = [];
  for (const op of o.ops) {
    const fam = OP_FAMILIES[op];
    if (!fam) continue;
    for (const c of fam(ctx)) {
      log(`bench: ${c.op} ${c.shape} ${c.dtype}`);
      cases.push(runCase(c, ctx, roofline));
    }
  }
  refineRoofline(roofline, cases);
  const e2e: E2eResult[] = [];
  for (const m of E2E_MODELS.filter((x) => o.ops.includes(x))) {
    log(`bench: e2e ${m}`);
    e2e.push(runE2e(ctx, m));
  }

  // peers, same run
  const peerInfo: Record<string, string | null> = {};
  if (o.peers) {
    const ps = o.backend === 'js' ? await tfjsPeers(ctx, o) : torchPeers(ctx, o);
    Object.assign(peerInfo, ps.info);
    notes.push(...ps.notes);
    for (const r of cases) {
      if (!r.timing) continue;
      for (const m of ps.measurements.filter((x) => x.id === r.id && peerClass(x.dtype) === dtypeClass(r.dtype))) {
        r.peers.push({
          peer: m.peer,
          dtype: m.dtype,
          medianMs: m.medianMs,
          speedup: m.medianMs / r.timing.medianMs,
          ...(m.note ? { note: m.note } : {}),
        });
      }
      const cc = ps.crossChecks.get(r.id);
      if (cc) r.validation = r.validation ? allOf([r.validation, cc]) : cc;
    }
    for (const r of e2e) {
      for (const m of ps.e2e.filter((x) => x.id === r.id)) {
        const sps = (r.batch * 1000) / m.medianMs;
        r.peers.push({
          peer: m.peer,
          stepMedianMs: m.medianMs,
          samplesPerSecond: sps,
          speedup: r.samplesPerSecond / sps,
          ...(m.note ? { note: m.note } : {}),
        });
      }
    }
  } else {
    peerInfo['peers'] = 'not run (--no-peers)';
  }

  const meta: BenchMeta = {
    date: new Date().toISOString(),
    backend: o.backend,
    deviceKey: `${o.backend === 'cuda' ? 'gpu' : 'cpu'}: ${deviceName}`,
    deviceName,
    driver,
    commit: gitCommit(root),
    node: process.version,
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
    cores: os.cpus().length,
    quick: o.quick,
    timingMethod,
    peers: peerInfo,
    notes,
  };
  const report: BenchReport = { meta, roofline, cases, e2e };
  if (o.backend === 'js' && o.ops.includes('matmul')) {
    report.cpuNative = runCpuNative(o.quick ? [256, 512] : [512, 1024, 2048], o.quick ? 200 : ctx.budgetMs, log);
    // the issue-12 goal table: every CPU goal at 1 and all threads vs PyTorch CPU, same run
    if (report.cpuNative && o.peers && o.cpuGoals !== false)
      report.cpuNative.goals = runCpuGoals(ctx, report.cpuNative.rows, report.cpuNative.peakGflops);
  }

  if (o.json) fs.writeFileSync(o.json, JSON.stringify(report, null, 1));
  if (o.writeResults) writeResults(report, o, log);
  return report;
}

/** Rewrites this device's section of bench/RESULTS.md (a GPU run replaces the placeholder). */
export function writeResults(report: BenchReport, o: BenchOptions, log: (l: string) => void): void {
  if (report.meta.quick) throw new Error('bench: will not record a --quick run in RESULTS.md');
  const file = o.resultsPath ?? path.join(packageRoot(), 'bench', 'RESULTS.md');
  const gpu = report.meta.backend === 'cuda';
  writeResultsSection(file, report.meta.deviceKey, renderMarkdown(report), gpu ? [GPU_PLACEHOLDER_KEY] : []);
  const text = fs.readFileSync(file, 'utf8');
  if (!gpu && !text.includes('<!-- bench:begin gpu')) writeResultsSection(file, GPU_PLACEHOLDER_KEY, GPU_PLACEHOLDER);
  log(`bench: wrote ${path.relative(process.cwd(), file)}`);
}

async function main(): Promise<void> {
  let o: BenchOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  }
  let rep: BenchReport;
  if (o.fromJson) {
    rep = JSON.parse(fs.readFileSync(o.fromJson, 'utf8')) as BenchReport;
    if (o.writeResults) writeResults(rep, o, (l) => process.stderr.write(`${l}\n`));
  } else {
    rep = await runBench(o);
  }
  process.stdout.write(`${renderConsole(rep)}\n`);
  const failed =
    rep.cases.filter((c) => c.validation && !c.validation.ok).length + rep.e2e.filter((e) => e.validation && !e.validation.ok).length;
  const errors = rep.cases.filter((c) => c.error).length + rep.e2e.filter((e) => e.error).length;
  if (failed || errors) {
    process.stderr.write(`bench: ${failed} validation failure(s), ${errors} error(s)\n`);
    for (const c of rep.cases.filter((x) => x.error)) process.stderr.write(`  ${c.op} ${c.shape}: ${c.error}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
