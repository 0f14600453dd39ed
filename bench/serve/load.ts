// Load test of `wattgrad serve`: the MNIST CNN behind the built CLI (its own process, the model in
// a worker thread), driven by autocannon from this process over localhost.
//
//   npm run bench:serve -- [--seconds 10] [--connections 64] [--rounds 1] [--threads N] [--write-results]
//
// Two runs with the same clients: unbatched (--max-batch 1) and dynamic batching (--max-batch 64
// --max-delay-ms 5), both with a queue long enough for every client (--max-queue 4096) so that
// neither sheds load. Throughput counts 2xx responses only. Per run: requests/s, latency p50/p99 (autocannon's HDR histogram), non-2xx
// responses, the server's resident memory at start/after warm-up/end (flat = no growth with
// load), and the server's own batch-size histogram from /metrics. Each request is one real digit
// from the embedded MNIST test split, JSON as a client would send it. Timing is wall clock on a
// shared machine: compare the two runs of one invocation, not across machines.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { loadMnist } from '../../lib/data/mnist.js';
import { mnistCnn } from '../../lib/models/index.js';
import { manualSeed } from '../../lib/random.js';
import { saveCheckpoint } from '../../lib/io/checkpoint.js';
import { packageRoot } from '../../lib/native.js';
import { cpuKernelsInfo } from '../../lib/backend/js/native-cpu.js';

