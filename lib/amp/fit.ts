// fit({ amp }): the training step under autocast, with a GradScaler where the dtype needs one.
//
//   amp: 'bf16' | 'bfloat16'  autocast in bfloat16, no loss scaling (bf16 has float32's exponent
//                             range: torch's recipe uses no GradScaler for it)
//   amp: 'f16' | 'float16'    autocast in float16 + a GradScaler with torch's defaults
//   amp: { dtype, scaler }    scaler: true / false, GradScaler options, or a GradScaler of your own
//                             (whose state a ModelCheckpoint then stores, and resumeFrom restores)
// The step: forward and loss inside the region; scaler.scale(loss).backward(); with clipGradNorm,
// unscale_ first so the clip sees the true gradients; scaler.step(optimizer) (skipped on inf/NaN);
// scaler.update(). The weights stay float32 (the master copy) throughout.

import type { Tensor } from '../tensor.js';
import { checkOptions } from '../options.js';
import { autocast, autocastDType, type AutocastDType } from './autocast.js';
import { GradScaler, type GradScalerOptions, type ScalableOptimizer } from './grad-scaler.js';

export type FitAmpOption =
  | 'bf16'
  | 'f16'
  | 'bfloat16'
  | 'float16'
  | false
  | null
  | { dtype?: 'bf16' | 'f16' | 'bfloat16' | 'float16'; scaler?: boolean | GradScalerOptions | GradScaler };

export interface FitAmp {
  readonly dtype: AutocastDType;
  readonly scaler: GradScaler | null;
  forward<T>(fn: () => T): T;
  backwardAndStep(loss: Tensor, clip: (() => void) | null): void;
}

export function fitAmp(o: unknown, optimizer: unknown): FitAmp | null {
  if (o === undefined || o === null || o === false) return null;
  let dtype: AutocastDType;
  let scalerOpt: unknown;
  if (typeof o === 'string') {
    dtype = autocastDType('fit: amp', o);
    scalerOpt = dtype === 'float16';
  } else if (typeof o === 'object') {
    checkOptions('fit: amp', o as object, ['dtype', 'scaler']);
    const r = o as { dtype?: unknown; scaler?: unknown };
    dtype = autocastDType('fit: amp', r.dtype);
    scalerOpt = r.scaler ?? dtype === 'float16';
  } else {
    throw new TypeError(`fit: amp must be 'bf16', 'f16' or { dtype, scaler }, got ${typeof o}`);
  }
  let scaler: GradScaler | null = null;
  if (scalerOpt instanceof GradScaler) scaler = scalerOpt;
  else if (scalerOpt === true) scaler = new GradScaler();
  else if (scalerOpt && typeof scalerOpt === 'object') scaler = new GradScaler(scalerOpt as GradScalerOptions);
  else if (scalerOpt !== false)
    throw new TypeError(`fit: amp.scaler must be a boolean, GradScaler options or a GradScaler, got ${typeof scalerOpt}`);
  const opt = optimizer as ScalableOptimizer;
  if (scaler && !Array.isArray(opt.paramGroups))
    throw new TypeError('fit: amp with loss scaling needs an optimizer with paramGroups (every lib/optim optimizer has them)');
  return {
    dtype,
    scaler,
    forward: <T>(fn: () => T): T => autocast({ dtype }, fn),
    backwardAndStep(loss: Tensor, clip: (() => void) | null): void {
      if (!scaler) {
        loss.backward();
        clip?.();
        opt.step();
        return;
      }
      const scaled = scaler.scale(loss);
      scaled.backward();
      if (clip) {
        scaler.unscale_(opt);
        clip();
      }
      scaler.step(opt);
      scaler.update();
    },
  };
}
