// Test doubles that satisfy fit()'s structural types without lib/nn / lib/optim: a small MLP with
// dropout (so the RNG matters) and an Adam whose state holds tensors (so checkpoints must store them).

import { Parameter } from '../../lib/nn/parameter.js';
import { copyInto } from '../../lib/nn/inplace.js';
import { adamStep, dropout, flatten, linear, randn, relu, zeros, zerosLike } from '../../lib/ops/index.js';
import { keep, tidy } from '../../lib/memory.js';
import type { Tensor } from '../../lib/tensor.js';

export class TinyMLP {
  training = true;
  readonly w1: Parameter; readonly b1: Parameter; readonly w2: Parameter; readonly b2: Parameter;
  constructor(inF = 784, hidden = 32, out = 10, readonly p = 0.1) {
    this.w1 = Parameter.from(tidy(() => randn([hidden, inF]).mul(Math.sqrt(2 / inF))));
    this.b1 = Parameter.from(zeros([hidden]));
    this.w2 = Parameter.from(tidy(() => randn([out, hidden]).mul(Math.sqrt(1 / hidden))));
    this.b2 = Parameter.from(zeros([out]));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = relu(linear(flatten(x, 1), this.w1, this.b1));
      return linear(this.p > 0 ? dropout(h, this.p, this.training) : h, this.w2, this.b2);
    });
  }
  parameters(): Tensor[] {
    return [this.w1, this.b1, this.w2, this.b2];
  }
  train(mode = true): this { this.training = mode; return this; }
  eval(): this { this.training = false; return this; }
  stateDict(): Record<string, Tensor> {
    return { 'fc1.weight': this.w1, 'fc1.bias': this.b1, 'fc2.weight': this.w2, 'fc2.bias': this.b2 };
  }
  loadStateDict(sd: Record<string, Tensor>): void {
    const mine = this.stateDict();
    for (const [k, t] of Object.entries(mine)) copyInto(t, sd[k]!, k);
  }
  dispose(): void { for (const p of this.parameters()) p.dispose(); }
}

export class TinyAdam {
  stepCount = 0;
  expAvg: Tensor[] | null = null;
  expAvgSq: Tensor[] | null = null;
  constructor(readonly params: Tensor[], public lr = 1e-3) {}
  get paramGroups(): { lr: number }[] { return [{ lr: this.lr }]; }
  zeroGrad(): void { for (const p of this.params) { p.grad?.dispose(); p.grad = null; } }
  step(): void {
    if (!this.expAvg) {
      this.expAvg = this.params.map((p) => keep(zerosLike(p)));
      this.expAvgSq = this.params.map((p) => keep(zerosLike(p)));
    }
    this.stepCount++;
    const withGrad = this.params.map((p, i) => [p, i] as const).filter(([p]) => p.grad);
    adamStep(withGrad.map(([p]) => p), withGrad.map(([p]) => p.grad!), withGrad.map(([, i]) => this.expAvg![i]!), withGrad.map(([, i]) => this.expAvgSq![i]!), null,
      { lr: this.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, amsgrad: false, maximize: false, step: this.stepCount });
  }
  stateDict(): unknown {
    return { state: this.params.map((_, i) => (this.expAvg ? { exp_avg: this.expAvg[i], exp_avg_sq: this.expAvgSq![i] } : {})), step: this.stepCount, lr: this.lr };
  }
  loadStateDict(s: { state: { exp_avg?: Tensor; exp_avg_sq?: Tensor }[]; step: number; lr: number }): void {
    this.stepCount = s.step;
    this.lr = s.lr;
    if (s.state[0]?.exp_avg) {
      this.expAvg = this.params.map((p) => keep(zerosLike(p)));
      this.expAvgSq = this.params.map((p) => keep(zerosLike(p)));
      s.state.forEach((st, i) => { copyInto(this.expAvg![i]!, st.exp_avg!); copyInto(this.expAvgSq![i]!, st.exp_avg_sq!); });
    }
  }
  dispose(): void { for (const t of [...(this.expAvg ?? []), ...(this.expAvgSq ?? [])]) t.dispose(); this.zeroGrad(); }
}

/** halves the lr every `every` steps; state is plain JSON */
export class TinyStepLR {
  lastEpoch = 0;
  constructor(readonly opt: TinyAdam, readonly every = 1, readonly gamma = 0.5) {}
  step(): void { this.lastEpoch++; if (this.lastEpoch % this.every === 0) this.opt.lr *= this.gamma; }
  stateDict(): unknown { return { lastEpoch: this.lastEpoch }; }
  loadStateDict(s: { lastEpoch: number }): void { this.lastEpoch = s.lastEpoch; }
}

/** a writable that records what was written */
export function sink(isTTY = false): { write(s: string): boolean; text(): string; isTTY: boolean; columns: number; on(): void; removeListener(): void; cursorTo(): void; clearLine(): void; moveCursor(): void } {
  const parts: string[] = [];
  return {
    isTTY, columns: 120,
    write(s: string) { parts.push(s); return true; },
    text() { return parts.join(''); },
    on() {}, removeListener() {}, cursorTo() {}, clearLine() {}, moveCursor() {},
  };
}
