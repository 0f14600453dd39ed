// Parameter: a leaf tensor that requires grad and that Module discovers as one of its weights.
// It shares storage with the tensor it was made from (like torch.nn.Parameter) and survives every
// enclosing tidy() scope: a model's weights live until module.dispose().

import { keep } from '../memory.js';
import { Tensor } from '../tensor.js';

export class Parameter extends Tensor {
  /** A parameter sharing `data`'s storage; `data` stays valid (dispose it when you are done). */
  constructor(data: Tensor, requiresGrad = true) {
    super(data.storage.retain(), data.shape, data.dtype);
    keep(this);
    if (requiresGrad) this.requiresGrad = true;
  }

  /** A parameter that takes over `t` (t is disposed; the parameter holds its storage). */
  static from(t: Tensor, requiresGrad = true): Parameter {
    const p = new Parameter(t, requiresGrad);
    t.dispose();
    return p;
  }
}

export function isParameter(x: unknown): x is Parameter {
  return x instanceof Parameter;
}
