// Fake quantization for quantization-aware training, after torch.ao.quantization.FakeQuantize.
//
//   fakeQuantize(x, qparams)  y = (clamp(round(x / scale) + zp, qmin, qmax) − zp) · scale
//                             per tensor or per channel (qparams.axis), rounding half to even;
//   backward (straight-through estimator, torch's fake_quantize_per_*_affine): the gradient passes
//   unchanged where qmin ≤ round(x / scale) + zp ≤ qmax and is 0 where the value was clamped.
//
//   new FakeQuantize({ observer: MovingAverageMinMaxObserver, reduceRange: true })
//     forward(x): when the observer is enabled it records x and refreshes scale / zero point; when
//     fake quant is enabled it returns fakeQuantize(x, …), else x. enableObserver / disableObserver,
//     enableFakeQuant / disableFakeQuant as torch's (and the module helpers of the same names).

import { needsGrad, record } from '../autograd/record.js';
import { noGrad } from '../autograd/mode.js';
import { Module, type AnyModule } from '../nn/module.js';
import { fromHost } from '../ops/creation.js';
import { mul } from '../ops/elementwise.js';
import type { Tensor } from '../tensor.js';
import { MovingAverageMinMaxObserver, ObserverBase, type ObserverOptions, type QParams } from './observers.js';

/** Fake-quantizes x with fixed parameters; gradient by the straight-through estimator (see header). */
export function fakeQuantize(x: Tensor, qp: QParams): Tensor {
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new TypeError(`fakeQuantize: expects a float tensor, got ${x.dtype}`);
  const v = x.dataSync() as ArrayLike<number>;
  const n = v.length;
  const out = x.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  const grad = needsGrad(x);
  const mask = grad ? new Uint8Array(n) : null;
  const { scale, zeroPoint, quantMin: qmin, quantMax: qmax } = qp;
  let inner = n,
    channels = 1;
  if (qp.axis !== null) {
    const ax = qp.axis < 0 ? qp.axis + x.ndim : qp.axis;
    channels = x.shape[ax] ?? 0;
    if (channels !== scale.length)
      throw new RangeError(`fakeQuantize: ${scale.length} per-channel scales for axis ${qp.axis} of shape [${x.shape.join(', ')}]`);
    inner = x.shape.slice(ax + 1).reduce((a, b) => a * b, 1);
  }
  for (let i = 0; i < n; i++) {
    const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
    const s = scale[c]!,
      zp = zeroPoint[c]!;
    const t = v[i]! / s;
    let r = Math.round(t);
    if (r - t === 0.5 && r % 2 !== 0) r -= 1; // half to even
    r += zp;
    if (mask && r >= qmin && r <= qmax) mask[i] = 1;
    const q = r < qmin ? qmin : r > qmax ? qmax : r;
    out[i] = (q - zp) * s;
  }
  const y = fromHost(out, [...x.shape], x.dtype, x.device);
  if (mask) {
    const dtype = x.dtype,
      shape = [...x.shape],
      device = x.device; // x itself may be freed before backward runs (it is not saved)
    record('fake_quantize', [y], [x], ([g]) => {
      const m = fromHost(dtype === 'float64' ? Float64Array.from(mask) : Float32Array.from(mask), shape, dtype, device);
      const r = mul(g!, m);
      m.dispose();
      return [r];
    });
  }
  return y;
}

export interface FakeQuantizeOptions extends ObserverOptions {
  /** the observer class (default MovingAverageMinMaxObserver, torch's); the other options go to it */
  observer?: new (o?: ObserverOptions) => ObserverBase;
}

export class FakeQuantize extends Module {
  /** the observer (torch's activation_post_process) */
  readonly activationPostProcess: ObserverBase;
  observerEnabled = true;
  fakeQuantEnabled = true;
  private qp: QParams | null = null;

  constructor(o: FakeQuantizeOptions = {}) {
    super();
    const { observer, ...rest } = o;
    const C = observer ?? MovingAverageMinMaxObserver;
    if (typeof C !== 'function' || !(C.prototype instanceof ObserverBase))
      throw new TypeError('FakeQuantize: observer must be an observer class such as MovingAverageMinMaxObserver');
    this.activationPostProcess = new C(rest);
  }

  /** scale / zero point of the last observation (null before any) */
  get qparams(): QParams | null {
    return this.qp;
  }

  forward(x: Tensor): Tensor {
    if (this.observerEnabled) {
      noGrad(() => this.activationPostProcess.forward(x));
      this.qp = this.activationPostProcess.calculateQparams();
    }
    if (!this.fakeQuantEnabled) return x;
    if (!this.qp)
      throw new Error(`${this.name}: fake quant is enabled but nothing was observed yet (enable the observer for at least one batch)`);
    return fakeQuantize(x, this.qp);
  }

  enableObserver(on = true): this {
    this.observerEnabled = on;
    return this;
  }
  disableObserver(): this {
    return this.enableObserver(false);
  }
  enableFakeQuant(on = true): this {
    this.fakeQuantEnabled = on;
    return this;
  }
  disableFakeQuant(): this {
    return this.enableFakeQuant(false);
  }

  override extraRepr(): string {
    const q = this.qp;
    const p = q
      ? q.scale.length === 1
        ? `scale=${q.scale[0]!.toPrecision(4)}, zero_point=${q.zeroPoint[0]}`
        : `per channel (${q.scale.length})`
      : 'not observed';
    return `fake_quant_enabled=${this.fakeQuantEnabled}, observer_enabled=${this.observerEnabled}, ${p}`;
  }

  /** A factory with these options (torch's FakeQuantize.with_args), for a QConfig. */
  static withArgs(o: FakeQuantizeOptions = {}): () => FakeQuantize {
    const f = (): FakeQuantize => new FakeQuantize(o);
    Object.defineProperty(f, 'name', { value: `FakeQuantize.withArgs(${o.observer?.name ?? 'MovingAverageMinMaxObserver'})` });
    return f;
  }
}

/** torch.ao.quantization.disable_observer / enable_observer etc. over a whole model. */
export function disableObserver(model: AnyModule): void {
  for (const m of model.modules()) if (m instanceof FakeQuantize) m.disableObserver();
}
export function enableObserver(model: AnyModule): void {
  for (const m of model.modules()) if (m instanceof FakeQuantize) m.enableObserver();
}
export function disableFakeQuant(model: AnyModule): void {
  for (const m of model.modules()) if (m instanceof FakeQuantize) m.disableFakeQuant();
}
export function enableFakeQuant(model: AnyModule): void {
  for (const m of model.modules()) if (m instanceof FakeQuantize) m.enableFakeQuant();
}
