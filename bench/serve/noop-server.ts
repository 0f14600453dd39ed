// BENCH ONLY — `serve()` from a built lib (dist/) with the no-op stand-in of bench/serve/noop-model.ts,
// started the way `wattgrad serve` starts (its own process, the model in a worker thread, the same
// options), so that bench:serve can measure the serving ceiling beside the real model:
//
//   node dist-bench/bench/serve/noop-server.js DIST_DIR [--max-batch N] [--max-delay-ms X] [--max-queue N]
//
// Prints "listening on URL" on stderr like the CLI; SIGTERM drains and exits 0.

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { serve as serveFn } from '../../lib/serve/index.js';

const [dist, ...flags] = process.argv.slice(2);
if (!dist) throw new Error('usage: noop-server.js DIST_DIR [--max-batch N] [--max-delay-ms X] [--max-queue N]');
const flag = (name: string): number | undefined => {
  const i = flags.indexOf(`--${name}`);
  return i >= 0 ? Number(flags[i + 1]) : undefined;
};
const { serve } = (await import(pathToFileURL(path.join(path.resolve(dist), 'serve', 'index.js')).href)) as { serve: typeof serveFn };
const model = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'noop-model.js')).href;
const opts = { maxBatch: flag('max-batch'), maxDelayMs: flag('max-delay-ms'), maxQueue: flag('max-queue') };
for (const k of Object.keys(opts) as (keyof typeof opts)[]) if (opts[k] === undefined) delete opts[k];
const server = await serve({ module: model, export: 'noopCnn' }, { name: 'mnist-cnn', inputShape: [1, 28, 28], port: 0, ...opts });
process.stderr.write(`serve: noop stand-in (bench only) listening on ${server.url}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => {
    process.exitCode = 0;
  });
});
