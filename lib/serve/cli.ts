// `wattgrad serve`: a demo model's checkpoint behind the HTTP server, until SIGTERM/SIGINT.
//   wattgrad serve --model mnist-cnn --weights ckpt.safetensors [--port 8080 --host 127.0.0.1
//                  --max-batch 64 --max-delay-ms 5 --device cpu|cuda --cpu-watts W --log-json]
// SIGHUP reloads the weights file (an atomic switch; a bad file keeps the old model).

import { parseArgs } from 'node:util';
import { didYouMean } from '../options.js';
import { serve, type DemoModelName, type ModelServer } from './server.js';

export const SERVE_USAGE = `usage: wattgrad serve --model <mnist-mlp|mnist-cnn|mnist-lstm> [--weights FILE] [options]

serve options:
  --model NAME          the demo model the weights belong to
  --weights FILE        a checkpoint from 'wattgrad train --save' or a safetensors state dict
  --name NAME           the model's name in URLs (default: the model)
  --port N              default 8080 (0: a free port)
  --host H              default 127.0.0.1
  --max-batch N         most rows per batch (default 64; 1: no batching)
  --max-delay-ms X      longest wait for a batch to fill (default 5)
  --max-queue N         rows that may wait before 503 (default 16 × max-batch)
  --max-instances N     most instances per request (default 1024)
  --request-timeout-ms N  a request not answered by then gets 503 (default 30000)
  --body-limit N        largest request body in bytes (default 16 MiB)
  --device D            cpu | cuda | cuda:N (default cpu)
  --cpu-watts W         CPU power to assume where no energy counter exists (labelled estimated; default 10)
  --log-json            one JSON line per request on stdout
  --quiet               no start/stop lines
`;

const FLAGS = {
  model: { type: 'string' }, weights: { type: 'string' }, name: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
  'max-batch': { type: 'string' }, 'max-delay-ms': { type: 'string' }, 'max-queue': { type: 'string' }, 'max-instances': { type: 'string' },
  'request-timeout-ms': { type: 'string' }, 'body-limit': { type: 'string' }, device: { type: 'string' }, 'cpu-watts': { type: 'string' },
  'log-json': { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

export class ServeUsageError extends Error {}

function num(name: string, v: string | undefined, kind: 'int' | 'nonneg'): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (kind === 'int' ? !Number.isInteger(n) || n < 0 : n < 0)) {
    throw new ServeUsageError(`--${name} must be ${kind === 'int' ? 'a non-negative integer' : 'a number >= 0'}, got '${v}'`);
  }
  return n;
}

export interface ServeCliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** Parses the flags and starts the server; resolves with the server (tests) — the caller waits for stop(). */
export async function startServeCommand(args: string[], io: ServeCliIO): Promise<ModelServer | null> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: FLAGS, strict: true, allowPositionals: false, allowNegative: false } as never) as { values: Record<string, string | boolean | undefined> };
  } catch (e) {
    const m = /Unknown option '(--?[^']+)'/.exec((e as Error).message);
    if (m) {
      throw new ServeUsageError(`serve: unknown option ${m[1]}${didYouMean(m[1]!.replace(/^-+/, ''), Object.keys(FLAGS), '--', '')} (wattgrad serve --help)`);
    }
    throw new ServeUsageError((e as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(SERVE_USAGE);
    return null;
  }
  const model = v.model as string | undefined;
  if (model === undefined) throw new ServeUsageError('serve: --model is required (mnist-mlp, mnist-cnn or mnist-lstm)');
  if (!['mnist-mlp', 'mnist-cnn', 'mnist-lstm'].includes(model)) throw new ServeUsageError(`serve: unknown model '${model}' (mnist-mlp, mnist-cnn, mnist-lstm)`);
  const cpuWatts = num('cpu-watts', v['cpu-watts'] as string | undefined, 'nonneg');
  const opts = {
    name: v.name as string | undefined,
    weights: (v.weights as string | undefined) ?? null,
    port: num('port', v.port as string | undefined, 'int'),
    host: v.host as string | undefined,
    maxBatch: num('max-batch', v['max-batch'] as string | undefined, 'int'),
    maxDelayMs: num('max-delay-ms', v['max-delay-ms'] as string | undefined, 'nonneg'),
    maxQueue: num('max-queue', v['max-queue'] as string | undefined, 'int'),
    maxInstances: num('max-instances', v['max-instances'] as string | undefined, 'int'),
    requestTimeoutMs: num('request-timeout-ms', v['request-timeout-ms'] as string | undefined, 'int'),
    bodyLimit: num('body-limit', v['body-limit'] as string | undefined, 'int'),
    device: v.device as string | undefined,
    logRequests: v['log-json'] === true,
    ...(cpuWatts === undefined ? {} : { energy: { cpuWatts } }),
  };
  for (const k of Object.keys(opts) as (keyof typeof opts)[]) if (opts[k] === undefined) delete opts[k];
  if (opts.weights === null && !v.quiet) io.stderr.write('serve: no --weights given: serving the untrained (randomly initialised) model\n');
  const server = await serve(model as DemoModelName, opts);
  if (!v.quiet) io.stderr.write(`serve: ${server.name} (${server.info().parameters.toLocaleString('en-US')} parameters) listening on ${server.url}\n`);
  return server;
}

/** `wattgrad serve`: runs until SIGTERM/SIGINT (drains, exit 0); SIGHUP reloads the weights. */
export async function serveCommand(args: string[], io: ServeCliIO): Promise<number> {
  let server: ModelServer | null;
  try {
    server = await startServeCommand(args, io);
  } catch (e) {
    if (e instanceof ServeUsageError || e instanceof RangeError || e instanceof TypeError) {
      io.stderr.write(`wattgrad: ${(e as Error).message}\n`);
      return 2;
    }
    io.stderr.write(`wattgrad: ${(e as Error).message}\n`);
    return 1;
  }
  if (server === null) return 0;
  const s = server;
  return await new Promise<number>((resolve) => {
    const stop = (sig: string): void => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      io.stderr.write(`serve: ${sig}: draining\n`);
      s.close().then(() => { io.stderr.write('serve: stopped\n'); resolve(0); }, (e: Error) => { io.stderr.write(`serve: ${e.message}\n`); resolve(1); });
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    const onHup = (): void => {
      s.reload().then(
        (i) => io.stderr.write(`serve: SIGHUP: reloaded ${i.weights} (version ${i.version})\n`),
        (e: Error) => io.stderr.write(`serve: SIGHUP: reload failed, still serving version ${s.info().version}: ${e.message}\n`),
      );
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);
  });
}