interface RunResult {
  label: string;
  flags: string[];
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  rssMiB: { start: number; warm: number; end: number };
  meanBatch: number;
  /** the server process's CPU time (user + system, all threads) per 2xx response during the run */
  cpuMsPerRequest: number;
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

// The native CPU kernels' threads in the server (WATTGRAD_NUM_THREADS), the same in both modes:
// by default one core is left to the HTTP thread (and autocannon, which shares this machine).
// Idle pool threads spin briefly between kernel calls; on 2 cores a second compute thread
// steals the CPU the HTTP thread needs and, at batch 1, burned more CPU than the model itself.
const threads = Math.max(1, Math.floor(arg('threads', Math.max(1, os.availableParallelism() - 1))));

/** What the server's js backend runs: native kernels and threads (the server process inherits this environment). */
function cpuKernels(): string {
  const i = cpuKernelsInfo();
  return i.native.length
    ? `native ${i.isa}, ${threads} thread(s) (WATTGRAD_NUM_THREADS): ${i.native.join(', ')}; the rest pure JS`
    : `pure JS (${i.reason})`;
}

/** CPU seconds (user + system, every thread) the process has used; clock ticks of 100 Hz (Linux's USER_HZ). */
function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startServer(flags: string[], weights: string): Promise<{ child: ChildProcess; url: string }> {
  const cli = path.join(packageRoot(), 'dist', 'cli.js');
  if (!fs.existsSync(cli)) throw new Error(`bench:serve: ${cli} missing; run npm run build first`);
  const child = spawn(process.execPath, [cli, 'serve', '--model', 'mnist-cnn', '--weights', weights, '--port', '0', ...flags], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, WATTGRAD_NUM_THREADS: String(threads) },
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  return { child, url };
}

async function cannon(url: string, body: string, connections: number, seconds: number): Promise<autocannon.Result> {
  return await autocannon({
    url: `${url}/v1/models/mnist-cnn:predict`,
    method: 'POST',
    connections,
    duration: seconds,
    pipelining: 1,
    headers: { 'content-type': 'application/json' },
    body,
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

async function run(
  label: string,
  flags: string[],
  weights: string,
  body: string,
  connections: number,
  seconds: number,
): Promise<RunResult> {
  const { child, url } = await startServer(flags, weights);
  try {
    const start = rssMiB(child.pid!);
    await cannon(url, body, connections, Math.max(2, Math.round(seconds / 3))); // warm-up (JIT, allocator)
    const warm = rssMiB(child.pid!);
    const cpu0 = cpuSeconds(child.pid!);
    const r = await cannon(url, body, connections, seconds);
    const cpu = cpuSeconds(child.pid!) - cpu0;
    const end = rssMiB(child.pid!);
    return {
      label,
      flags,
      requestsPerSecond: r['2xx'] / r.duration,
      p50: r.latency.p50,
      p99: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors + r.timeouts,
      rssMiB: { start, warm, end },
      meanBatch: await meanBatch(url),
      cpuMsPerRequest: (1000 * cpu) / Math.max(1, r['2xx']),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 10);
  const connections = arg('connections', 64);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-bench-serve-'));
  const weights = path.join(tmp, 'cnn.safetensors');
  manualSeed(0);
  const model = mnistCnn();
  saveCheckpoint(weights, { model });
  const { test } = loadMnist({ testLimit: 1 });
  const digit = test.tensors[0]!.toArray() as number[][][][];
  const body = JSON.stringify({ instances: digit });

  // --rounds N: N interleaved (unbatched, batched) pairs; on a shared machine the load moves
  // between runs, so the pair with the median ratio is reported, with every pair's ratio
  const rounds = Math.max(1, Math.floor(arg('rounds', 1)));
  const pairs: [RunResult, RunResult, number][] = [];
  for (let i = 0; i < rounds; i++) {
    const load0 = os.loadavg()[0]!;
    const u = await run(
      'unbatched (max-batch 1)',
      ['--max-batch', '1', '--max-delay-ms', '0', '--max-queue', '4096'],
      weights,
      body,
      connections,
      seconds,
    );
    const bt = await run(
      'dynamic batching (max-batch 64, max-delay 5 ms)',
      ['--max-batch', '64', '--max-delay-ms', '5', '--max-queue', '4096'],
      weights,
      body,
      connections,
      seconds,
    );
    pairs.push([u, bt, (load0 + os.loadavg()[0]!) / 2]);
    if (rounds > 1)
      console.log(
        `round ${i + 1}: ${(bt.requestsPerSecond / u.requestsPerSecond).toFixed(2)}x (${u.requestsPerSecond.toFixed(0)} vs ${bt.requestsPerSecond.toFixed(0)} 2xx/s), load ${pairs[i]![2].toFixed(1)}`,
      );
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  const ratioOf = (q: [RunResult, RunResult, number]): number => q[1].requestsPerSecond / q[0].requestsPerSecond;
  const sorted = [...pairs].sort((x, y) => ratioOf(x) - ratioOf(y));
  const [a, b, load] = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const results: RunResult[] = [a, b];
  const lines = [
    `| server | 2xx/s | p50 ms | p99 ms | non-2xx | errors | mean batch | server CPU ms / request | server RSS MiB start → warm → end |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---|`,
    ...results.map(
      (r) =>
        `| ${r.label} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.non2xx} | ${r.errors} | ${r.meanBatch.toFixed(1)} | ${r.cpuMsPerRequest.toFixed(3)} | ${r.rssMiB.start.toFixed(0)} → ${r.rssMiB.warm.toFixed(0)} → ${r.rssMiB.end.toFixed(0)} |`,
    ),
    '',
    `Dynamic batching: ${(b.requestsPerSecond / a.requestsPerSecond).toFixed(2)}× the throughput of unbatched serving, p99 ${b.p99.toFixed(1)} ms vs ${a.p99.toFixed(1)} ms ` +
      `(goal ≥ 3× at equal or better p99: ${b.requestsPerSecond >= 3 * a.requestsPerSecond && b.p99 <= a.p99 ? 'met' : 'NOT met'}); load average ${load.toFixed(1)} during the pair` +
      (rounds > 1 ? `, the median of ${rounds} interleaved pairs (ratios ${pairs.map((q) => ratioOf(q).toFixed(2)).join(', ')}).` : '.'),
    `Server CPU per request (robust to the machine's load; the throughput ratio a dedicated, CPU-bound machine would see, leaving out the client): ` +
      `unbatched ${a.cpuMsPerRequest.toFixed(3)} ms, batched ${b.cpuMsPerRequest.toFixed(3)} ms, ${(a.cpuMsPerRequest / b.cpuMsPerRequest).toFixed(2)}×` +
      (rounds > 1 ? ` (pairs: ${pairs.map((q) => (q[0].cpuMsPerRequest / q[1].cpuMsPerRequest).toFixed(2)).join(', ')}).` : '.'),
  ];
  const meta =
    `${connections} connections, ${seconds} s per run after a warm-up, autocannon in the bench process, server = node dist/cli.js serve (model in a worker thread), ` +
    `js backend (CPU kernels: ${cpuKernels()}), same threads in both modes, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
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
