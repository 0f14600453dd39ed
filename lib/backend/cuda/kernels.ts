// The cuda kernel table: a thin layer over the addon's kernel entry points (binding.d.ts,
// KernelBinding). Names, dtypes and ops become small integer codes; shapes and conv/pool
// parameters are packed into module-level Float64Arrays that the addon reads during the call
// (calls are synchronous, so one scratch array per kind is enough). No per-call allocation.
//
// The code tables below must match native/kernels/kernels.h; `checkKernelEnums` compares them
// with the addon's own lists (the parity test calls it).

import type { KernelBinding, KernelEnums, NativeBuffer } from '../../../binding.js';
import type { DType } from '../../dtype.js';
import type {
  Activation,
  ArgReduceOp,
  BinaryOp,
  Conv2dParams,
  Handle,
  Kernels,
  Pool2dParams,
  ReduceOp,
  UnaryGradOp,
  UnaryOp,
} from '../kernels.js';

export const DTYPE_NAMES = ['float32', 'float64', 'int32', 'bfloat16', 'float16'] as const;
export const UNARY_NAMES = [
  'neg',
  'abs',
  'sign',
  'exp',
  'expm1',
  'log',
  'log1p',
  'sqrt',
  'rsqrt',
  'square',
  'reciprocal',
  'sin',
  'cos',
  'floor',
  'ceil',
  'round',
  'tanh',
  'sigmoid',
  'relu',
  'gelu',
  'gelu_tanh',
  'silu',
  'softplus',
  'leaky_relu',
  'elu',
  'clamp',
  'add_scalar',
  'mul_scalar',
  'rsub_scalar',
  'rdiv_scalar',
  'pow_scalar',
  'rpow_scalar',
  'gt_scalar',
  'lt_scalar',
  'ge_scalar',
  'le_scalar',
  'eq_scalar',
  'ne_scalar',
] as const satisfies readonly UnaryOp[];
export const UNARY_GRAD_NAMES = [
  'relu',
  'gelu',
  'gelu_tanh',
  'silu',
  'tanh',
  'sigmoid',
  'softplus',
  'leaky_relu',
  'elu',
  'clamp',
  'abs',
] as const satisfies readonly UnaryGradOp[];
export const BINARY_NAMES = [
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
] as const satisfies readonly BinaryOp[];
export const REDUCE_NAMES = ['sum', 'max', 'min', 'prod'] as const satisfies readonly ReduceOp[];
export const ARG_REDUCE_NAMES = ['argmax', 'argmin'] as const satisfies readonly ArgReduceOp[];
export const ACTIVATION_NAMES = ['none', 'relu', 'gelu', 'tanh', 'sigmoid'] as const satisfies readonly Activation[];

function codes<T extends string>(names: readonly T[]): Record<T, number> {
  const out = {} as Record<T, number>;
  names.forEach((n, i) => {
    out[n] = i;
  });
  return out;
}

const DT = codes<DType>(DTYPE_NAMES);
const UN = codes<UnaryOp>(UNARY_NAMES);
const UG = codes<UnaryGradOp>(UNARY_GRAD_NAMES);
const BI = codes<BinaryOp>(BINARY_NAMES);
const RE = codes<ReduceOp>(REDUCE_NAMES);
const AR = codes<ArgReduceOp>(ARG_REDUCE_NAMES);
const AC = codes<Activation>(ACTIVATION_NAMES);

/** The lists the TS side uses, in code order (compare with binding.kernelEnums()). */
export const TS_KERNEL_ENUMS: KernelEnums = {
  dtypes: [...DTYPE_NAMES],
  unary: [...UNARY_NAMES],
  unaryGrad: [...UNARY_GRAD_NAMES],
  binary: [...BINARY_NAMES],
  reduce: [...REDUCE_NAMES],
  argReduce: [...ARG_REDUCE_NAMES],
  activation: [...ACTIVATION_NAMES],
};

/** Throws when the addon's code tables differ from these (a build of another version). */
export function checkKernelEnums(binding: KernelBinding): void {
  const native = binding.kernelEnums();
  for (const key of Object.keys(TS_KERNEL_ENUMS) as (keyof KernelEnums)[]) {
    const a = TS_KERNEL_ENUMS[key].join(','),
      b = (native[key] ?? []).join(',');
    if (a !== b) throw new Error(`cuda kernels: ${key} codes differ between TS (${a}) and the addon (${b})`);
  }
}

const MAX_DIMS = 8;
const dimsScratch = new Float64Array(MAX_DIMS * 4);
const convScratch = new Float64Array(16);
const poolScratch = new Float64Array(15);

