// Load test of `wattgrad serve`: the MNIST CNN behind the built CLI (its own process, the model in
// a worker thread), driven by autocannon from this process over localhost.
//
//   npm run bench:serve -- [--seconds 10] [--connections 64] [--rounds 1] [--threads N] [--write-results]
//                          [--cases goal,ceiling,binary,lstm,inference] [--dist DIR]
//
// The goal pair (cases 'goal'): the same clients against unbatched serving (--max-batch 1) and dynamic
// batching (--max-batch 64 --max-delay-ms 5), both with a queue long enough for every client
// (--max-queue 4096) so that neither sheds load; JSON bodies, one real digit from the embedded MNIST
// test split each, as a client would send them. --rounds N interleaves N such pairs and reports the
// pair with the median ratio.
//
// Extra rows (same clients, same server flags):
//   ceiling  the same server with a no-op stand-in for the model (bench/serve/noop-model.ts: same
//            shapes, forward = a view of the input; BENCH ONLY): what serving costs with inference
//            free, i.e. the most any batching can reach. Its batched JSON run follows each goal pair
//            in the same round (the ratio to that round's unbatched run is the one that decides);
//            unbatched JSON and both binary runs come once after the rounds
//   binary   the MNIST CNN with raw float32 bodies (x-wattgrad-shape), unbatched and batched, once
//   lstm     the MNIST row LSTM (mnist-lstm: 28 sequential steps, where batch 1 is many tiny products), once
//   inference  no HTTP at all: the models' forward alone, CPU time per sample at batch 1 … 64
//            (bench/serve/inference.ts, its own process with the server's threads)
// After the table the bench prints the argument with this run's figures: the ceiling against 3× the
// unbatched throughput, the CPU per request of each part, and the bounds they put on batching.
//
// Throughput counts 2xx responses only. Per run: requests/s, latency p50/p99 (autocannon's HDR
// histogram), non-2xx responses, mean batch size (the server's /metrics), the server's resident
// memory at start/after warm-up/end (flat = no growth with load), and CPU time per 2xx response
// split three ways: the server's HTTP thread (the main thread: HTTP, body parse and validation,
// batching, response, metrics), the server's other threads (the model's worker thread, the kernel
// pool, V8's helpers: in effect inference) and the client (this process: autocannon). On this
// machine the client shares the cores with the server, so throughput is bounded by the sum of the
// three. Timing is wall clock on a shared machine: compare runs of one invocation, not machines.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { loadMnist } from '../../lib/data/mnist.js';
import { mnistCnn, RowLstm } from '../../lib/models/index.js';
import { manualSeed } from '../../lib/random.js';
import { saveCheckpoint } from '../../lib/io/checkpoint.js';
import { packageRoot } from '../../lib/native.js';
import { cpuKernelsInfo } from '../../lib/backend/js/native-cpu.js';

type Body = 'json' | 'binary';

interface Case {
  label: string;
  /** 'cli': node DIST/cli.js serve --model <model>; 'noop': the bench-only no-op stand-in */
  server: 'cli' | 'noop';
  model: 'mnist-cnn' | 'mnist-lstm';
  flags: string[];
  body: Body;
}

