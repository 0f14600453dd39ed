// Load test of `wattgrad serve`: the MNIST CNN behind the built CLI (its own process, the model in
// a worker thread), driven by autocannon from this process over localhost.
//
//   npm run bench:serve -- [--seconds 10] [--connections 64] [--write-results]
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
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
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
    const r = await cannon(url, body, connections, seconds);
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

  const results: RunResult[] = [];
  results.push(
    await run(
      'unbatched (max-batch 1)',
      ['--max-batch', '1', '--max-delay-ms', '0', '--max-queue', '4096'],
      weights,
      body,
      connections,
      seconds,
    ),
  );
  results.push(
    await run(
      'dynamic batching (max-batch 64, max-delay 5 ms)',
      ['--max-batch', '64', '--max-delay-ms', '5', '--max-queue', '4096'],
      weights,
      body,
      connections,
      seconds,
    ),
  );
  fs.rmSync(tmp, { recursive: true, force: true });

  const [a, b] = results as [RunResult, RunResult];
  const lines = [
    `| server | 2xx/s | p50 ms | p99 ms | non-2xx | errors | mean batch | server RSS MiB start → warm → end |`,
    `|---|---:|---:|---:|---:|---:|---:|---|`,
    ...results.map(
      (r) =>
        `| ${r.label} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.non2xx} | ${r.errors} | ${r.meanBatch.toFixed(1)} | ${r.rssMiB.start.toFixed(0)} → ${r.rssMiB.warm.toFixed(0)} → ${r.rssMiB.end.toFixed(0)} |`,
    ),
    '',
    `Dynamic batching: ${(b.requestsPerSecond / a.requestsPerSecond).toFixed(2)}× the throughput of unbatched serving, p99 ${b.p99.toFixed(1)} ms vs ${a.p99.toFixed(1)} ms ` +
      `(goal ≥ 3× at equal or better p99: ${b.requestsPerSecond >= 3 * a.requestsPerSecond && b.p99 <= a.p99 ? 'met' : 'NOT met'}).`,
  ];
  const meta =
    `${connections} connections, ${seconds} s per run after a warm-up, autocannon in the bench process, server = node dist/cli.js serve (model in a worker thread), ` +
    `js backend, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`;
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
