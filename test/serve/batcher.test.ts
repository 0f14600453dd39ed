// DynamicBatcher's schedule against an engine whose batches end when the test says: an idle engine
// runs what one event-loop turn has read at once (waiting for the batch to fill would only idle it);
// a busy engine makes the next batch wait for maxBatch rows or maxDelayMs, as before.

import { describe, expect, it } from 'vitest';
import { DynamicBatcher, type RequestResult } from '../../lib/serve/batcher.js';
import type { BatchResult, Engine, ModelInfo } from '../../lib/serve/engine.js';

/** an engine that doubles its input and settles each batch when release() is called */
class GatedEngine implements Engine {
  readonly info = {} as ModelInfo;
  readonly batches: number[][] = [];
  private gates: Array<() => void> = [];
  run(input: Float32Array | Int32Array, rows: number): Promise<BatchResult> {
    this.batches.push(Array.from(input));
    return new Promise((resolve) => {
      this.gates.push(() =>
        resolve({
          output: Float32Array.from(input, (v) => 2 * v),
          shape: [rows, input.length / rows],
          energy: { joules: 0.5, estimated: true, method: 'estimate (test)' },
          seconds: 0.001,
        }),
      );
    });
  }
  release(): void {
    this.gates.shift()!();
  }
  get waiting(): number {
    return this.gates.length;
  }
  reload(): Promise<ModelInfo> {
    return Promise.resolve(this.info);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('serve: DynamicBatcher schedule', () => {
  it('an idle engine gets the requests of one event-loop turn at once, without waiting maxDelayMs', async () => {
    const engine = new GatedEngine();
    const b = new DynamicBatcher(engine, { maxBatch: 64, maxDelayMs: 60_000, maxQueue: 1000, queueTimeoutMs: 120_000 });
    const rs = [1, 2, 3].map((v) => b.submit(Float32Array.of(v, -v), 1));
    expect(engine.batches).toEqual([]); // not inside submit: the rest of the turn may still add requests
    await turn();
    expect(engine.batches).toEqual([[1, -1, 2, -2, 3, -3]]);
    engine.release();
    const out = (await Promise.all(rs)) as RequestResult[];
    expect(out.map((r) => Array.from(r.output))).toEqual([
      [2, -2],
      [4, -4],
      [6, -6],
    ]);
    expect(out.every((r) => r.batchRows === 3 && r.energy.joules === 0.5 / 3)).toBe(true);
    await b.idle();
  });

  it('while the engine is busy the next batch waits for maxBatch rows; rows still waiting run once it is idle', async () => {
    const engine = new GatedEngine();
    const b = new DynamicBatcher(engine, { maxBatch: 4, maxDelayMs: 60_000, maxQueue: 1000, queueTimeoutMs: 120_000 });
    const first = b.submit(Float32Array.of(10), 1);
    await turn();
    expect(engine.batches.length).toBe(1); // the idle engine took it alone
    const next = [1, 2, 3].map((v) => b.submit(Float32Array.of(v), 1));
    await turn();
    await turn();
    expect(engine.batches.length).toBe(1); // busy: 3 rows wait for a 4th (or the 60 s delay)
    const fourth = b.submit(Float32Array.of(4), 1);
    expect(engine.batches).toEqual([[10], [1, 2, 3, 4]]); // maxBatch reached: handed over at once (pipelined)
    const more = [5, 6].map((v) => b.submit(Float32Array.of(v), 1));
    await turn();
    expect(engine.batches.length).toBe(2); // 2 batches in flight: the pipeline is full
    engine.release(); // the first batch ends; the second is still running, so [5, 6] keep waiting
    await first;
    await turn();
    expect(engine.batches.length).toBe(2);
    engine.release(); // now the engine is idle: the 2 waiting rows go without waiting for the delay
    await Promise.all([...next, fourth]);
    await turn();
    expect(engine.batches).toEqual([[10], [1, 2, 3, 4], [5, 6]]);
    engine.release();
    expect((await Promise.all(more)).map((r) => r.output[0])).toEqual([10, 12]);
    await b.idle();
    expect(engine.waiting).toBe(0);
  });
});