interface RunResult extends Case {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  rssMiB: { start: number; warm: number; end: number };
  meanBatch: number;
  /** CPU time per 2xx response during the run, ms: the server's main (HTTP) thread, its other threads, the client */
  cpu: { http: number; model: number; client: number };
  load: number;
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
function strArg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

// The native CPU kernels' threads in the server (WATTGRAD_NUM_THREADS), the same in both modes:
// by default one core is left to the HTTP thread (and autocannon, which shares this machine).
// Idle pool threads spin briefly between kernel calls; on 2 cores a second compute thread
// steals the CPU the HTTP thread needs and, at batch 1, burned more CPU than the model itself.
const threads = Math.max(1, Math.floor(arg('threads', Math.max(1, os.availableParallelism() - 1))));
/** the built library the servers run (npm run bench:serve builds dist/ first) */
const dist = path.resolve(strArg('dist', path.join(packageRoot(), 'dist')));

/** What the server's js backend runs: native kernels and threads (the server process inherits this environment). */
function cpuKernels(): string {
  const i = cpuKernelsInfo();
  return i.native.length
    ? `native ${i.isa}, ${threads} thread(s) (WATTGRAD_NUM_THREADS): ${i.native.join(', ')}; the rest pure JS`
    : `pure JS (${i.reason})`;
}

/** CPU seconds (user + system) of each thread of a process; clock ticks of 100 Hz (Linux's USER_HZ). */
function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const rest = f.slice(f.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
      out.set(Number(tid), (Number(rest[11]) + Number(rest[12])) / 100);
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return out;
}

/** CPU seconds of the main thread (tid = pid) and of all the other threads together, between two readings */
function cpuSplit(pid: number, a: Map<number, number>, b: Map<number, number>): { main: number; others: number } {
  let others = 0;
  for (const [tid, s] of b) if (tid !== pid) others += s - (a.get(tid) ?? 0);
  return { main: (b.get(pid) ?? 0) - (a.get(pid) ?? 0), others };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startServer(c: Case, weights: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  let argv: string[];
  if (c.server === 'cli') {
    const cli = path.join(dist, 'cli.js');
    if (!fs.existsSync(cli)) throw new Error(`bench:serve: ${cli} missing; run npm run build first`);
    argv = [cli, 'serve', '--model', c.model, '--weights', weights[c.model]!, '--port', '0', ...c.flags];
  } else {
    const noop = path.join(path.dirname(fileURLToPath(import.meta.url)), 'noop-server.js');
    argv = [noop, dist, ...c.flags];
  }
  const child = spawn(process.execPath, argv, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WATTGRAD_NUM_THREADS: String(threads) },
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  return { child, url };
}

interface Bodies {
  json: string;
  binary: Buffer;
}

async function cannon(
  url: string,
  model: string,
  body: Body,
  bodies: Bodies,
  connections: number,
  seconds: number,
): Promise<autocannon.Result> {
  return await autocannon({
    url: `${url}/v1/models/${model}:predict`,
    method: 'POST',
    connections,
    duration: seconds,
    pipelining: 1,
    headers:
      body === 'json'
        ? { 'content-type': 'application/json' }
        : { 'content-type': 'application/octet-stream', 'x-wattgrad-shape': '1,1,28,28' },
    body: body === 'json' ? bodies.json : bodies.binary,
  });
}

async function meanBatch(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (n: string): number =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(n))
        ?.split(' ')
        .pop(),
    );
  return get('wattgrad_batch_size_sum') / get('wattgrad_batch_size_count');
}

