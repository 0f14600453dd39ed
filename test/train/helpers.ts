// The real lib/nn and lib/optim, in the small shapes the fit tests need: an MLP with dropout (so
// the RNG matters, and state-dict names fc1.* / fc2.*) trained by optim.Adam (whose state holds
// tensors, so checkpoints must store them), and a progress sink.

import { Module, Linear, Dropout } from '../../lib/nn/index.js';
import { flatten, relu } from '../../lib/ops/index.js';
import { tidy } from '../../lib/memory.js';
import type { Tensor } from '../../lib/tensor.js';

export { Adam, StepLR } from '../../lib/optim/index.js';

/** 784 → hidden → 10 with ReLU and dropout p. */
export class TinyMLP extends Module {
  readonly fc1: Linear;
  readonly drop: Dropout;
  readonly fc2: Linear;
  constructor(inF = 784, hidden = 32, out = 10, p = 0.1) {
    super();
    this.fc1 = new Linear(inF, hidden);
    this.drop = new Dropout(p);
    this.fc2 = new Linear(hidden, out);
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.fc2.forward(this.drop.forward(relu(this.fc1.forward(flatten(x, 1))))));
  }
}

/** a writable that records what was written */
export function sink(isTTY = false): {
  write(s: string): boolean;
  text(): string;
  isTTY: boolean;
  columns: number;
  on(): void;
  removeListener(): void;
  cursorTo(): void;
  clearLine(): void;
  moveCursor(): void;
} {
  const parts: string[] = [];
  return {
    isTTY,
    columns: 120,
    write(s: string) {
      parts.push(s);
      return true;
    },
    text() {
      return parts.join('');
    },
    on() {},
    removeListener() {},
    cursorTo() {},
    clearLine() {},
    moveCursor() {},
  };
}
