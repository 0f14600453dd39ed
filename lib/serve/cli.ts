// `wattgrad serve`: a demo model's checkpoint behind the HTTP server, until SIGTERM/SIGINT.
//   wattgrad serve --model mnist-cnn --weights ckpt.safetensors [--port 8080 --host 127.0.0.1
//                  --max-batch 64 --max-delay-ms 5 --device cpu|cuda --cpu-watts W --log-json --quantized]
// SIGHUP reloads the weights file (an atomic switch; a bad file keeps the old model).

import { FlagError, numberFlag, parseFlags, type FlagSpec, type Range } from '../options.js';
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
  --quantized           serve an int8 copy (dynamic quantization of the Linear layers; cpu only)
  --cpu-watts W         CPU power to assume where no energy counter exists (labelled estimated; default 10)
  --log-json            one JSON line per request on stdout
  --quiet               no start/stop lines
`;

const FLAGS: Record<string, FlagSpec> = {
  model: { type: 'string' },
  weights: { type: 'string' },
  name: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'max-batch': { type: 'string' },
  'max-delay-ms': { type: 'string' },
  'max-queue': { type: 'string' },
  'max-instances': { type: 'string' },
  'request-timeout-ms': { type: 'string' },
  'body-limit': { type: 'string' },
  device: { type: 'string' },
  'cpu-watts': { type: 'string' },
  'log-json': { type: 'boolean' },
  quantized: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export class ServeUsageError extends Error {}

const INT = { min: 0, integer: true } as const;
const COUNT = { min: 1, integer: true } as const;
const num = (name: string, raw: string | boolean | string[] | undefined, range: Range): number | undefined =>
  numberFlag('serve', name, raw, range);

export interface ServeCliIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

/** Parses the flags and starts the server; resolves with the server (tests) — the caller waits for stop(). */
export async function startServeCommand(args: string[], io: ServeCliIO): Promise<ModelServer | null> {
  let parsed;
  try {
    parsed = parseFlags('serve', args, FLAGS);
  } catch (e) {
    throw new ServeUsageError(`${(e as Error).message} (wattgrad serve --help)`);
  }
  const v = parsed.values;
  if (v.help) {
    io.stdout.write(SERVE_USAGE);
    return null;
  }
  const model = v.model as string | undefined;
  if (model === undefined) throw new ServeUsageError('serve: --model is required (mnist-mlp, mnist-cnn or mnist-lstm)');
  if (!['mnist-mlp', 'mnist-cnn', 'mnist-lstm'].includes(model))
    throw new ServeUsageError(`serve: unknown model '${model}' (mnist-mlp, mnist-cnn, mnist-lstm)`);
  const cpuWatts = num('cpu-watts', v['cpu-watts'], { min: 0 });
  const opts = {
    name: v.name as string | undefined,
    weights: (v.weights as string | undefined) ?? null,
    port: num('port', v.port, INT),
    host: v.host as string | undefined,
    maxBatch: num('max-batch', v['max-batch'], COUNT),
    maxDelayMs: num('max-delay-ms', v['max-delay-ms'], { min: 0 }),
    maxQueue: num('max-queue', v['max-queue'], COUNT),
    maxInstances: num('max-instances', v['max-instances'], COUNT),
    requestTimeoutMs: num('request-timeout-ms', v['request-timeout-ms'], COUNT),
    bodyLimit: num('body-limit', v['body-limit'], COUNT),
    device: v.device as string | undefined,
    logRequests: v['log-json'] === true,
    quantized: v.quantized === true ? true : undefined,
    ...(cpuWatts === undefined ? {} : { energy: { cpuWatts } }),
  };
  for (const k of Object.keys(opts) as (keyof typeof opts)[]) if (opts[k] === undefined) delete opts[k];
  if (opts.weights === null && !v.quiet) io.stderr.write('serve: no --weights given: serving the untrained (randomly initialised) model\n');
  const server = await serve(model as DemoModelName, opts);
  if (!v.quiet)
    io.stderr.write(
      `serve: ${server.name} (${server.info().parameters.toLocaleString('en-US')} parameters${server.info().quantized ? `, ${server.info().quantized}` : ''}) listening on ${server.url}\n`,
    );
  return server;
}

/** `wattgrad serve`: runs until SIGTERM/SIGINT (drains, exit 0); SIGHUP reloads the weights. */
export async function serveCommand(args: string[], io: ServeCliIO): Promise<number> {
  let server: ModelServer | null;
  try {
    server = await startServeCommand(args, io);
  } catch (e) {
    if (e instanceof ServeUsageError || e instanceof FlagError || e instanceof RangeError || e instanceof TypeError) {
      io.stderr.write(`wattgrad: ${(e as Error).message}\n`);
      return 2;
    }
    io.stderr.write(`wattgrad: ${(e as Error).message}\n`);
    return 1;
  }
  if (server === null) return 0;
  const s = server;
  return await new Promise<number>((resolve) => {
    let draining = false;
    const done = (code: number): void => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      resolve(code);
    };
    const stop = (sig: string): void => {
      if (draining) {
        // a second SIGINT (Ctrl-C twice) gives up on the drain; a repeated SIGTERM is ignored
        if (sig === 'SIGINT') {
          io.stderr.write('serve: SIGINT again: exiting without draining\n');
          done(130);
        }
        return;
      }
      draining = true;
      io.stderr.write(`serve: ${sig}: draining (no new requests; answering the ones received)\n`);
      s.close().then(
        () => {
          io.stderr.write('serve: stopped\n');
          done(0);
        },
        (e: Error) => {
          io.stderr.write(`serve: ${e.message}\n`);
          done(1);
        },
      );
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
