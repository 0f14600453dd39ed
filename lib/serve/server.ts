// `serve(model, options)`: an HTTP inference server for a trained model, on fastify.
//
//   POST /v1/models/{name}:predict   {"instances": [...]} → {"predictions": [...]} (TF Serving's row
//                                    format), or a raw float32 body with x-wattgrad-shape: N,d1,…
//   POST /v1/models/{name}:reload    re-reads the weights file and switches atomically
//   GET  /v1/models/{name}           metadata (input shape, dtype, parameters, version)
//   GET  /healthz, /readyz           liveness; readiness (503 while starting or draining)
//   GET  /metrics                    Prometheus text format (prom-client)
//
// Requests are parsed and validated on the HTTP thread, then queued in a DynamicBatcher; batches
// run on the engine (a worker thread for demo models and factory modules, this thread for a
// Module instance). Each response carries its share of the batch's energy (x-wattgrad-joules,
// x-wattgrad-energy: measured | estimated | unavailable).

import type { Writable } from 'node:stream';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import { DynamicBatcher, QueueFullError, QueueTimeoutError, type RequestResult } from './batcher.js';
import {
  InProcessEngine,
  WorkerEngine,
  type Engine,
  type EnergyOptions,
  type InputDType,
  type ModelInfo,
  type ModelSpec,
} from './engine.js';
import { ServeMetrics } from './metrics.js';
import { checkOptions, nonNegative, nonNegativeInt, positiveInt, type OptionKeys } from '../options.js';
import { parseBinaryBody, parseJsonBody, parseJsonBytes } from './parse.js';
import { nest } from '../tensor.js';
import type { ModelLike } from '../train/types.js';

export type DemoModelName = 'mnist-mlp' | 'mnist-cnn' | 'mnist-lstm';

export interface ServeOptions {
  /** the model's name in URLs (default: the demo name, else 'model') */
  name?: string;
  /** one instance's shape, without the batch dimension (default [1, 28, 28] for the demo models) */
  inputShape?: number[];
  inputDtype?: InputDType;
  /** a wattgrad checkpoint or a safetensors state dict; reload re-reads it */
  weights?: string | null;
  /** default 8080; 0 picks a free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** most rows per batch (default 64); 1 turns batching off */
  maxBatch?: number;
  /** longest a request waits for others to join its batch (default 5 ms) */
  maxDelayMs?: number;
  /** rows that may wait before new requests get 503 (default 16 × maxBatch) */
  maxQueue?: number;
  /** most instances in one request (default 1024) */
  maxInstances?: number;
  /** largest request body, bytes (default 16 MiB) */
  bodyLimit?: number;
  /** a request not answered after this long gets 503 (default 30 s) */
  requestTimeoutMs?: number;
  device?: string;
  /** energy estimates where no counter exists (labelled estimated) */
  energy?: EnergyOptions;
  /** one JSON line per request: true for stdout, or a stream */
  logRequests?: boolean | Writable;
  /** run the model in a worker thread (default: true for demo names and factory specs; a Module instance always runs in this thread) */
  worker?: boolean;
  /** serve an int8 copy: quantization.quantizeDynamic after the float weights load, before the warm-up (cpu only; default false) */
  quantized?: boolean;
}

export interface ModelServer {
  readonly url: string;
  readonly port: number;
  readonly name: string;
  readonly app: FastifyInstance;
  readonly metrics: ServeMetrics;
  info(): ModelInfo;
  /** loads the weights file again (or another file) and switches between two batches */
  reload(weights?: string): Promise<ModelInfo>;
  /** stops accepting, answers every request already received, then shuts the engine down */
  close(): Promise<void>;
}

const DEMOS = new Set<DemoModelName>(['mnist-mlp', 'mnist-cnn', 'mnist-lstm']);
/** assumed draw of the one busy core that computes, for estimates where no counter exists (labelled estimated) */
export const DEFAULT_CPU_WATTS_PER_CORE = 10;