function rankCheck(kernel: string, n: number): void {
  if (n > MAX_DIMS) throw new RangeError(`${kernel}: rank ${n} exceeds ${MAX_DIMS} dims on cuda`);
}

function packConv(p: Conv2dParams): Float64Array {
  const s = convScratch;
  s[0] = p.batch;
  s[1] = p.inC;
  s[2] = p.inH;
  s[3] = p.inW;
  s[4] = p.outC;
  s[5] = p.kH;
  s[6] = p.kW;
  s[7] = p.outH;
  s[8] = p.outW;
  s[9] = p.strideH;
  s[10] = p.strideW;
  s[11] = p.padH;
  s[12] = p.padW;
  s[13] = p.dilationH;
  s[14] = p.dilationW;
  s[15] = p.groups;
  return s;
}

function packPool(p: Pool2dParams): Float64Array {
  const s = poolScratch;
  s[0] = p.batch;
  s[1] = p.channels;
  s[2] = p.inH;
  s[3] = p.inW;
  s[4] = p.outH;
  s[5] = p.outW;
  s[6] = p.kH;
  s[7] = p.kW;
  s[8] = p.strideH;
  s[9] = p.strideW;
  s[10] = p.padH;
  s[11] = p.padW;
  s[12] = p.dilationH;
  s[13] = p.dilationW;
  s[14] = p.countIncludePad ? 1 : 0;
  return s;
}

// Handles of the cuda backend are the addon's NativeBuffers; the casts cost nothing at run time.
const B = (h: Handle): NativeBuffer => h as NativeBuffer;
const Bn = (h: Handle | null): NativeBuffer | null => h as NativeBuffer | null;
const Bl = (hs: Handle[]): NativeBuffer[] => hs as NativeBuffer[];

/** An entry point added after the first kernel set: an addon built before it lacks it (say so, not "undefined is not a function"). */
function need<N extends 'rmspropStep' | 'adagradStep'>(k: KernelBinding, name: N): KernelBinding[N] {
  const f = k[name];
  if (typeof f !== 'function')
    throw new Error(`cuda backend: this build of the addon has no '${name}' kernel; rebuild it (npm run build:native)`);
  return f;
}

/** Whether the addon carries every kernel entry point (a CUDA build with ops_*.cc linked in). */
export function hasCudaKernels(binding: Partial<KernelBinding>): binding is KernelBinding {
  return typeof binding.matmul === 'function' && typeof binding.adamStep === 'function' && typeof binding.kernelEnums === 'function';
}

/**
 * The Kernels table of the cuda backend over the addon's kernel exports. Takes the addon's
 * Binding (kernels are Partial there); throws when this build has no kernels.
 */
