// The model server in this process: a real fastify server on a free localhost port, a small model
// run in-process, requests over real HTTP (fetch).

import fs from 'node:fs';
import { once } from 'node:events';
import net from 'node:net';
import os from 'node:os';
import { Writable } from 'node:stream';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { serve, type ModelServer } from '../../lib/serve/index.js';
import { burst } from './helpers.js';

const { nn } = wg;

function makeModel(seed: number): wg.nn.Sequential {
  wg.manualSeed(seed);
  return new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Linear(8, 3));
}

/** model.forward on the same rows, as plain arrays */
function expected(model: wg.nn.Module, rows: number[][]): number[][] {
  return wg.noGrad(() => wg.tidy(() => (model.forward(wg.tensor(rows)) as wg.Tensor).toArray() as number[][]));
}

const randRows = (n: number, seed: number): number[][] => {
  let s = seed;
  const r = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  return Array.from({ length: n }, () => Array.from({ length: 6 }, () => Number(r().toFixed(4))));
};

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<Response> {
  if (body === null) return fetch(url, { method: 'POST' }); // no body, no content type (curl -X POST)
  return fetch(url, {
    method: 'POST',
    headers,
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

/** A model that takes `ms` of wall time per batch (busy), so that requests pile up behind it. */
class SlowModel extends nn.Module {
  /** the next batch takes this long instead (once) */
  nextMs: number | null = null;
  constructor(private readonly ms: number) {
    super();
  }
  forward(x: wg.Tensor): wg.Tensor {
    const until = performance.now() + (this.nextMs ?? this.ms);
    this.nextMs = null;
    while (performance.now() < until) {
      /* busy, like a big model */
    }
    return wg.mul(x, 2);
  }
}

function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(labels) && !l.startsWith('#'));
  return line === undefined ? NaN : Number(line.split(' ').pop());
}

describe('serve (in-process model)', () => {
  let server: ModelServer;
  let model: wg.nn.Sequential;
  let predictUrl: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-serve-'));
  const weights = path.join(tmp, 'w.safetensors');

  beforeAll(async () => {
    model = makeModel(1);
    wg.save(weights, model.stateDict());
    server = await serve(model, { name: 'tiny', inputShape: [6], weights, port: 0, maxBatch: 16, maxDelayMs: 50 });
    predictUrl = `${server.url}/v1/models/tiny:predict`;
  });
  afterAll(async () => {
    await server.close();
    model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('predicts exactly what model.forward gives (JSON), with energy headers', async () => {
    const rows = randRows(5, 7);
    const res = await post(predictUrl, { instances: rows });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { predictions: number[][] };
    const want = expected(model, rows);
    expect(body.predictions.length).toBe(5);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 3; j++) expect(body.predictions[i]![j]!).toBeCloseTo(want[i]![j]!, 6);
    // no RAPL/NVML here → estimated; with a counter → measured. Either way a positive number and its label
    const kind = res.headers.get('x-wattgrad-energy');
    expect(['measured', 'estimated']).toContain(kind);
    expect(Number(res.headers.get('x-wattgrad-joules'))).toBeGreaterThan(0);
    expect(res.headers.get('x-wattgrad-energy-method')).toMatch(kind === 'estimated' ? /^estimate \(cpu 10 W\)/ : /rapl|nvml/);
    expect(res.headers.get('x-wattgrad-model-version')).toBe('1');
  });

  it('takes and returns the binary form (raw float32 with x-wattgrad-shape)', async () => {
    const rows = randRows(3, 11);
    const buf = Float32Array.from(rows.flat());
    const res = await post(predictUrl, new Uint8Array(buf.buffer), {
      'content-type': 'application/octet-stream',
      'x-wattgrad-shape': '3,6',
      accept: 'application/octet-stream',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-wattgrad-shape')).toBe('3,3');
    const out = new Float32Array(await res.arrayBuffer());
    const want = expected(
      model,
      rows.map((r) => r.map((v) => Math.fround(v))),
    );
    expect(out.length).toBe(9);
    for (let i = 0; i < 9; i++) expect(out[i]!).toBeCloseTo(want[Math.floor(i / 3)]![i % 3]!, 5);
  });

  it('accepts a flat instance for a nested input shape and serves metadata, health and readiness', async () => {
    const meta = (await (await fetch(`${server.url}/v1/models/tiny`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      name: 'tiny',
      inputShape: [6],
      inputDtype: 'float32',
      outputShape: [3],
      parameters: 6 * 8 + 8 + 8 * 3 + 3,
      version: 1,
    });
    expect((meta.model_version_status as { state: string }[])[0]!.state).toBe('AVAILABLE');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it('merges concurrent requests into batches (batch-size histogram, response headers)', async () => {
    const before = await (await fetch(`${server.url}/metrics`)).text();
    const batchesBefore = metricValue(before, 'wattgrad_batch_size_count');
    const rows = randRows(32, 3);
    const responses = await Promise.all(rows.map((r) => post(predictUrl, { instances: [r] })));
    expect(responses.every((r) => r.status === 200)).toBe(true);
    const sizes = responses.map((r) => Number(r.headers.get('x-wattgrad-batch-size')));
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(16);
    // each response is its own row of the batch
    const want = expected(model, rows);
    for (let i = 0; i < 32; i++) {
      const p = ((await responses[i]!.json()) as { predictions: number[][] }).predictions[0]!;
      for (let j = 0; j < 3; j++) expect(p[j]!).toBeCloseTo(want[i]![j]!, 6);
    }
    const after = await (await fetch(`${server.url}/metrics`)).text();
    const batches = metricValue(after, 'wattgrad_batch_size_count') - batchesBefore;
    expect(batches).toBeLessThan(32);
    expect(metricValue(after, 'wattgrad_batch_size_sum') - metricValue(before, 'wattgrad_batch_size_sum')).toBe(32);
    expect(after).toMatch(/wattgrad_requests_total\{model="tiny",status="200"\} \d+/);
    expect(after).toMatch(/wattgrad_request_duration_seconds_bucket/);
    expect(after).toMatch(/wattgrad_queue_depth\{model="tiny"\} 0/);
    expect(after).toMatch(/wattgrad_joules_total\{model="tiny",kind="(estimated|measured)"\} [0-9.e-]+/);
    expect(after).toMatch(/wattgrad_request_joules_count/);
    expect(after).toMatch(/process_resident_memory_bytes/);
  });

  const bad: Array<[string, string | Uint8Array, Record<string, string>, RegExp]> = [
    ['malformed JSON', '{"instances": [[1, 2', { 'content-type': 'application/json' }, /malformed JSON/],
    ['NaN literal', '{"instances": [[NaN, 1, 2, 3, 4, 5]]}', { 'content-type': 'application/json' }, /malformed JSON/],
    [
      'Infinity (1e999)',
      '{"instances": [[1e999, 1, 2, 3, 4, 5]]}',
      { 'content-type': 'application/json' },
      /instances\[0\]\[0\] is Infinity; expected a finite number/,
    ],
    [
      'a string value',
      '{"instances": [[1, "2", 3, 4, 5, 6]]}',
      { 'content-type': 'application/json' },
      /instances\[0\]\[1\] is the string "2"; expected a number/,
    ],
    ['null value', '{"instances": [[1, null, 3, 4, 5, 6]]}', { 'content-type': 'application/json' }, /instances\[0\]\[1\] is null/],
    [
      'wrong number of features',
      '{"instances": [[1, 2, 3]]}',
      { 'content-type': 'application/json' },
      /instances\[0\] has 3 entries; expected 6/,
    ],
    ['empty instances', '{"instances": []}', { 'content-type': 'application/json' }, /"instances" is empty/],
    ['no instances', '{"inputs": [[1]]}', { 'content-type': 'application/json' }, /unknown field 'inputs'.*columnar/],
    ['instances not an array', '{"instances": 5}', { 'content-type': 'application/json' }, /"instances" is number; expected an array/],
    ['body not an object', '[1, 2]', { 'content-type': 'application/json' }, /must be a JSON object/],
    ['empty JSON body', '', { 'content-type': 'application/json' }, /malformed JSON/],
    [
      'too many instances',
      JSON.stringify({ instances: Array.from({ length: 1025 }, () => [1, 2, 3, 4, 5, 6]) }),
      { 'content-type': 'application/json' },
      /1025 instances in one request; the limit is 1024/,
    ],
    [
      'binary length mismatch',
      new Uint8Array(20),
      { 'content-type': 'application/octet-stream', 'x-wattgrad-shape': '1,6' },
      /has 20 bytes; shape \(1, 6\) of float32 needs 24 bytes/,
    ],
    ['binary without shape', new Uint8Array(24), { 'content-type': 'application/octet-stream' }, /needs the header x-wattgrad-shape: N,6/],
    [
      'binary wrong shape',
      new Uint8Array(24),
      { 'content-type': 'application/octet-stream', 'x-wattgrad-shape': '2,3' },
      /does not fit the model: expected \(N, 6\)/,
    ],
    [
      'binary NaN',
      new Uint8Array(new Float32Array([1, NaN, 3, 4, 5, 6]).buffer),
      { 'content-type': 'application/octet-stream', 'x-wattgrad-shape': '1,6' },
      /value 1 of the binary body is NaN/,
    ],
    ['unsupported content type', 'x=1', { 'content-type': 'text/plain' }, /unsupported content type 'text\/plain'/],
  ];
  for (const [what, body, headers, msg] of bad) {
    it(`bad input → 400 naming it: ${what}`, async () => {
      const res = await post(predictUrl, body, headers);
      const text = await res.text();
      expect(res.status, text).toBe(what === 'unsupported content type' ? 415 : 400);
      expect((JSON.parse(text) as { error: string }).error).toMatch(msg);
    });
  }

  it('unknown model → 404, unknown verb → 404, oversized body → 413; the server stays up', async () => {
    const r1 = await post(`${server.url}/v1/models/nope:predict`, { instances: [[1, 2, 3, 4, 5, 6]] });
    expect(r1.status).toBe(404);
    expect(((await r1.json()) as { error: string }).error).toMatch(/unknown model 'nope'; this server serves 'tiny'/);
    expect((await fetch(`${server.url}/v1/models/nope`)).status).toBe(404);
    expect((await post(`${server.url}/v1/models/tiny:explain`, {})).status).toBe(404);
    const big = await post(predictUrl, '{"instances": [' + '[1,2,3,4,5,6],'.repeat(1_300_000) + '[1,2,3,4,5,6]]}');
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toMatch(/larger than the limit of 16777216 bytes/);
    const ok = await post(predictUrl, { instances: [[1, 2, 3, 4, 5, 6]] });
    expect(ok.status).toBe(200);
    const m = await (await fetch(`${server.url}/metrics`)).text();
    expect(m).not.toMatch(/status="5\d\d"/);
  });

  it('hot reload under load: every request answered, then the new weights; a bad file keeps the old model', async () => {
    const rows = randRows(4, 5);
    const before = expected(model, rows);
    const next = makeModel(2);
    const nextWant = expected(next, rows);
    // load in the background while the file is replaced and reloaded
    let stop = false;
    let rounds = 0;
    let olds = 0;
    let news = 0;
    const codes: number[] = [];
    const until = async (cond: () => boolean): Promise<void> => {
      while (!cond()) await new Promise((r) => setTimeout(r, 5));
    };
    const load = (async () => {
      for (; !stop; rounds++) {
        const rs = await Promise.all([0, 1, 2, 3].map((i) => post(predictUrl, { instances: [rows[i]] })));
        for (const r of rs) {
          codes.push(r.status);
          const p = ((await r.json()) as { predictions: number[][] }).predictions[0]!;
          const i = rs.indexOf(r);
          // every answer is entirely the old model or entirely the new one, never a mix
          const isOld = p.every((v, j) => Math.abs(v - before[i]![j]!) < 1e-5);
          const isNew = p.every((v, j) => Math.abs(v - nextWant[i]![j]!) < 1e-5);
          expect(isOld || isNew).toBe(true);
          if (isOld) olds++;
          else news++;
        }
      }
    })();
    await until(() => rounds >= 3);
    wg.save(weights, next.stateDict());
    const rr = await post(`${server.url}/v1/models/tiny:reload`, null);
    expect(rr.status).toBe(200);
    expect(((await rr.json()) as { version: number }).version).toBe(2);
    const atReload = rounds;
    await until(() => rounds >= atReload + 3);
    stop = true;
    await load;
    expect(codes.length).toBeGreaterThanOrEqual(24);
    expect(olds).toBeGreaterThanOrEqual(12); // answers from before the switch …
    expect(news).toBeGreaterThanOrEqual(8); // … and after it, in the same stream of requests
    expect(codes.every((c) => c === 200)).toBe(true);
    const after = ((await (await post(predictUrl, { instances: rows })).json()) as { predictions: number[][] }).predictions;
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) expect(after[i]![j]!).toBeCloseTo(nextWant[i]![j]!, 5);

    // a checkpoint that does not fit: 409, still version 2, same answers
    const wrong = new nn.Linear(6, 4);
    wg.save(weights, wrong.stateDict());
    const bad = await post(`${server.url}/v1/models/tiny:reload`, null);
    expect(bad.status).toBe(409);
    expect(((await bad.json()) as { error: string }).error).toMatch(/reload failed, still serving version 2: .*does not fit the model/);
    fs.writeFileSync(weights, 'not a safetensors file');
    expect((await post(`${server.url}/v1/models/tiny:reload`, null)).status).toBe(409);
    const still = ((await (await post(predictUrl, { instances: rows })).json()) as { predictions: number[][] }).predictions;
    for (let i = 0; i < 4; i++) for (let j = 0; j < 3; j++) expect(still[i]![j]!).toBeCloseTo(nextWant[i]![j]!, 5);
    expect(server.info().version).toBe(2);
    next.dispose();
    wrong.dispose();
  });
});

describe('serve: overload and limits', () => {
  it('past the queue bound answers 503 with Retry-After, then recovers', async () => {
    const model = new SlowModel(10);
    // one-row batches and a 2-row queue: at most 2 batches in flight (PIPELINE_DEPTH) + 2 rows waiting
    const server = await serve(model, { inputShape: [4], port: 0, maxBatch: 1, maxDelayMs: 0, maxQueue: 2 });
    try {
      const url = `${server.url}/v1/models/model:predict`;
      // the first batch holds the thread for 1.5 s: the other 59 requests (sent from another process)
      // all arrive meanwhile. When it ends the server does not read them all in one event-loop turn: on
      // a loaded machine ~10 in the first turn, then one per turn between the in-process engine's
      // batches, which a bound of 8 rows behind 2 batches of 4 sometimes absorbed (no 503); 4 rows of room do not.
      model.nextMs = 1500;
      const out = await burst(url, 60, { instances: [[1, 2, 3, 4]] });
      const codes = out.statuses;
      expect(codes.filter((c) => c === 503).length).toBeGreaterThan(0);
      expect(codes.filter((c) => c === 200).length).toBeGreaterThan(0);
      expect(
        codes.every((c) => c === 200 || c === 503),
        JSON.stringify(out.errors),
      ).toBe(true);
      const i503 = codes.indexOf(503);
      expect(out.retryAfter[i503]).toBe('1');
      expect((JSON.parse(out.bodies[i503]!) as { error: string }).error).toMatch(/queue is full \(\d+ of 2 rows waiting\)/);
      // recovered: the queue drained, a new request is served
      const ok = await post(url, { instances: [[1, 2, 3, 4]] });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { predictions: number[][] }).predictions).toEqual([[2, 4, 6, 8]]);
      const m = await (await fetch(`${server.url}/metrics`)).text();
      expect(m).toMatch(/wattgrad_requests_total\{model="model",status="503"\} [1-9]/);
      expect(m).toMatch(/wattgrad_queue_depth\{model="model"\} 0/);
    } finally {
      await server.close();
      model.dispose();
    }
  });

  it('close() drains: every request the server received is answered, none lost', async () => {
    const model = new SlowModel(20);
    const server = await serve(model, { inputShape: [4], port: 0, maxBatch: 8, maxDelayMs: 2 });
    const url = `${server.url}/v1/models/model:predict`;
    const client = burst(url, 40, { instances: [[1, 2, 3, 4]] });
    // close once requests are inside the server (queued or running)
    while ((await server.metrics.inflight.get()).values.every((v) => v.value === 0)) await new Promise((r) => setTimeout(r, 1));
    await server.close();
    const out = await client;
    const served = out.statuses.filter((c) => c === 200).length;
    expect(served).toBeGreaterThan(0);
    // the rest were refused at the door (503 while draining, or no connection), never dropped mid-request
    for (let i = 0; i < 40; i++) {
      const c = out.statuses[i]!;
      if (c === 0) expect(out.errors[i]).toMatch(/ECONNREFUSED|ECONNRESET|EPIPE/);
      else expect([200, 503]).toContain(c);
    }
    // what the server counted as answered 200 is exactly what the client received
    const counted = (await server.metrics.requests.get()).values.filter((v) => v.labels.status === '200').reduce((a, v) => a + v.value, 0);
    expect(counted).toBe(served);
    expect((await server.metrics.inflight.get()).values.every((v) => v.value === 0)).toBe(true);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    model.dispose();
  });

  it('a request that arrives while close() drains gets our 503 with Retry-After, counted in /metrics and logged', async () => {
    const model = new nn.Linear(4, 2);
    const lines: { url: string; status: number }[] = [];
    const log = new Writable({
      write(chunk: Buffer, _enc, cb): void {
        for (const l of chunk.toString().trim().split('\n')) lines.push(JSON.parse(l) as { url: string; status: number });
        cb();
      },
    });
    const server = await serve(model, { inputShape: [4], port: 0, logRequests: log });
    // a connection that has begun its request (headers unfinished) before close(): not idle, so it stays open
    const sock = net.connect(server.port, '127.0.0.1');
    await once(sock, 'connect');
    sock.write('POST /v1/models/model:predict HTTP/1.1\r\nHost: localhost\r\n');
    await new Promise((r) => setTimeout(r, 50)); // the server has read the first bytes
    const closed = server.close();
    // the listener is gone only after the routes are marked closing: from then on the request is "late"
    for (;;) {
      const probe = net.connect(server.port, '127.0.0.1');
      const refused = await new Promise<boolean>((resolve) => {
        probe.once('error', () => resolve(true));
        probe.once('connect', () => resolve(false));
      });
      probe.destroy();
      if (refused) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const body = JSON.stringify({ instances: [[1, 2, 3, 4]] });
    let text = '';
    sock.on('data', (d: Buffer) => {
      text += d.toString();
    });
    sock.write(`content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
    await Promise.all([once(sock, 'close'), closed]);
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(text).toMatch(/"error":"the server is shutting down"/);
    const counted = (await server.metrics.requests.get()).values.filter((v) => v.labels.status === '503');
    expect(counted.reduce((a, v) => a + v.value, 0)).toBe(1);
    expect(lines.filter((l) => l.url.endsWith(':predict')).map((l) => l.status)).toEqual([503]);
    model.dispose();
  });

  it('rejects bad options with a clear message', async () => {
    const model = new nn.Linear(2, 2);
    await expect(serve(model, { inputShape: [2], maxBatch: 0 })).rejects.toThrow(/serve: invalid maxBatch 0/);
    await expect(serve(model, { inputShape: [2], maxBach: 4 } as never)).rejects.toThrow(
      /unknown option 'maxBach' — did you mean 'maxBatch'\?/,
    );
    await expect(serve(model, {})).rejects.toThrow(/inputShape must be one instance's shape/);
    await expect(serve('mnist-xyz' as never)).rejects.toThrow(/unknown model 'mnist-xyz'/);
    model.dispose();
  });
});
