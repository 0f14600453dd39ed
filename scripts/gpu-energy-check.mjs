#!/usr/bin/env node
// The energy issue's NVML cross-check, run by scripts/gpu-check.sh on the GPU machine:
//
//   node scripts/gpu-energy-check.mjs OUTDIR [--seconds 2] [--n 4096]
//
// Runs a float32 matmul loop (n³, through the library on cuda:0) for ~`seconds` inside an
// EnergyMeter window while `nvidia-smi --query-gpu=timestamp,power.draw -lms 100` samples board
// power in the background, then writes to OUTDIR:
//   nvidia-smi-power.csv   the raw nvidia-smi samples (timestamp, W)
//   energy-check.json      the meter's result (method, J, mean W, FLOP/J), its power series, the
//                          nvidia-smi samples inside the window, their mean W and trapezoid J, and
//                          the ratio meter J / nvidia-smi J (expect ~0.9-1.1; both sample board power)
// Exit 0 whenever it could run the loop (the comparison is for a person to read), 1 otherwise.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const out = args.find((a) => !a.startsWith('--')) ?? '.';
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seconds = opt('seconds', 2);
const n = opt('n', 4096);
fs.mkdirSync(out, { recursive: true });

// dist/lib/index.js in the GPU bundle (tsconfig.json, rootDir "."), dist/index.js in a dev tree.
let lib = null;
for (const rel of ['dist/lib/index.js', 'dist/index.js']) {
  const p = path.join(root, rel);
  if (fs.existsSync(p)) {
    lib = await import(pathToFileURL(p).href);
    break;
  }
}
if (!lib) {
  console.error('gpu-energy-check: no compiled library (dist/lib/index.js or dist/index.js)');
  process.exit(1);
}

const report = { seconds, n, startedAt: new Date().toISOString() };
const write = () => fs.writeFileSync(path.join(out, 'energy-check.json'), JSON.stringify(report, null, 2));

// nvidia-smi in the background, samples every 100 ms
const csvPath = path.join(out, 'nvidia-smi-power.csv');
const csv = fs.openSync(csvPath, 'w');
let smi = null;
// Stops the sampler. Only with a real pid: a child whose spawn failed (no nvidia-smi) may still
// hold a handle with pid 0, and signalling that would hit our whole process group.
const stopSmi = () => {
  if (smi && Number.isInteger(smi.pid) && smi.pid > 0 && smi.exitCode === null) smi.kill('SIGTERM');
  smi = null;
};
try {
  smi = spawn('nvidia-smi', ['-i', '0', '--query-gpu=timestamp,power.draw', '--format=csv,noheader,nounits', '-lms', '100'], {
    stdio: ['ignore', csv, 'ignore'],
  });
  smi.on('error', (e) => {
    report.nvidiaSmiError = e.message;
    smi = null;
  });
} catch (e) {
  report.nvidiaSmiError = String(e);
}

try {
  lib.setDefaultDevice('cuda:0');
  const a = lib.randn([n, n]),
    b = lib.randn([n, n]);
  // warm-up (kernel selection, allocator) outside the window
  for (let i = 0; i < 3; i++) lib.matmul(a, b).dispose();
  lib.synchronize();
  await new Promise((r) => setTimeout(r, 300)); // let nvidia-smi take a few idle samples first
  const meter = new lib.EnergyMeter({ synchronize: () => lib.synchronize(), cpu: false });
  const wallStart = Date.now();
  meter.begin('matmul-loop');
  const t0 = performance.now();
  let iters = 0;
  while (performance.now() - t0 < seconds * 1000) {
    for (let k = 0; k < 8; k++) {
      lib.matmul(a, b).dispose();
      iters++;
    }
    lib.synchronize();
  }
  const r = meter.end('matmul-loop');
  const wallEnd = Date.now();
  report.iterations = iters;
  report.flops = 2 * n ** 3 * iters;
  report.tflopsPerSecond = report.flops / r.seconds / 1e12;
  report.meter = r;
  report.meterPowerSeries = meter.powerSeries();
  report.window = { start: new Date(wallStart).toISOString(), end: new Date(wallEnd).toISOString() };
  a.dispose();
  b.dispose();
  await new Promise((res) => setTimeout(res, 300));
  stopSmi();
  await new Promise((res) => setTimeout(res, 200));
  fs.closeSync(csv);

  // nvidia-smi timestamps are local time "YYYY/MM/DD HH:MM:SS.mmm"
  const rows = fs
    .readFileSync(csvPath, 'utf8')
    .split('\n')
    .map((l) => l.split(',').map((s) => s.trim()))
    .filter((c) => c.length >= 2 && Number.isFinite(Number(c[1])))
    .map(([ts, w]) => ({ t: new Date(ts.replace(/-/g, '/')).getTime(), w: Number(w) }));
  const inside = rows.filter((s) => s.t >= wallStart && s.t <= wallEnd);
  let joules = 0;
  for (let i = 1; i < inside.length; i++) joules += ((inside[i].w + inside[i - 1].w) / 2) * ((inside[i].t - inside[i - 1].t) / 1000);
  const spanS = inside.length > 1 ? (inside.at(-1).t - inside[0].t) / 1000 : 0;
  const meanW = inside.length ? inside.reduce((s, x) => s + x.w, 0) / inside.length : null;
  const meterGpu = r.gpu?.[0] ?? null;
  report.nvidiaSmi = {
    samples: rows.length,
    insideWindow: inside.length,
    meanWatts: meanW,
    trapezoidJoulesOverSpan: joules,
    spanSeconds: spanS,
    // scale the trapezoid to the meter's window length, so the two are comparable
    joulesOverWindow: meanW !== null ? meanW * r.seconds : null,
  };
  report.comparison =
    meterGpu && meterGpu.joules !== null && report.nvidiaSmi.joulesOverWindow
      ? {
          meterMethod: meterGpu.method,
          meterJoules: meterGpu.joules,
          meterMeanWatts: meterGpu.meanWatts,
          nvidiaSmiJoules: report.nvidiaSmi.joulesOverWindow,
          ratio: meterGpu.joules / report.nvidiaSmi.joulesOverWindow,
        }
      : { note: 'no comparison: meter or nvidia-smi had no readings', meterMethod: meterGpu?.method ?? null };
  write();
  console.log(
    `gpu-energy-check: ${iters} matmuls ${n}³ in ${r.seconds.toFixed(2)} s (${report.tflopsPerSecond.toFixed(1)} TFLOP/s); ` +
      `meter ${meterGpu?.method}: ${meterGpu?.joules?.toFixed(1) ?? '-'} J, ${meterGpu?.meanWatts?.toFixed(0) ?? '-'} W; ` +
      `nvidia-smi: ${meanW?.toFixed(0) ?? '-'} W over ${inside.length} samples; ratio ${report.comparison.ratio?.toFixed(3) ?? '-'}`,
  );
} catch (e) {
  report.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  stopSmi();
  try {
    fs.closeSync(csv);
  } catch {
    /* closed */
  }
  write();
  console.error(`gpu-energy-check: ${report.error}`);
  process.exit(1);
}
