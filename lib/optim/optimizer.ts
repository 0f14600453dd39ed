// Optimizer base: parameter groups, per-parameter state, zeroGrad, stateDict / loadStateDict.
//
// stateDict() has PyTorch's shape, so a checkpoint writer can store it as safetensors + JSON:
//   {
//     state: { [paramIndex: string]: { step?: number, <name>: Tensor, … } },   // e.g. momentum_buffer,
//                                                       // exp_avg, exp_avg_sq, max_exp_avg_sq
//     param_groups: [{ params: number[], lr: number, …hyper-parameters (torch's snake_case names) }],
//   }
// Parameters are numbered in order over the groups (group 0's first parameter is 0). Tensors are
// the optimizer's own (serialise them as e.g. `state.3.exp_avg`; do not dispose them); numbers
// (step) go to the JSON. loadStateDict copies values in (to each parameter's device and dtype), so
// the caller keeps ownership of what it passes.

import { noGrad } from '../autograd/mode.js';
import { keep } from '../memory.js';
import { fmtShape } from '../shape.js';
import { Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { checkOptions, inRange, nonNegativeInt } from '../options.js';

/** One group as passed to a constructor: its parameters and any hyper-parameters overriding the defaults. */
export type ParamGroupInput<H> = { params: Iterable<Tensor> } & Partial<H>;

/** A live parameter group: its parameters and its hyper-parameters (lr may be changed by schedulers). */
export type ParamGroup<H> = { params: Tensor[] } & H & { initialLr?: number };

export type ParamsInput<H> = Iterable<Tensor> | ParamGroupInput<H>[];

/** What an optimizer keeps per parameter: a step count and named state tensors. */
export interface ParamState {
  step: number;
  tensors: Record<string, Tensor>;
}

export interface OptimizerStateDict {
  state: Record<string, Record<string, Tensor | number>>;
  param_groups: Record<string, unknown>[];
}

/** What a value is, for messages: 'a number (2)', 'null', 'an object'. */
function what(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `a ${typeof v} (${String(v)})`;
  if (typeof v === 'string') return `a string (${JSON.stringify(v.slice(0, 30))})`;
  if (typeof v === 'object') return `an object${v.constructor && v.constructor !== Object ? ` (${v.constructor.name})` : ''}`;
  return typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`;
}

function isIterable(x: unknown): x is Iterable<unknown> {
  return x !== null && typeof x === 'object' && typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

/**
 * The constructor's params as groups: an iterable of tensors (one group) or a list of groups
 * { params, …hyper-parameters }. Anything else is an error saying what was given.
 */
function groupsOf<H>(opt: string, params: ParamsInput<H>): ParamGroupInput<H>[] {
  const hint = 'expected the parameters as tensors (e.g. model.parameters()) or parameter groups [{ params, lr, … }]';
  if (!isIterable(params)) throw new TypeError(`${opt}: ${hint}, got ${what(params)}`);
  const list = [...params];
  if (list.length === 0 || list[0] instanceof Tensor) {
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new TypeError(`${opt}: params[${i}] is ${what(p)}, not a tensor (${hint})`);
    });
    return [{ params: list as Tensor[] } as unknown as ParamGroupInput<H>];
  }
  list.forEach((g, i) => {
    if (g instanceof Tensor) throw new TypeError(`${opt}: params mixes parameter groups and tensors (params[${i}] is a tensor)`);
    if (g === null || typeof g !== 'object' || !('params' in g)) throw new TypeError(`${opt}: params[${i}] is ${what(g)}: ${hint}`);
  });
  return list as ParamGroupInput<H>[];
}

export abstract class Optimizer<H extends { lr: number }> {
  readonly paramGroups: ParamGroup<H>[] = [];
  readonly state = new Map<Tensor, ParamState>();
  /** hyper-parameter keys in torch's snake_case for stateDict: ours → torch's */
  protected abstract readonly hyperNames: Record<keyof H & string, string>;

  /**
   * `options`, when given, are the user's options object: its keys are checked against the keys of
   * `defaults` (unknown keys are errors with a did-you-mean) and merged over them (undefined values
   * keep the default).
   */
  constructor(
    params: ParamsInput<H>,
    readonly defaults: H,
    options?: Partial<H>,
  ) {
    if (options !== undefined) {
      checkOptions(new.target.name, options, Object.keys(defaults));
      // an option given as undefined keeps its default ({ lr: args.lr } with no --lr)
      const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
      this.defaults = defaults = { ...defaults, ...given };
    }
    this.validate(defaults, 'defaults');
    for (const g of groupsOf(this.constructor.name, params)) this.addParamGroup(g);
    if (!this.paramGroups.length || this.paramGroups.every((g) => !g.params.length)) {
      throw new RangeError(`${this.constructor.name}: optimizer got an empty parameter list`);
    }
  }

  /** Checks hyper-parameters; throws a RangeError naming the bad one. */
  protected abstract validate(h: H, where: string): void;

  /** Adds a group (hyper-parameters default to the optimizer's). A parameter may be in one group only. */
  addParamGroup(g: ParamGroupInput<H>): void {
    if (!g || typeof g !== 'object' || !('params' in g))
      throw new TypeError(`${this.constructor.name}: a parameter group must be an object { params, ...hyper-parameters }`);
    // 'name' labels a group (a common torch habit: { params, name: 'encoder' }); any other key is a typo
    checkOptions(`${this.constructor.name} param group ${this.paramGroups.length}`, g as object, [
      ...Object.keys(this.defaults),
      'params',
      'initialLr',
      'name',
    ]);
    const gi = this.paramGroups.length;
    if (!isIterable(g.params))
      throw new TypeError(
        `${this.constructor.name}: param group ${gi}: params must be an iterable of tensors (e.g. model.parameters()), got ${what(g.params)}`,
      );
    const params = [...g.params];
    const seen = new Set(this.paramGroups.flatMap((x) => x.params));
    params.forEach((p, i) => {
      if (!(p instanceof Tensor))
        throw new TypeError(`${this.constructor.name}: param group ${gi}: params[${i}] is ${what(p)}, not a tensor`);
      if (!p.isLeaf) throw new Error(`${this.constructor.name}: can't optimize a non-leaf tensor (params[${i}] ${fmtShape(p.shape)})`);
      if (seen.has(p)) throw new Error(`${this.constructor.name}: some parameters appear in more than one parameter group`);
      seen.add(p);
    });
    const merged = { ...this.defaults, ...g, params } as ParamGroup<H>;
    this.validate(merged, `param group ${this.paramGroups.length}`);
    merged.initialLr ??= merged.lr;
    this.paramGroups.push(merged);
  }

  /** Updates every parameter that has a grad (one fused kernel call per group in the steady state). */
  step(): void {
    this.checkGrads();
    noGrad(() => {
      for (const g of this.paramGroups) {
        const ps = g.params.filter((p) => p.grad !== null && !p.isDisposed);
        if (ps.length) this.updateGroup(g, ps);
      }
    });
  }

  protected abstract updateGroup(group: ParamGroup<H>, params: Tensor[]): void;

  /**
   * Every grad about to be used must fit its parameter: the error blames the grad and numbers the
   * parameter as stateDict does ("parameter 3 (shape (4,5)) has a grad of shape (5,4)"), before
   * any parameter is updated.
   */
  protected checkGrads(): void {
    let idx = 0;
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        const i = idx++;
        const gr = p.grad;
        if (gr === null || p.isDisposed) continue;
        const at = `${this.constructor.name}.step: parameter ${i} (shape ${fmtShape(p.shape)}, ${p.dtype} on ${p.device})`;
        if (!(gr instanceof Tensor)) throw new TypeError(`${at} has a grad that is ${what(gr)}, not a tensor`);
        if (gr.isDisposed) throw new Error(`${at} has a disposed grad: set p.grad = null (optimizer.zeroGrad()) instead of disposing it`);
        if (gr.shape.length !== p.shape.length || gr.shape.some((d, k) => d !== p.shape[k]))
          throw new RangeError(`${at} has a grad of shape ${fmtShape(gr.shape)}`);
        if (gr.dtype !== p.dtype) throw new TypeError(`${at} has a ${gr.dtype} grad`);
        if (gr.device !== p.device) throw new Error(`${at} has a grad on ${gr.device}`);
      }
    }
  }

  /** Sets every parameter's grad to null, disposing it. */
  zeroGrad(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** The state of p, created with zero tensors for `names` on first use. */
  protected stateOf(p: Tensor, names: readonly string[]): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = { step: 0, tensors: {} };
      this.state.set(p, s);
    }
    for (const n of names) s.tensors[n] ??= keep(ops.zerosLike(p));
    return s;
  }

  /** Current learning rates, one per group. */
  getLr(): number[] {
    return this.paramGroups.map((g) => g.lr);
  }

  stateDict(): OptimizerStateDict {
    const state: OptimizerStateDict['state'] = {};
    const groups: OptimizerStateDict['param_groups'] = [];
    let idx = 0;
    for (const g of this.paramGroups) {
      const ids: number[] = [];
      for (const p of g.params) {
        const s = this.state.get(p);
        if (s) state[String(idx)] = { step: s.step, ...s.tensors };
        ids.push(idx++);
      }
      const h: Record<string, unknown> = { params: ids };
      for (const [k, torchName] of Object.entries(this.hyperNames) as [string, string][])
        h[torchName] = (g as unknown as Record<string, unknown>)[k];
      if (g.initialLr !== undefined) h.initial_lr = g.initialLr;
      groups.push(h);
    }
    return { state, param_groups: groups };
  }

  /** Restores state and hyper-parameters saved by stateDict() onto this optimizer's parameters. */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (!sd || !Array.isArray(sd.param_groups) || typeof sd.state !== 'object')
      throw new TypeError(`${name}.loadStateDict: expected {state, param_groups}`);
    if (sd.param_groups.length !== this.paramGroups.length) {
      throw new RangeError(
        `${name}.loadStateDict: the state dict has ${sd.param_groups.length} parameter groups, the optimizer ${this.paramGroups.length}`,
      );
    }
    const byIndex = new Map<number, Tensor>();
    sd.param_groups.forEach((sg, gi) => {
      const ids = sg.params as number[];
      const g = this.paramGroups[gi]!;
      if (!Array.isArray(ids) || ids.length !== g.params.length) {
        throw new RangeError(
          `${name}.loadStateDict: group ${gi} has ${Array.isArray(ids) ? ids.length : '?'} parameters in the state dict, ${g.params.length} in the optimizer`,
        );
      }
      ids.forEach((id, i) => byIndex.set(id, g.params[i]!));
    });
    // 1. validate every group's hyper-parameters on copies; nothing is committed until all pass
    const hyperKeys = Object.entries(this.hyperNames) as [string, string][];
    const staged = sd.param_groups.map((sg, gi) => {
      if (!sg || typeof sg !== 'object') throw new TypeError(`${name}.loadStateDict: param_groups[${gi}] is not an object`);
      const g = { ...(this.paramGroups[gi]! as unknown as Record<string, unknown>) };
      for (const [k, torchName] of hyperKeys) if (Object.hasOwn(sg, torchName)) g[k] = sg[torchName];
      if (sg.initial_lr !== undefined)
        g.initialLr = inRange(`${name}.loadStateDict`, `initial_lr of group ${gi}`, sg.initial_lr, { min: 0 });
      this.validate(g as unknown as H, `param group ${gi} of the state dict`);
      return g;
    });
    const seenIds = new Set<number>();
    for (const sg of sd.param_groups) {
      for (const id of sg.params as unknown[]) {
        if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
          throw new RangeError(`${name}.loadStateDict: invalid parameter id ${JSON.stringify(id)} (must be a non-negative integer)`);
        if (seenIds.has(id)) throw new RangeError(`${name}.loadStateDict: parameter id ${id} appears twice in param_groups`);
        seenIds.add(id);
      }
    }
    // 2. validate the state entries (ids, step counts, tensor sizes) before copying anything
    const entries = Object.entries(sd.state ?? {}).map(([id, entry]) => {
      const p = byIndex.get(Number(id));
      if (!p) throw new RangeError(`${name}.loadStateDict: state for parameter ${id}, which no group has`);
      if (!entry || typeof entry !== 'object') throw new TypeError(`${name}.loadStateDict: state ${id} is not an object`);
      let step = 0;
      for (const [k, v] of Object.entries(entry)) {
        if (k === 'step') {
          const raw = v instanceof Tensor ? v.item() : v;
          step = nonNegativeInt(`${name}.loadStateDict`, `step of parameter ${id}`, raw);
        } else if (v instanceof Tensor) {
          if (v.isDisposed) throw new Error(`${name}.loadStateDict: state '${k}' of parameter ${id} is disposed`);
          if (v.size !== p.size)
            throw new RangeError(
              `${name}.loadStateDict: state '${k}' of parameter ${id} is ${fmtShape(v.shape)}, the parameter ${fmtShape(p.shape)}`,
            );
        }
      }
      return { p, step, entry };
    });
    // 3. copy the state tensors (on each parameter's device and dtype); a failure frees the copies
    const next = new Map<Tensor, ParamState>();
    try {
      noGrad(() => {
        for (const { p, step, entry } of entries) {
          // no prototype: a state name from a file such as '__proto__' stays an ordinary key
          const s: ParamState = { step, tensors: Object.create(null) as Record<string, Tensor> };
          next.set(p, s);
          for (const [k, v] of Object.entries(entry)) {
            if (k === 'step' || !(v instanceof Tensor)) continue;
            const moved = ops.to(v, p.device); // a fresh copy, even on the same device
            const cast = moved.dtype !== p.dtype ? ops.cast(moved, p.dtype) : moved;
            if (cast !== moved) moved.dispose();
            const r = ops.reshape(cast, p.shape);
            if (r !== cast) cast.dispose();
            s.tensors[k] = keep(r);
          }
        }
      });
    } catch (e) {
      for (const s of next.values()) for (const t of Object.values(s.tensors)) t.dispose();
      throw e;
    }
    // 4. commit
    staged.forEach((g, gi) => Object.assign(this.paramGroups[gi]!, g));
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
    for (const [p, s] of next) this.state.set(p, s);
  }

  /** Frees the optimizer's state tensors (not the parameters). */
  dispose(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
  }
}

/** Names the place of a hyper-parameter for an error: 'SGD' for the defaults, 'SGD param group 1' for a group. */
export function hyperWhere(opt: string, where: string): string {
  return where === 'defaults' ? opt : `${opt} ${where}`;
}

/** Throws unless v is a finite number ≥ 0 (see lib/options.ts for the other checks). */
export function nonNegative(opt: string, name: string, v: number, where: string): void {
  inRange(hyperWhere(opt, where), name, v, { min: 0 });
}
