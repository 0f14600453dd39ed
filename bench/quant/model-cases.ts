// `npm run bench -- --op int8`: the MNIST CNN's inference forward (noGrad, logits read back), static
// int8 (quantization.quantizeStatic: int8 convs with their max pools fused, int8 Linear) beside the
// fp32 model, at batch 64 and 256 (64 only with --quick), so one report holds both medians and the
// issue's target (int8 ≥ 1.5× fp32 at batch ≥ 64) reads off the same run. Untrained weights (speed
// does not depend on them), calibrated on 4 random batches. Validation: the int8 logits equal the
// unfused int8 model's (fuseMaxPool: false) bit for bit; the fp32 logits are within 1e-4 (relative to
// the largest) of a float64 copy of the model.

import { manualSeed, noGrad, randn, tidy, quantization, type Tensor } from '../../lib/index.js';
import { mnistCnn } from '../../lib/models/index.js';
import { cloneModule } from '../../lib/quantization/copy.js';
import type { BenchCase, BenchContext, Prepared } from '../lib/types.js';

type Fwd = { forward(x: Tensor): Tensor; dispose(): void };

function logits(m: Fwd, x: Tensor): Float64Array {
  return noGrad(() => tidy(() => Float64Array.from(m.forward(x).dataSync() as ArrayLike<number>)));
}

function build(batch: number): { fp32: Fwd; int8: Fwd; inputs: Tensor[]; calib: Tensor[] } {
  manualSeed(0);
  const fp32 = mnistCnn().eval() as unknown as Fwd;
  const calib = Array.from({ length: 4 }, () => randn([64, 1, 28, 28]));
  const int8 = quantization.quantizeStatic(fp32 as never, calib) as unknown as Fwd;
  const inputs = Array.from({ length: 4 }, () => randn([batch, 1, 28, 28]));
  return { fp32, int8, inputs, calib };
}

function modelCases(batch: number): BenchCase[] {
  // MACs of the CNN per image: conv1 16·24·24·25, conv2 32·8·8·400, linear 512·10
  const flops = 2 * batch * (16 * 24 * 24 * 25 + 32 * 8 * 8 * 400 + 512 * 10);
  const mk = (which: 'int8' | 'fp32'): BenchCase => ({
    op: 'int8',
    id: which === 'int8' ? `int8 static cnn forward b${batch}` : `int8 fp32-baseline cnn forward b${batch}`,
    shape: `MNIST CNN, (${batch}, 1, 28, 28) → (${batch}, 10)${which === 'int8' ? ', int8 convs + fused pools + int8 linear' : ''}`,
    dtype: which === 'int8' ? 'int8' : 'float32',
    flops,
    bytes: batch * 28 * 28 * 4 + batch * 10 * 4,
    inputBytes: batch * 28 * 28 * 4,
    kernels: [],
    prepare(): Prepared {
      const b = build(batch);
      const m = which === 'int8' ? b.int8 : b.fp32;
      return {
        run: (i) => void noGrad(() => tidy(() => m.forward(b.inputs[i % b.inputs.length]!).dataSync())),
        validate() {
          const x = b.inputs[0]!;
          const got = logits(m, x);
          if (which === 'int8') {
            const plain = quantization.quantizeStatic(b.fp32 as never, b.calib, { fuseMaxPool: false }) as unknown as Fwd;
            const want = logits(plain, x);
            plain.dispose();
            let bad = 0;
            for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) bad++;
            return { ok: bad === 0, worst: bad, against: 'the unfused int8 model (fuseMaxPool: false), bit for bit' };
          }
          const ref = (cloneModule(b.fp32 as never) as unknown as { double(): Fwd }).double();
          const want = noGrad(() => tidy(() => Float64Array.from(ref.forward(x.double()).dataSync() as ArrayLike<number>)));
          ref.dispose();
          let top = 0,
            worst = 0;
          for (let i = 0; i < want.length; i++) {
            top = Math.max(top, Math.abs(want[i]!));
            worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
          }
          const rel = worst / (top || 1);
          return { ok: rel <= 1e-4, worst: rel, against: 'a float64 copy of the model (max |Δ| / max |logit|)' };
        },
        counted: () => null,
        dispose() {
          b.fp32.dispose();
          b.int8.dispose();
          for (const t of [...b.inputs, ...b.calib]) t.dispose();
        },
      };
    },
  });
  return [mk('int8'), mk('fp32')];
}

/** The model-level int8 cases (cpu only, like the kernels'). */
export function int8ModelCases(ctx: BenchContext): BenchCase[] {
  if (ctx.backend !== 'js') return [];
  return ctx.quick ? modelCases(64) : [...modelCases(64), ...modelCases(256)];
}
