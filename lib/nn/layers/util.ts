// Small helpers shared by the layers: factory options, argument checks and parameter creation.

import type { DType } from '../../dtype.js';
import { fmtShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import * as ops from '../../ops/index.js';
import { assertPositiveInt } from '../../ops/util.js';
import { Parameter } from '../parameter.js';
import { checkOptions, inRange, type OptionKeys } from '../../options.js';

export { bool } from '../../options.js';

/** Where a layer's parameters are created (torch's factory kwargs). */
export interface FactoryOptions {
  dtype?: DType;
  device?: string;
}

export type Pair = number | [number, number];

const FACTORY_KEYS: OptionKeys<FactoryOptions> = { dtype: true, device: true };

/**
 * A layer's options object, checked: unknown keys are errors naming the layer and the nearest valid
 * key ("Linear: unknown option 'bais' — did you mean 'bias'?"). dtype and device are always allowed.
 */
export function layerOptions<T extends object>(layer: string, o: T | undefined, keys: readonly string[]): T {
  return checkOptions(layer, o, [...keys, ...Object.keys(FACTORY_KEYS)]);
}

/** A finite number (an eps, a slope, an alpha), > 0 when `positive`. */
export function finiteArg(layer: string, name: string, v: unknown, dflt: number, positive = false): number {
  return inRange(layer, name, v, positive ? { min: 0, minOpen: true } : {}, dflt);
}

/** A new zero-filled parameter (the layer initialises it in place). */
export function newParam(shape: number[], f: FactoryOptions, requiresGrad = true): Parameter {
  return Parameter.from(ops.zeros(shape, { dtype: f.dtype ?? 'float32', device: f.device }), requiresGrad);
}

export function toPair(layer: string, name: string, v: Pair, min: number): [number, number] {
  if (typeof v !== 'number' && (!Array.isArray(v) || v.length !== 2)) {
    throw new RangeError(
      `${layer}: ${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer or a pair of them, got ${JSON.stringify(v)}`,
    );
  }
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.some((x) => !Number.isInteger(x) || x < min)) {
    throw new RangeError(
      `${layer}: ${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer or a pair of them, got ${JSON.stringify(v)}`,
    );
  }
  return p;
}

/** assertPositiveInt that returns v, for field initialisers. */
export function positiveInt(layer: string, name: string, v: number, allowZero = false): number {
  assertPositiveInt(layer, name, v, allowZero);
  return v;
}

export function probability(layer: string, name: string, p: number, allowOne = false): number {
  if (typeof p !== 'number' || !(p >= 0 && (allowOne ? p <= 1 : p < 1))) {
    throw new RangeError(`${layer}: ${name} must be in [0, 1${allowOne ? ']' : ')'}, got ${p}`);
  }
  return p;
}

/** Throws `<Layer(...)>: expected input <what>, got <shape>`. */
export function badInput(layer: string, what: string, x: Tensor): never {
  throw new RangeError(`${layer}: expected input ${what}, got ${fmtShape(x.shape)} ${x.dtype}`);
}
