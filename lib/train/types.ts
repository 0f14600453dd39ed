// What the training loop needs from a model, an optimizer and a scheduler. These are structural
// types: lib/nn's Module and lib/optim's optimizers and schedulers satisfy them, and so does any
// hand-written object with the same methods.

import type { Tensor } from '../tensor.js';

export type StateDict = Record<string, Tensor> | Map<string, Tensor>;

export interface ModelLike {
  // any, not unknown: fit/evaluate/predict pass batches of whatever the loader yields and read the
  // output as the loss expects; the model's own signature is the check
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(x: any): any;
  parameters(): Iterable<Tensor>;
  train(mode?: boolean): unknown;
  eval(): unknown;
  stateDict(): StateDict;
  loadStateDict(state: unknown, strict?: unknown): unknown;
  readonly training?: boolean;
  /** the training loss of a batch, when the model defines it (Keras' compute_loss; nn.Distiller): loss is fit's loss function */
  computeLoss?(a: { x: unknown; y: Tensor; yPred: Tensor; loss: (out: Tensor, target: Tensor) => Tensor }): Tensor;
}

export interface OptimizerLike {
  step(): void;
  zeroGrad(): void;
  stateDict(): unknown;
  loadStateDict(state: unknown): unknown;
}

export interface SchedulerLike {
  step(): void;
  stateDict(): unknown;
  loadStateDict(state: unknown): unknown;
}

export function stateDictEntries(sd: StateDict): [string, Tensor][] {
  return sd instanceof Map ? [...sd.entries()] : Object.entries(sd);
}

/** The learning rate of an optimizer's first parameter group, when it exposes one. */
export function currentLr(opt: unknown): number | undefined {
  const o = opt as { paramGroups?: { lr?: unknown }[]; lr?: unknown; defaults?: { lr?: unknown } } | null;
  const v = o?.paramGroups?.[0]?.lr ?? o?.lr ?? o?.defaults?.lr;
  return typeof v === 'number' ? v : undefined;
}

/** The device of a model's first parameter ('cpu' when it has none). */
export function modelDevice(model: ModelLike): string {
  for (const p of model.parameters()) return p.device;
  return 'cpu';
}
