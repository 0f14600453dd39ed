// AdamW: Adam with decoupled weight decay (p *= 1 - lr·wd before the Adam update), default wd 0.01.

import { Adam, type AdamOptions } from './adam.js';
import type { ParamsInput } from './optimizer.js';

export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;
  constructor(params: ParamsInput<AdamOptions>, o: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 0.01, ...o });
  }
}
