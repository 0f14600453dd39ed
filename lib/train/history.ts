// The record of a fit() run: one EpochLog per epoch, the loss read at every log interval, and the
// energy of the whole run when it was measured. JSON round-trips (checkpoints store it).

import type { EnergyResult } from '../energy/index.js';

export interface EpochLog {
  /** 1-based */
  epoch: number;
  /** mean training loss over the epoch's samples */
  loss: number;
  /** training metrics over the epoch ({accuracy: 0.97}) */
  metrics: Record<string, number>;
  valLoss?: number;
  valMetrics?: Record<string, number>;
  /** wall time of the epoch's training (validation excluded) */
  seconds: number;
  /** wall time of validation */
  valSeconds?: number;
  samples: number;
  samplesPerSecond: number;
  steps: number;
  /** the learning rate used during the epoch */
  lr?: number;
  /** the epoch's training window, when fit({energy}) measured it */
  energy?: EnergyResult;
}

export interface StepLog {
  /** global step (batches since the start of training) */
  step: number;
  epoch: number;
  /** mean loss over the batches since the previous log point */
  loss: number;
}

export class History {
  epochs: EpochLog[] = [];
  steps: StepLog[] = [];
  /** the whole run's window, when measured */
  energy?: EnergyResult;
  stoppedEarly = false;
  stopReason?: string;

  get loss(): number[] {
    return this.epochs.map((e) => e.loss);
  }
  get valLoss(): (number | undefined)[] {
    return this.epochs.map((e) => e.valLoss);
  }
  /** A metric per epoch: 'accuracy', or 'valAccuracy' / 'val_accuracy' for validation. */
  metric(name: string): (number | undefined)[] {
    return this.epochs.map((e) => monitorValue(e, name));
  }
  get last(): EpochLog | undefined {
    return this.epochs[this.epochs.length - 1];
  }
  toJSON(): object {
    return { epochs: this.epochs, steps: this.steps, energy: this.energy, stoppedEarly: this.stoppedEarly, stopReason: this.stopReason };
  }
  static fromJSON(j: unknown): History {
    const h = new History();
    const o = (j ?? {}) as Partial<History>;
    h.epochs = Array.isArray(o.epochs) ? o.epochs : [];
    h.steps = Array.isArray(o.steps) ? o.steps : [];
    if (o.energy) h.energy = o.energy;
    h.stoppedEarly = o.stoppedEarly ?? false;
    if (o.stopReason) h.stopReason = o.stopReason;
    return h;
  }
}

/**
 * A logged quantity by name: 'loss', 'valLoss' (or 'val_loss'), a training metric ('accuracy'),
 * a validation metric ('valAccuracy', 'val_accuracy').
 */
export function monitorValue(log: EpochLog, name: string): number | undefined {
  if (name === 'loss') return log.loss;
  if (name === 'valLoss' || name === 'val_loss') return log.valLoss;
  const m = /^val(?:_|(?=[A-Z]))(.+)$/.exec(name);
  if (m) {
    const key = m[1]!;
    const k = key.charAt(0).toLowerCase() + key.slice(1);
    return log.valMetrics?.[k] ?? log.valMetrics?.[key];
  }
  return log.metrics[name];
}