export function makeCudaKernels(binding: Partial<KernelBinding>): Kernels {
  if (!hasCudaKernels(binding)) throw new Error('cuda kernels: this build of the addon has no kernel entry points');
  const k: KernelBinding = binding;
  return {
    fill: (out, n, value, dtype) => k.fill(B(out), n, value, DT[dtype]),
    cast: (x, out, n, from, to) => k.cast(B(x), B(out), n, DT[from], DT[to]),
    unary: (op, x, out, n, dtype, a, b) => k.unary(UN[op], B(x), B(out), n, DT[dtype], a, b),
    unaryGrad: (op, x, y, dy, dx, n, dtype, a, b) => k.unaryGrad(UG[op], B(x), B(y), B(dy), B(dx), n, DT[dtype], a, b),

    binary(op, a, b, out, outShape, aStrides, bStrides, dtype) {
      const nd = outShape.length;
      rankCheck('binary', nd);
      const d = dimsScratch;
      for (let i = 0; i < nd; i++) {
        d[i] = outShape[i]!;
        d[nd + i] = aStrides[i]!;
        d[2 * nd + i] = bStrides[i]!;
      }
      k.binary(BI[op], B(a), B(b), B(out), nd, d, DT[dtype]);
    },
    where(cond, a, b, out, outShape, condStrides, aStrides, bStrides, condDtype, dtype) {
      const nd = outShape.length;
      rankCheck('where', nd);
      const d = dimsScratch;
      for (let i = 0; i < nd; i++) {
        d[i] = outShape[i]!;
        d[nd + i] = condStrides[i]!;
        d[2 * nd + i] = aStrides[i]!;
        d[3 * nd + i] = bStrides[i]!;
      }
      k.where(B(cond), B(a), B(b), B(out), nd, d, DT[condDtype], DT[dtype]);
    },
    addBiasAct: (x, bias, out, outer, c, inner, act, dtype) => k.addBiasAct(B(x), B(bias), B(out), outer, c, inner, AC[act], DT[dtype]),

    reduce: (op, x, out, outer, r, inner, dtype) => k.reduce(RE[op], B(x), B(out), outer, r, inner, DT[dtype]),
    argReduce: (op, x, out, outer, r, inner, dtype) => k.argReduce(AR[op], B(x), B(out), outer, r, inner, DT[dtype]),
    stridedCopy(src, dst, shape, srcStrides, srcOffset, dstStrides, dstOffset, dtype, accumulate) {
      const nd = shape.length;
      rankCheck('stridedCopy', nd);
      const d = dimsScratch;
      for (let i = 0; i < nd; i++) {
        d[i] = shape[i]!;
        d[nd + i] = srcStrides[i]!;
        d[2 * nd + i] = dstStrides[i]!;
      }
      k.stridedCopy(B(src), B(dst), nd, d, srcOffset, dstOffset, DT[dtype], accumulate);
    },

    matmul: (a, b, out, batch, m, n, kk, transA, transB, aBatchStride, bBatchStride, dtype) =>
      k.matmul(B(a), B(b), B(out), batch, m, n, kk, transA, transB, aBatchStride, bBatchStride, DT[dtype]),
    conv2d: (x, w, y, p, dtype) => k.conv2d(B(x), B(w), B(y), packConv(p), DT[dtype]),
    conv2dGradInput: (dy, w, dx, p, dtype) => k.conv2dGradInput(B(dy), B(w), B(dx), packConv(p), DT[dtype]),
    conv2dGradWeight: (x, dy, dw, p, dtype) => k.conv2dGradWeight(B(x), B(dy), B(dw), packConv(p), DT[dtype]),

    maxPool2d: (x, y, argmax, p, dtype) => k.maxPool2d(B(x), B(y), B(argmax), packPool(p), DT[dtype]),
    maxPool2dBackward: (dy, argmax, dx, p, dtype) => k.maxPool2dBackward(B(dy), B(argmax), B(dx), packPool(p), DT[dtype]),
    avgPool2d: (x, y, p, dtype) => k.avgPool2d(B(x), B(y), packPool(p), DT[dtype]),
    avgPool2dBackward: (dy, dx, p, dtype) => k.avgPool2dBackward(B(dy), B(dx), packPool(p), DT[dtype]),
    adaptiveAvgPool2d: (x, y, batch, channels, inH, inW, outH, outW, dtype) =>
      k.adaptiveAvgPool2d(B(x), B(y), batch, channels, inH, inW, outH, outW, DT[dtype]),
    adaptiveAvgPool2dBackward: (dy, dx, batch, channels, inH, inW, outH, outW, dtype) =>
      k.adaptiveAvgPool2dBackward(B(dy), B(dx), batch, channels, inH, inW, outH, outW, DT[dtype]),

    indexSelect: (x, idx, out, outer, dimSize, inner, nIdx, dtype) =>
      k.indexSelect(B(x), B(idx), B(out), outer, dimSize, inner, nIdx, DT[dtype]),
    indexSelectBackward: (dy, idx, dx, outer, dimSize, inner, nIdx, dtype) =>
      k.indexSelectBackward(B(dy), B(idx), B(dx), outer, dimSize, inner, nIdx, DT[dtype]),
    gather: (x, idx, out, outer, dimSize, inner, kk, dtype) => k.gather(B(x), B(idx), B(out), outer, dimSize, inner, kk, DT[dtype]),
    gatherBackward: (dy, idx, dx, outer, dimSize, inner, kk, dtype) =>
      k.gatherBackward(B(dy), B(idx), B(dx), outer, dimSize, inner, kk, DT[dtype]),

    softmax: (x, y, rows, cols, log, dtype) => k.softmax(B(x), B(y), rows, cols, log, DT[dtype]),
    softmaxBackward: (y, dy, dx, rows, cols, log, dtype) => k.softmaxBackward(B(y), B(dy), B(dx), rows, cols, log, DT[dtype]),
    crossEntropy: (logits, targets, loss, rows, cols, ls, ignoreIndex, dtype) =>
      k.crossEntropy(B(logits), B(targets), B(loss), rows, cols, ls, ignoreIndex, DT[dtype]),
    crossEntropyBackward: (logits, targets, dloss, dlogits, rows, cols, ls, ignoreIndex, dtype) =>
      k.crossEntropyBackward(B(logits), B(targets), B(dloss), B(dlogits), rows, cols, ls, ignoreIndex, DT[dtype]),

    layerNorm: (x, gamma, beta, y, mean, rstd, rows, cols, eps, dtype) =>
      k.layerNorm(B(x), Bn(gamma), Bn(beta), B(y), B(mean), B(rstd), rows, cols, eps, DT[dtype]),
    layerNormBackward: (dy, x, gamma, mean, rstd, dx, dgamma, dbeta, rows, cols, dtype) =>
      k.layerNormBackward(B(dy), B(x), Bn(gamma), B(mean), B(rstd), B(dx), Bn(dgamma), Bn(dbeta), rows, cols, DT[dtype]),
    batchNorm: (x, gamma, beta, rm, rv, y, sm, si, n, c, hw, training, momentum, eps, dtype) =>
      k.batchNorm(B(x), Bn(gamma), Bn(beta), Bn(rm), Bn(rv), B(y), B(sm), B(si), n, c, hw, training, momentum, eps, DT[dtype]),
    batchNormBackward: (dy, x, gamma, sm, si, dx, dgamma, dbeta, n, c, hw, training, dtype) =>
      k.batchNormBackward(B(dy), B(x), Bn(gamma), B(sm), B(si), B(dx), Bn(dgamma), Bn(dbeta), n, c, hw, training, DT[dtype]),

    lstmCell: (gates, cPrev, h, c, act, batch, hidden, dtype) =>
      k.lstmCell(B(gates), B(cPrev), B(h), B(c), B(act), batch, hidden, DT[dtype]),
    lstmCellBackward: (act, cPrev, c, dh, dc, dGates, dcPrev, batch, hidden, dtype) =>
      k.lstmCellBackward(B(act), B(cPrev), B(c), B(dh), Bn(dc), B(dGates), B(dcPrev), batch, hidden, DT[dtype]),
    gruCell: (xg, hg, hPrev, h, saved, batch, hidden, dtype) => k.gruCell(B(xg), B(hg), B(hPrev), B(h), B(saved), batch, hidden, DT[dtype]),
    gruCellBackward: (saved, hPrev, dh, dxg, dhg, dhPrev, batch, hidden, dtype) =>
      k.gruCellBackward(B(saved), B(hPrev), B(dh), B(dxg), B(dhg), B(dhPrev), batch, hidden, DT[dtype]),

    randUniform: (out, n, seed, offset, low, high, dtype) => k.randUniform(B(out), n, seed, offset, low, high, DT[dtype]),
    randNormal: (out, n, seed, offset, mean, std, dtype) => k.randNormal(B(out), n, seed, offset, mean, std, DT[dtype]),
    dropoutMask: (mask, n, p, seed, offset, dtype) => k.dropoutMask(B(mask), n, p, seed, offset, DT[dtype]),

    sgdStep: (params, grads, bufs, numels, h, dtype) =>
      k.sgdStep(
        Bl(params),
        Bl(grads),
        bufs === null ? null : Bl(bufs),
        numels,
        h.lr,
        h.momentum,
        h.dampening,
        h.nesterov,
        h.weightDecay,
        h.maximize,
        h.firstStep,
        DT[dtype],
      ),
    adamStep: (params, grads, expAvg, expAvgSq, maxExpAvgSq, numels, h, dtype) =>
      k.adamStep(
        Bl(params),
        Bl(grads),
        Bl(expAvg),
        Bl(expAvgSq),
        maxExpAvgSq === null ? null : Bl(maxExpAvgSq),
        numels,
        h.lr,
        h.beta1,
        h.beta2,
        h.eps,
        h.weightDecay,
        h.decoupled,
        h.amsgrad,
        h.maximize,
        h.step,
        DT[dtype],
      ),
    rmspropStep: (params, grads, squareAvg, bufs, gradAvg, numels, h, dtype) =>
      need(k, 'rmspropStep').call(
        k,
        Bl(params),
        Bl(grads),
        Bl(squareAvg),
        bufs === null ? null : Bl(bufs),
        gradAvg === null ? null : Bl(gradAvg),
        numels,
        h.lr,
        h.alpha,
        h.eps,
        h.weightDecay,
        h.momentum,
        h.centered,
        h.maximize,
        DT[dtype],
      ),
    adagradStep: (params, grads, stateSum, numels, h, dtype) =>
      need(k, 'adagradStep').call(k, Bl(params), Bl(grads), Bl(stateSum), numels, h.clr, h.eps, h.weightDecay, h.maximize, DT[dtype]),
  };
}

/** torch.backends.cuda.matmul.allow_tf32 for this addon (float32 matmul on TF32 tensor cores). */
export function setAllowTf32(binding: KernelBinding, allow: boolean): void {
  binding.setAllowTf32(allow);
}
