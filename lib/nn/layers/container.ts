// Containers: Sequential (children '0', '1', …, run in order), ModuleList, and Flatten.

import type { Tensor } from '../../tensor.js';
import * as ops from '../../ops/index.js';
import { Module, type AnyModule } from '../module.js';
import { inRange, nonNegativeInt } from '../../options.js';

type Slots = Record<string, unknown>;

function normIndex(kind: string, i: number, n: number): number {
  const j = i < 0 ? i + n : i;
  if (!Number.isInteger(i) || j < 0 || j >= n) throw new RangeError(`${kind}: index ${i} is out of range for ${n} modules`);
  return j;
}

/** Runs its children in order: Sequential(a, b, c).forward(x) = c(b(a(x))). */
export class Sequential extends Module {
  private count = 0;
  constructor(...modules: AnyModule[]) {
    super();
    for (const m of modules) this.add(m);
  }
  /** Appends a module as child `String(length)`; returns this. */
  add(m: AnyModule): this {
    if (!(m instanceof Module)) throw new TypeError(`Sequential.add: expected a Module, got ${typeof m}`);
    (this as unknown as Slots)[String(this.count++)] = m;
    return this;
  }
  get length(): number {
    return this.count;
  }
  /** The i-th module (negative counts from the end). */
  at(i: number): AnyModule {
    return (this as unknown as Slots)[String(normIndex('Sequential', i, this.count))] as AnyModule;
  }
  [Symbol.iterator](): Iterator<AnyModule> {
    return this.children();
  }
  forward(x: Tensor): Tensor {
    let cur = x;
    for (const m of this.children()) {
      const next = m.forward(cur) as Tensor;
      // free intermediates we made (the graph keeps what backward needs); never the input
      if (cur !== x && next !== cur) cur.dispose();
      cur = next;
    }
    return cur;
  }
}

/** A list of modules registered as children '0', '1', … (no forward of its own). */
export class ModuleList extends Module<never[], never> {
  private count = 0;
  constructor(modules: AnyModule[] = []) {
    super();
    if (!Array.isArray(modules)) throw new TypeError(`ModuleList: expected an array of modules, got ${typeof modules}`);
    for (const m of modules) this.push(m);
  }
  push(m: AnyModule): this {
    // a non-module child would be skipped by parameters() and stateDict() without a word
    if (!(m instanceof Module)) throw new TypeError(`ModuleList.push: expected a Module, got ${m === null ? 'null' : typeof m}`);
    (this as unknown as Slots)[String(this.count++)] = m;
    return this;
  }
  get length(): number {
    return this.count;
  }
  at(i: number): AnyModule {
    return (this as unknown as Slots)[String(normIndex('ModuleList', i, this.count))] as AnyModule;
  }
  [Symbol.iterator](): Iterator<AnyModule> {
    return this.children();
  }
  forward(): never {
    throw new Error('ModuleList has no forward; iterate over it');
  }
}

/** Flattens dims startDim..endDim (default 1..-1: keeps the batch dim). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
    inRange('Flatten', 'startDim', startDim, { integer: true });
    inRange('Flatten', 'endDim', endDim, { integer: true });
  }
  forward(x: Tensor): Tensor {
    return ops.flatten(x, this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Splits dim into the given sizes. */
export class Unflatten extends Module {
  constructor(
    readonly dim: number,
    readonly sizes: number[],
  ) {
    super();
    inRange('Unflatten', 'dim', dim, { integer: true });
    if (!Array.isArray(sizes) || !sizes.length)
      throw new TypeError(`Unflatten: sizes must be a non-empty array of sizes, got ${JSON.stringify(sizes)}`);
    if (sizes.filter((s) => s === -1).length > 1) throw new RangeError(`Unflatten: only one size may be -1, got (${sizes.join(', ')})`);
    sizes.forEach((s, i) => {
      if (s !== -1) nonNegativeInt('Unflatten', `sizes[${i}]`, s);
    });
  }
  forward(x: Tensor): Tensor {
    const d = this.dim < 0 ? this.dim + x.ndim : this.dim;
    return ops.reshape(x, [...x.shape.slice(0, d), ...this.sizes, ...x.shape.slice(d + 1)]);
  }
  override extraRepr(): string {
    return `dim=${this.dim}, unflattened_size=(${this.sizes.join(', ')})`;
  }
}