async function run(c: Case, weights: Record<string, string>, bodies: Bodies, connections: number, seconds: number): Promise<RunResult> {
  const { child, url } = await startServer(c, weights);
  const pid = child.pid!;
  const model = c.server === 'noop' ? 'mnist-cnn' : c.model;
  try {
    const start = rssMiB(pid);
    await cannon(url, model, c.body, bodies, connections, Math.max(2, Math.round(seconds / 3))); // warm-up (JIT, allocator)
    const warm = rssMiB(pid);
    const load = os.loadavg()[0]!;
    const t0 = threadCpuSeconds(pid);
    const client0 = process.cpuUsage();
    const r = await cannon(url, model, c.body, bodies, connections, seconds);
    const client = process.cpuUsage(client0);
    const split = cpuSplit(pid, t0, threadCpuSeconds(pid));
    const end = rssMiB(pid);
    const n = Math.max(1, r['2xx']);
    return {
      ...c,
      requestsPerSecond: r['2xx'] / r.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      rssMiB: { start, warm, end },
      meanBatch: await meanBatch(url),
      cpu: { http: (1000 * split.main) / n, model: (1000 * split.others) / n, client: (client.user + client.system) / 1000 / n },
      load,
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}

const UNBATCHED = ['--max-batch', '1', '--max-delay-ms', '0', '--max-queue', '4096'];
const BATCHED = ['--max-batch', '64', '--max-delay-ms', '5', '--max-queue', '4096'];
const cnn = (label: string, flags: string[], body: Body): Case => ({ label, server: 'cli', model: 'mnist-cnn', flags, body });
const GOAL_U = cnn('MNIST CNN, unbatched (max-batch 1)', UNBATCHED, 'json');
const GOAL_B = cnn('MNIST CNN, dynamic batching (max-batch 64, max-delay 5 ms)', BATCHED, 'json');
/** the ceiling's main row, run in every round beside the goal pair (its ratio to the unbatched run of the same round) */
const CEILING_JSON: Case = {
  label: 'no-op model (bench only), dynamic batching',
  server: 'noop',
  model: 'mnist-cnn',
  flags: BATCHED,
  body: 'json',
};
const EXTRAS: Record<string, Case[]> = {
  ceiling: [
    { label: 'no-op model (bench only), unbatched', server: 'noop', model: 'mnist-cnn', flags: UNBATCHED, body: 'json' },
    { label: 'no-op model (bench only), unbatched', server: 'noop', model: 'mnist-cnn', flags: UNBATCHED, body: 'binary' },
    { label: 'no-op model (bench only), dynamic batching', server: 'noop', model: 'mnist-cnn', flags: BATCHED, body: 'binary' },
  ],
  binary: [cnn(GOAL_U.label, UNBATCHED, 'binary'), cnn(GOAL_B.label, BATCHED, 'binary')],
  lstm: [
    { label: 'MNIST row LSTM, unbatched', server: 'cli', model: 'mnist-lstm', flags: UNBATCHED, body: 'json' },
    { label: 'MNIST row LSTM, dynamic batching', server: 'cli', model: 'mnist-lstm', flags: BATCHED, body: 'json' },
  ],
};

const f0 = (x: number): string => x.toFixed(0);
const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);
const f3 = (x: number): string => x.toFixed(3);
const cpuSum = (r: RunResult): number => r.cpu.http + r.cpu.model + r.cpu.client;

function row(r: RunResult): string {
  return (
    `| ${r.label} | ${r.body} | ${f0(r.requestsPerSecond)} | ${f1(r.p50)} | ${f1(r.p99)} | ${r.non2xx} | ${r.errors} | ${f1(r.meanBatch)} | ` +
    `${f3(r.cpu.http)} | ${f3(r.cpu.model)} | ${f3(r.cpu.client)} | ${f1(r.load)} | ${f0(r.rssMiB.start)} → ${f0(r.rssMiB.warm)} → ${f0(r.rssMiB.end)} |`
  );
}

/** The argument, with this run's figures, for why the goal is or is not reachable here. */
function ceilingLines(u: RunResult, b: RunResult, extra: RunResult[], roundRatios: number[]): string[] {
  const lines: string[] = [];
  // the best no-op row per body (the JSON batched one comes from the goal pair's own round)
  const noop = (body: Body): RunResult | undefined =>
    extra.filter((r) => r.server === 'noop' && r.body === body).sort((x, y) => y.requestsPerSecond - x.requestsPerSecond)[0];
  const nj = noop('json');
  const nb = noop('binary');
  if (nj) {
    // the verdict: the median over rounds of (no-op ceiling / unbatched MNIST CNN), each measured in one round
    const sortedRatios = [...roundRatios].sort((x, y) => x - y);
    const ratio =
      sortedRatios.length > 0 ? sortedRatios[Math.floor((sortedRatios.length - 1) / 2)]! : nj.requestsPerSecond / u.requestsPerSecond;
    lines.push(
      `Ceiling: the same server with the model's forward made free (no-op stand-in, bench only) serves ${f0(nj.requestsPerSecond)} 2xx/s with JSON bodies in the reported pair's round` +
        (nb ? ` and ${f0(nb.requestsPerSecond)} with binary ones` : '') +
        ` (best of its unbatched/batched rows), ${f2(ratio)}× the unbatched MNIST CNN` +
        (roundRatios.length > 1 ? ` (median over the rounds, each ratio within one round: ${roundRatios.map(f2).join(', ')})` : '') +
        '. ' +
        (ratio < 3
          ? `The goal needs 3×: above the ceiling, so on this machine, with this model and these clients, no batching can reach it. ` +
            `With inference free, each JSON request still costs ${f3(nj.cpu.http)} ms on the server's HTTP thread (HTTP, body parse and validation, batching, response, metrics), ` +
            `${f3(nj.cpu.model)} ms on its other threads and ${f3(nj.cpu.client)} ms in the client (autocannon, on the same cores), ` +
            `while the MNIST CNN at batch 1 adds ${f3(u.cpu.model)} ms of inference per request (its other threads; ${f3(b.cpu.model)} ms batched).`
          : `3× is below the ceiling: not excluded by the serving overhead alone on this machine (the inference bounds below still apply).`),
    );
  }
  lines.push(
    `CPU per request, all of it (server HTTP thread + server model threads + client): unbatched ${f3(u.cpu.http)} + ${f3(u.cpu.model)} + ${f3(u.cpu.client)} = ${f3(cpuSum(u))} ms, ` +
      `batched ${f3(b.cpu.http)} + ${f3(b.cpu.model)} + ${f3(b.cpu.client)} = ${f3(cpuSum(b))} ms. Where the cores are saturated, throughput goes as 1 / that sum: ` +
      `batching can give about ${f2(cpuSum(u) / cpuSum(b))}× here, and even batched inference made free at most ${f2(cpuSum(u) / (b.cpu.http + b.cpu.client))}× ` +
      `(the unbatched sum over the batched HTTP thread + client).`,
  );
  lines.push(
    `Inference in the server: its model threads (the worker, the kernel pool and V8's helpers) spend ${f3(u.cpu.model)} ms per request at batch 1 and ${f3(b.cpu.model)} ms batched (mean batch ${f1(b.meanBatch)}): ` +
      `${f2(u.cpu.model / b.cpu.model)}×, about the most batching could give on a CPU-bound machine even if HTTP, parsing and the client cost nothing.`,
  );
  // with a core for every thread (and the client elsewhere) each mode is bound by its busiest thread
  const bound = (r: RunResult): number => 1000 / Math.max(r.cpu.http, r.cpu.model);
  const binU = extra.find((r) => r.server === 'cli' && r.model === 'mnist-cnn' && r.body === 'binary' && r.flags === UNBATCHED);
  const binB = extra.find((r) => r.server === 'cli' && r.model === 'mnist-cnn' && r.body === 'binary' && r.flags === BATCHED);
  lines.push(
    `With a core for every thread and the client elsewhere, each mode would be bound by its busiest thread (one HTTP thread, one model thread): ` +
      `JSON unbatched ≤ ${f0(bound(u))}/s, batched ≤ ${f0(bound(b))}/s (${f2(bound(b) / bound(u))}×)` +
      (binU && binB
        ? `; binary unbatched ≤ ${f0(bound(binU))}/s, batched ≤ ${f0(bound(binB))}/s (${f2(bound(binB) / bound(binU))}×).`
        : '.'),
  );
  const pair = (pred: (r: RunResult) => boolean, what: string): void => {
    const ru = extra.find((r) => pred(r) && r.flags === UNBATCHED);
    const rb = extra.find((r) => pred(r) && r.flags === BATCHED);
    if (ru && rb)
      lines.push(
        `${what}: batched ${f2(rb.requestsPerSecond / ru.requestsPerSecond)}× unbatched (${f0(rb.requestsPerSecond)} vs ${f0(ru.requestsPerSecond)} 2xx/s, p99 ${f1(rb.p99)} vs ${f1(ru.p99)} ms), ` +
          `CPU per request ${f3(cpuSum(ru))} → ${f3(cpuSum(rb))} ms (${f2(cpuSum(ru) / cpuSum(rb))}×).`,
      );
  };
  pair((r) => r.server === 'cli' && r.model === 'mnist-cnn' && r.body === 'binary', 'MNIST CNN with binary bodies');
  pair((r) => r.model === 'mnist-lstm', 'MNIST row LSTM (JSON)');
  return lines;
}

type Inference = Record<string, Record<string, number>>;

/** bench/serve/inference.ts in its own process with the server's threads: CPU ms per sample by batch size */
function inferenceAlone(): Inference {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'inference.js');
  const r = spawnSync(process.execPath, [script], {
    env: { ...process.env, WATTGRAD_NUM_THREADS: String(threads) },
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`bench:serve: ${script} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Inference;
}

function inferenceLines(inf: Inference): string[] {
  const sizes = Object.keys(Object.values(inf)[0] ?? {});
  const lines = [
    '',
    `Inference alone (no HTTP: the model's forward as the server runs it, in its own process with the same ${threads} thread(s)), CPU ms per sample:`,
    '',
    `| model | ${sizes.map((b) => `batch ${b}`).join(' | ')} | batch 1 / best |`,
    `|---|${sizes.map(() => '---:').join('|')}|---:|`,
  ];
  for (const [model, by] of Object.entries(inf)) {
    const best = Math.min(...Object.values(by));
    lines.push(`| ${model} | ${sizes.map((b) => f3(by[b]!)).join(' | ')} | ${f2(by['1']! / best)}× |`);
  }
  const cnn = inf['mnist-cnn'];
  if (cnn) {
    const r = cnn['1']! / Math.min(...Object.values(cnn));
    lines.push(
      '',
      `The MNIST CNN's forward is ${f2(r)}× cheaper per sample batched than at batch 1: ` +
        (r < 3
          ? `below 3×, so on a CPU-bound machine no batching can triple its throughput even if HTTP, parsing and the client cost nothing (they only lower the ratio).`
          : `3× or more, so the per-request work outside the model decides whether the goal is reachable.`),
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 10);
  const connections = arg('connections', 64);
  const cases = strArg('cases', 'goal,ceiling,binary,lstm,inference').split(',');
  for (const c of cases)
    if (c !== 'goal' && c !== 'inference' && !(c in EXTRAS))
      throw new Error(`bench:serve: unknown case '${c}' (goal, inference, ${Object.keys(EXTRAS).join(', ')})`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-bench-serve-'));
  const weights = { 'mnist-cnn': path.join(tmp, 'cnn.safetensors'), 'mnist-lstm': path.join(tmp, 'lstm.safetensors') };
  manualSeed(0);
  saveCheckpoint(weights['mnist-cnn'], { model: mnistCnn() });
  saveCheckpoint(weights['mnist-lstm'], { model: new RowLstm(64) });
  const { test } = loadMnist({ testLimit: 1 });
  const digit = test.tensors[0]!;
  const bodies: Bodies = {
    json: JSON.stringify({ instances: digit.toArray() as number[][][][] }),
    binary: Buffer.from(Float32Array.from(digit.dataSync() as Float32Array).buffer),
  };

  // --rounds N: N interleaved (unbatched, batched) pairs; on a shared machine the load moves
  // between runs, so the pair with the median ratio is reported, with every pair's ratio
  const rounds = Math.max(1, Math.floor(arg('rounds', 1)));
  const withCeiling = cases.includes('ceiling');
  const pairs: [RunResult, RunResult, RunResult | null][] = [];
  for (let i = 0; i < rounds; i++) {
    const u = await run(GOAL_U, weights, bodies, connections, seconds);
    const bt = await run(GOAL_B, weights, bodies, connections, seconds);
    const c = withCeiling ? await run(CEILING_JSON, weights, bodies, connections, seconds) : null;
    pairs.push([u, bt, c]);
    console.log(
      `round ${i + 1}: ${f2(bt.requestsPerSecond / u.requestsPerSecond)}x (${f0(u.requestsPerSecond)} vs ${f0(bt.requestsPerSecond)} 2xx/s), load ${f1((u.load + bt.load) / 2)}` +
        (c ? `; no-op ceiling ${f0(c.requestsPerSecond)} 2xx/s = ${f2(c.requestsPerSecond / u.requestsPerSecond)}x unbatched` : ''),
    );
  }
  const extra: RunResult[] = [];
  for (const c of cases.filter((k) => k in EXTRAS).flatMap((k) => EXTRAS[k]!)) {
    const r = await run(c, weights, bodies, connections, seconds);
    console.log(`${r.label}, ${r.body}: ${f0(r.requestsPerSecond)} 2xx/s, load ${f1(r.load)}`);
    extra.push(r);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  const inference = cases.includes('inference') ? inferenceAlone() : null;
  const ratioOf = (q: [RunResult, RunResult, RunResult | null]): number => q[1].requestsPerSecond / q[0].requestsPerSecond;
  const sorted = [...pairs].sort((x, y) => ratioOf(x) - ratioOf(y));
  const [a, b, ceiling] = sorted[Math.floor((sorted.length - 1) / 2)]!;
  if (ceiling) extra.unshift(ceiling);
  const lines = [
    `| server | body | 2xx/s | p50 ms | p99 ms | non-2xx | errors | mean batch | CPU ms / request: server HTTP thread | server model threads | client | load | server RSS MiB start → warm → end |`,
    `|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|`,
    row(a),
    row(b),
    ...extra.map(row),
    '',
    `Dynamic batching: ${f2(b.requestsPerSecond / a.requestsPerSecond)}× the throughput of unbatched serving, p99 ${f1(b.p99)} ms vs ${f1(a.p99)} ms ` +
      `(goal ≥ 3× at equal or better p99: ${b.requestsPerSecond >= 3 * a.requestsPerSecond && b.p99 <= a.p99 ? 'met' : 'NOT met'}); load average ${f1((a.load + b.load) / 2)} during the pair` +
      (rounds > 1 ? `, the median of ${rounds} interleaved pairs (ratios ${pairs.map((q) => f2(ratioOf(q))).join(', ')}).` : '.'),
    `Server CPU per request (robust to the machine's load; the throughput ratio a dedicated, CPU-bound server would see, leaving out the client): ` +
      `unbatched ${f3(a.cpu.http + a.cpu.model)} ms, batched ${f3(b.cpu.http + b.cpu.model)} ms, ${f2((a.cpu.http + a.cpu.model) / (b.cpu.http + b.cpu.model))}×` +
      (rounds > 1
        ? ` (pairs: ${pairs.map((q) => f2((q[0].cpu.http + q[0].cpu.model) / (q[1].cpu.http + q[1].cpu.model))).join(', ')}).`
        : '.'),
    ...ceilingLines(
      a,
      b,
      extra,
      pairs.filter((q) => q[2] !== null).map((q) => q[2]!.requestsPerSecond / q[0].requestsPerSecond),
    ),
    ...(inference ? inferenceLines(inference) : []),
  ];
  const meta =
    `${connections} connections, ${seconds} s per run after a warm-up, autocannon in the bench process, server = node dist/cli.js serve (model in a worker thread; ` +
    `the no-op rows: serve() of the same dist/ with bench/serve/noop-model.ts), js backend (CPU kernels: ${cpuKernels()}), same threads in all runs, ` +
    `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
  console.log(`\n${meta}\n\n${lines.join('\n')}\n`);
  if (process.argv.includes('--write-results')) {
    const file = path.join(packageRoot(), 'bench', 'RESULTS.md');
    const begin = '<!-- serve:begin -->';
    const end = '<!-- serve:end -->';
    const section = `${begin}\n## Serving: dynamic batching (MNIST CNN, \`npm run bench:serve\`)\n\n${meta}.\n\n${lines.join('\n')}\n${end}`;
    let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    text = text.includes(begin) ? text.replace(new RegExp(`${begin}[\\s\\S]*${end}`), section) : `${text.trimEnd()}\n\n${section}\n`;
    fs.writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}

await main();