const SERVE_KEYS: OptionKeys<ServeOptions> = {
  name: true,
  inputShape: true,
  inputDtype: true,
  weights: true,
  port: true,
  host: true,
  maxBatch: true,
  maxDelayMs: true,
  maxQueue: true,
  maxInstances: true,
  bodyLimit: true,
  requestTimeoutMs: true,
  device: true,
  energy: true,
  logRequests: true,
  worker: true,
  quantized: true,
};

export async function serve(model: ModelLike | DemoModelName | ModelSpec, options: ServeOptions = {}): Promise<ModelServer> {
  checkOptions('serve', options, SERVE_KEYS);
  checkOptions('serve: energy', options.energy, { cpuWatts: true, gpuWatts: true });
  const isDemo = typeof model === 'string';
  if (isDemo && !DEMOS.has(model)) throw new RangeError(`serve: unknown model '${model}' (demo models: ${[...DEMOS].join(', ')})`);
  const spec: ModelSpec | null = isDemo ? { demo: model } : 'forward' in model ? null : model;
  const name = options.name ?? (isDemo ? model : 'model');
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new RangeError(`serve: model name '${name}' may use letters, digits, '.', '_' and '-' only`);
  const inputShape = options.inputShape ?? (isDemo ? [1, 28, 28] : undefined);
  if (!inputShape || !Array.isArray(inputShape) || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(
      `serve: inputShape must be one instance's shape without the batch dimension, e.g. [1, 28, 28]; got ${JSON.stringify(inputShape)}`,
    );
  }
  const inputDtype = options.inputDtype ?? 'float32';
  if (inputDtype !== 'float32' && inputDtype !== 'int32')
    throw new RangeError(`serve: inputDtype must be 'float32' or 'int32', got '${String(inputDtype)}'`);
  const maxBatch = positiveInt('serve', 'maxBatch', options.maxBatch, 64);
  const maxDelayMs = nonNegative('serve', 'maxDelayMs', options.maxDelayMs, 5);
  const maxQueue = positiveInt('serve', 'maxQueue', options.maxQueue, 16 * maxBatch);
  const maxInstances = positiveInt('serve', 'maxInstances', options.maxInstances, 1024);
  const bodyLimit = positiveInt('serve', 'bodyLimit', options.bodyLimit, 16 * 1024 * 1024);
  const requestTimeoutMs = positiveInt('serve', 'requestTimeoutMs', options.requestTimeoutMs, 30_000);
  const port = nonNegativeInt('serve', 'port', options.port, 8080);
  if (port > 65535) throw new RangeError(`serve: invalid port ${port} (must be 0..65535)`);
  const host = options.host ?? '127.0.0.1';
  const device = options.device ?? 'cpu';
  // one thread computes: without a counter, the estimate is one busy core's draw unless told otherwise
  const energy: EnergyOptions = { cpuWatts: DEFAULT_CPU_WATTS_PER_CORE, ...options.energy };
  if (options.quantized !== undefined && typeof options.quantized !== 'boolean')
    throw new TypeError(`serve: quantized must be true or false, got ${typeof options.quantized}`);
  const cfg = { inputShape, inputDtype, device, weights: options.weights ?? null, energy, quantized: options.quantized === true };

  const engine: Engine =
    spec && options.worker !== false
      ? await WorkerEngine.start(spec, cfg)
      : await (async () => {
          if (spec) {
            const { buildFromSpec } = await import('./spec.js');
            return new InProcessEngine(await buildFromSpec(spec), cfg);
          }
          return new InProcessEngine(model as ModelLike, cfg);
        })();

  const metrics = new ServeMetrics(maxBatch);
  const labels = { model: name };
  const batcher = new DynamicBatcher(
    engine,
    { maxBatch, maxDelayMs, maxQueue, queueTimeoutMs: requestTimeoutMs },
    {
      onBatch: (rows, r) => {
        metrics.batchSize.observe(labels, rows);
        metrics.batchSeconds.observe(labels, r.seconds);
        if (r.energy.joules !== null)
          metrics.joules.inc({ model: name, kind: r.energy.estimated ? 'estimated' : 'measured' }, r.energy.joules);
      },
      onQueueDepth: (rows) => metrics.queueDepth.set(labels, rows),
    },
  );

  const logStream: Writable | null = options.logRequests === true ? process.stdout : options.logRequests ? options.logRequests : null;
  const app = Fastify({
    bodyLimit,
    requestTimeout: requestTimeoutMs,
    logger: false,
    // while closing, requests still arriving on open connections reach the predict route, which answers
    // 503 + Retry-After itself (and counts and logs it); fastify's own closing 503 skips the hooks: no
    // metrics, no log line, no Retry-After
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  let ready = true;
  let draining = false;

  app.removeContentTypeParser(['text/plain', 'application/json']); // JSON or binary only: anything else is 415
  // JSON bodies stay bytes: parseJsonBytes reads the usual predict body straight into a Float32Array
  app.addContentTypeParser(['application/json'], { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  app.addContentTypeParser(['application/octet-stream'], { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: FastifyError | Error, _req, reply) => {
    if (err instanceof QueueFullError || err instanceof QueueTimeoutError) {
      void reply.code(503).header('retry-after', '1').send({ error: err.message });
      return;
    }
    const code = (err as FastifyError).statusCode;
    if (code !== undefined && code >= 400 && code < 500) {
      const msg =
        (err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `the request body is larger than the limit of ${bodyLimit} bytes`
          : (err as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
            ? `unsupported content type '${String(_req.headers['content-type'])}'; send application/json or application/octet-stream`
            : (err as FastifyError).code?.startsWith('FST_ERR_CTP') || err instanceof SyntaxError
              ? `malformed JSON body: ${err.message}`
              : err.message;
      void reply.code(code).send({ error: msg });
      return;
    }
    void reply.code(500).send({ error: err.message });
  });

  // hooks in callback form (no promise per request); the latency is fastify's own clock (reply.elapsedTime:
  // from routing to the response's 'finish')
  const predictLatency = metrics.latency.labels(name);
  app.addHook('onResponse', (req, reply, done) => {
    const isPredict = req.url.endsWith(':predict');
    const ms = reply.elapsedTime;
    if (isPredict) {
      metrics.requests.inc({ model: name, status: String(reply.statusCode) });
      predictLatency.observe(ms / 1000);
    }
    if (logStream) {
      const line = {
        time: new Date().toISOString(),
        method: req.method,
        url: req.url,
        status: reply.statusCode,
        ms: Number(ms.toFixed(3)),
        instances: reply.getHeader('x-wattgrad-instances') === undefined ? undefined : Number(reply.getHeader('x-wattgrad-instances')),
        batchSize: reply.getHeader('x-wattgrad-batch-size') === undefined ? undefined : Number(reply.getHeader('x-wattgrad-batch-size')),
        joules: reply.getHeader('x-wattgrad-joules'),
      };
      logStream.write(JSON.stringify(line) + '\n');
    }
    done();
  });

  // while draining, every response closes its connection, so keep-alive clients don't hold close() up
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (draining) void reply.header('connection', 'close');
    done(null, payload);
  });

  const unknown = (reply: FastifyReply, got: string): FastifyReply =>
    reply.code(404).send({ error: `unknown model '${got}'; this server serves '${name}' (GET /v1/models/${name})` });

  const metadata = (): Record<string, unknown> => {
    const i = engine.info;
    return {
      model_version_status: [
        { version: String(i.version), state: draining ? 'END' : 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      ],
      name,
      version: i.version,
      inputShape: i.inputShape,
      inputDtype: i.inputDtype,
      outputShape: i.outputShape,
      parameters: i.parameters,
      device: i.device,
      weights: i.weights,
      quantized: i.quantized,
      maxBatch,
      maxDelayMs,
      maxInstances,
    };
  };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) =>
    ready && !draining ? { status: 'ready' } : reply.code(503).send({ status: draining ? 'draining' : 'starting' }),
  );
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  app.get<{ Params: { model: string } }>('/v1/models/:model', async (req, reply) =>
    req.params.model === name ? metadata() : unknown(reply, req.params.model),
  );

  app.post<{ Params: { action: string } }>('/v1/models/:action', async (req, reply) => {
    const spec2 = req.params.action;
    const colon = spec2.lastIndexOf(':');
    const model2 = colon < 0 ? spec2 : spec2.slice(0, colon);
    const verb = colon < 0 ? '' : spec2.slice(colon + 1);
    if (model2 !== name) return unknown(reply, model2);
    if (verb === 'reload') {
      try {
        const i = await engine.reload();
        return { status: 'reloaded', version: i.version, weights: i.weights };
      } catch (e) {
        return reply.code(409).send({ error: `reload failed, still serving version ${engine.info.version}: ${(e as Error).message}` });
      }
    }
    if (verb !== 'predict')
      return reply.code(404).send({ error: `unknown method '${verb}'; use POST /v1/models/${name}:predict or :reload` });
    if (draining) return reply.code(503).header('retry-after', '1').send({ error: 'the server is shutting down' });

    const info = engine.info;
    const ctype = String(req.headers['content-type'] ?? '');
    const parsed = ctype.startsWith('application/octet-stream')
      ? parseBinaryBody(
          req.body as Buffer,
          req.headers['x-wattgrad-shape'] as string | undefined,
          info.inputShape,
          info.inputDtype,
          maxInstances,
        )
      : Buffer.isBuffer(req.body)
        ? parseJsonBytes(req.body, info.inputShape, info.inputDtype, maxInstances)
        : parseJsonBody(req.body, info.inputShape, info.inputDtype, maxInstances); // no body at all
    metrics.inflight.inc(labels);
    let r: RequestResult;
    try {
      r = await batcher.submit(parsed.data, parsed.rows);
    } finally {
      metrics.inflight.dec(labels);
    }
    metrics.instances.inc(labels, parsed.rows);
    const kind = r.energy.joules === null ? 'unavailable' : r.energy.estimated ? 'estimated' : 'measured';
    if (r.energy.joules !== null) metrics.requestJoules.observe({ model: name, kind }, r.energy.joules);
    void reply
      .header('x-wattgrad-joules', r.energy.joules === null ? 'n/a' : r.energy.joules.toPrecision(6))
      .header('x-wattgrad-energy', kind)
      .header('x-wattgrad-energy-method', r.energy.method)
      .header('x-wattgrad-batch-size', String(r.batchRows))
      .header('x-wattgrad-instances', String(parsed.rows))
      .header('x-wattgrad-model-version', String(engine.info.version));
    if (String(req.headers.accept ?? '').startsWith('application/octet-stream')) {
      return reply
        .type('application/octet-stream')
        .header('x-wattgrad-shape', [parsed.rows, ...r.shape].join(','))
        .send(Buffer.from(r.output.buffer, r.output.byteOffset, r.output.byteLength));
    }
    // one row per instance; a per-instance scalar stays a one-element row
    const predictions = nest(r.output, [parsed.rows, ...(r.shape.length === 0 ? [1] : r.shape)]);
    return { predictions };
  });

  try {
    await app.listen({ port, host });
  } catch (e) {
    await engine.close();
    throw new Error(`serve: cannot listen on ${host}:${port}: ${(e as Error).message}`);
  }
  const addr = app.server.address();
  const boundPort = typeof addr === 'object' && addr ? addr.port : port;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    port: boundPort,
    name,
    app,
    metrics,
    info: () => ({ ...engine.info }),
    reload: (w) => engine.reload(w),
    close: () => {
      closing ??= (async () => {
        draining = true;
        ready = false;
        await app.close(); // stops accepting; waits until every received request is answered
        await batcher.idle();
        await engine.close();
      })();
      return closing;
    },
  };
}
