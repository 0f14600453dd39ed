// The inference worker of `serve`: builds the model from its spec, then answers run/reload/close
// messages one at a time (the worker's message queue serialises them, so a reload always falls
// between two batches).

import { parentPort, workerData } from 'node:worker_threads';
import { ModelRunner, type ModelSpec, type RunnerConfig } from './engine.js';
import { buildFromSpec } from './spec.js';

const port = parentPort!;
const { spec, cfg } = workerData as { spec: ModelSpec; cfg: RunnerConfig };
let runner: ModelRunner;
try {
  runner = new ModelRunner(await buildFromSpec(spec), cfg);
  port.postMessage({ ready: runner.info });
} catch (e) {
  port.postMessage({ failed: e instanceof Error ? e.message : String(e) });
  process.exit(1);
}

port.on(
  'message',
  (m: { id: number; type: 'run' | 'reload' | 'close'; input?: Float32Array | Int32Array; rows?: number; weights?: string }) => {
    try {
      if (m.type === 'run') {
        const result = runner.run(m.input!, m.rows!);
        port.postMessage({ id: m.id, ok: true, result }, [result.output.buffer as ArrayBuffer]);
      } else if (m.type === 'reload') {
        port.postMessage({ id: m.id, ok: true, info: runner.reload(m.weights) });
      } else {
        port.postMessage({ id: m.id, ok: true });
        port.close();
      }
    } catch (e) {
      port.postMessage({ id: m.id, ok: false, error: e instanceof Error ? e.message : String(e) });
    }
  },
);
