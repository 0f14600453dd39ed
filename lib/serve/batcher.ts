// Dynamic batching, as Triton's dynamic batcher and TorchServe do it: requests wait in a bounded
// queue and run together once `maxBatch` rows are waiting or the oldest has waited `maxDelayMs` —
// or, when the engine is idle, at the end of the event-loop turn that read them (waiting for company
// would only idle it longer). With as many clients as maxBatch, waiting for a full batch made the
// two threads take turns: every client sat in the running batch, the HTTP thread idled through it,
// then the engine idled while the HTTP thread answered and parsed the next 64; now the clients split
// into groups that overlap (mean batch ~32 instead of ~55 for 64 clients and maxBatch 64).
// The engine runs one batch at a time; up to PIPELINE_DEPTH batches are handed to it at once, so
// the next batch is already queued in the engine (the worker's message queue) while one runs:
// the inference thread never idles through a batch's replies, the clients' next requests and the
// batching delay, and the HTTP thread answers one batch while the next computes. A request larger than
// maxBatch runs as a batch of its own. Past `maxQueue` waiting rows a request is refused at once
// (the server answers 503 with Retry-After): the queue never grows without bound.

import type { BatchEnergy, BatchResult, Engine } from './engine.js';

export class QueueFullError extends Error {
  constructor(
    readonly queued: number,
    readonly limit: number,
  ) {
    super(`serve: the queue is full (${queued} of ${limit} rows waiting); retry later`);
    this.name = 'QueueFullError';
  }
}

export class QueueTimeoutError extends Error {
  constructor(readonly waitedMs: number) {
    super(`serve: the request waited ${Math.round(waitedMs)} ms in the queue without being run`);
    this.name = 'QueueTimeoutError';
  }
}

export interface BatcherOptions {
  maxBatch: number;
  maxDelayMs: number;
  /** rows that may wait; default 16 × maxBatch */
  maxQueue: number;
  /** a request that has not started running after this long is failed with QueueTimeoutError */
  queueTimeoutMs: number;
}

export interface RequestResult {
  /** this request's rows of the output */
  output: Float32Array;
  /** per-instance output shape */
  shape: number[];
  /** the batch this request ran in */
  batchRows: number;
  /** this request's share of the batch's energy (rows / batch rows) */
  energy: BatchEnergy;
}

interface Pending {
  input: Float32Array | Int32Array;
  rows: number;
  enqueuedAt: number;
  resolve: (r: RequestResult) => void;
  reject: (e: Error) => void;
}

export interface BatchObserver {
  onBatch?(rows: number, result: BatchResult): void;
  onQueueDepth?(rows: number): void;
}

/** Batches handed to the engine at once (it runs them one after another, in order). */
export const PIPELINE_DEPTH = 2;

export class DynamicBatcher {
  private queue: Pending[] = [];
  private queuedRows = 0;
  /** batches handed to the engine and not yet settled */
  private inFlight = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private idleFlush: ReturnType<typeof setImmediate> | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly engine: Engine,
    private readonly o: BatcherOptions,
    private readonly observer: BatchObserver = {},
  ) {}

  get depth(): number {
    return this.queuedRows;
  }

  /** Queues `rows` rows (row-major in `input`); resolves with this request's rows of the output. */
  submit(input: Float32Array | Int32Array, rows: number): Promise<RequestResult> {
    if (this.queuedRows + rows > this.o.maxQueue && this.queuedRows > 0) {
      return Promise.reject(new QueueFullError(this.queuedRows, this.o.maxQueue));
    }
    return new Promise<RequestResult>((resolve, reject) => {
      this.queue.push({ input, rows, enqueuedAt: performance.now(), resolve, reject });
      this.queuedRows += rows;
      this.observer.onQueueDepth?.(this.queuedRows);
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.inFlight >= PIPELINE_DEPTH || this.queue.length === 0) return;
    if (this.queuedRows >= this.o.maxBatch || this.o.maxDelayMs <= 0) {
      this.flush();
      return;
    }
    if (this.inFlight === 0) {
      // the engine is idle: waiting for the batch to fill would only idle it longer. Run what this
      // event-loop turn has read (setImmediate: after the turn's I/O, so a burst goes together)
      this.idleFlush ??= setImmediate(() => {
        this.idleFlush = null;
        this.flush();
      });
      return;
    }
    if (this.timer !== null) return;
    const waited = performance.now() - this.queue[0]!.enqueuedAt;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.flush();
      },
      Math.max(0, this.o.maxDelayMs - waited),
    );
  }

  private expire(now: number): void {
    const keep: Pending[] = [];
    for (const p of this.queue) {
      if (now - p.enqueuedAt > this.o.queueTimeoutMs) {
        this.queuedRows -= p.rows;
        p.reject(new QueueTimeoutError(now - p.enqueuedAt));
      } else keep.push(p);
    }
    this.queue = keep;
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.idleFlush !== null) {
      clearImmediate(this.idleFlush);
      this.idleFlush = null;
    }
    if (this.inFlight >= PIPELINE_DEPTH) return;
    this.expire(performance.now());
    if (this.queue.length === 0) {
      this.observer.onQueueDepth?.(this.queuedRows);
      this.settleIdle();
      return;
    }
    // take requests in arrival order while they fit (the first always goes, even if larger)
    const batch: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0 && (batch.length === 0 || rows + this.queue[0]!.rows <= this.o.maxBatch)) {
      const p = this.queue.shift()!;
      batch.push(p);
      rows += p.rows;
    }
    this.queuedRows -= rows;
    this.observer.onQueueDepth?.(this.queuedRows);
    this.inFlight++;
    void this.runBatch(batch, rows).finally(() => {
      this.inFlight--;
      if (this.queue.length > 0) this.schedule();
      else this.settleIdle();
    });
  }

  private async runBatch(batch: Pending[], rows: number): Promise<void> {
    const first = batch[0]!.input;
    const per = first.length / batch[0]!.rows;
    const input = first instanceof Int32Array ? new Int32Array(rows * per) : new Float32Array(rows * per);
    let off = 0;
    for (const p of batch) {
      input.set(p.input, off);
      off += p.input.length;
    }
    let result: BatchResult;
    try {
      result = await this.engine.run(input, rows);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      for (const p of batch) p.reject(err);
      return;
    }
    this.observer.onBatch?.(rows, result);
    const outPer = result.output.length / rows;
    const shape = result.shape.slice(1);
    let row = 0;
    for (const p of batch) {
      const share = p.rows / rows;
      p.resolve({
        output: result.output.subarray(row * outPer, (row + p.rows) * outPer),
        shape,
        batchRows: rows,
        energy: { ...result.energy, joules: result.energy.joules === null ? null : result.energy.joules * share },
      });
      row += p.rows;
    }
  }

  private settleIdle(): void {
    if (this.inFlight > 0 || this.queue.length > 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
