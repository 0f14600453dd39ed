// Builds a served model from a spec that can cross a thread boundary: a demo model name or an ES
// module (file URL or package specifier) exporting a factory.

import type { ModelSpec } from './engine.js';
import type { ModelLike } from '../train/types.js';

export async function buildFromSpec(spec: ModelSpec): Promise<ModelLike> {
  if ('demo' in spec) {
    const m = await import('../models/index.js');
    if (spec.demo === 'mnist-mlp') return m.mnistMlp();
    if (spec.demo === 'mnist-cnn') return m.mnistCnn();
    if (spec.demo === 'mnist-lstm') return new m.RowLstm(64);
    throw new Error(`serve: unknown demo model '${String(spec.demo)}'`);
  }
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const f = mod[spec.export ?? 'default'];
  if (typeof f !== 'function')
    throw new Error(`serve: ${spec.module} has no exported function '${spec.export ?? 'default'}' that builds the model`);
  const model = (await (f as (...a: unknown[]) => unknown)(...(spec.args ?? []))) as ModelLike;
  if (!model || typeof model.forward !== 'function' || typeof model.loadStateDict !== 'function') {
    throw new Error(`serve: ${spec.module}#${spec.export ?? 'default'} did not return an nn.Module`);
  }
  return model;
}
