// The js backend's fused optimizer kernels (sgdStep, adamStep) through the addon's CPU kernels
// (native/cpu/optim*.cc) when it is loaded and carries them, else the pure-JS kernels of
// ./optim.ts. The native steps do the js kernels' arithmetic element for element (float64, same
// operation order, no FMA, state rounded on store), so both give the same bits; the addon adds
// SIMD and the thread pool, over every tensor of the group in one call.

import type { CpuKernelBinding } from '../../../binding.js';
import type { Handle, KernelFns } from '../kernels.js';
import { farrOf, floatDType, type FloatArray } from './handle.js';
import { nativeCpu } from './native-cpu.js';
import { adamStep as jsAdamStep, sgdStep as jsSgdStep } from './optim.js';

/** The addon's optimizer entry points (generated from native/manifest/cpu/optim.mjs into binding.d.ts). */
export type NativeOptimBinding = Pick<CpuKernelBinding, 'cpuSgdStep' | 'cpuAdamStep'>;

/** The addon's optimizer kernels, or null (no addon, one without them, WATTGRAD_CPU_KERNELS=js). */
export function nativeOptim(): NativeOptimBinding | null {
  const n = nativeCpu() as unknown as Partial<NativeOptimBinding> | null;
  return n && typeof n.cpuAdamStep === 'function' && typeof n.cpuSgdStep === 'function' ? (n as NativeOptimBinding) : null;
}

/** The typed arrays of a list, all of the dtype's class, or null (then the js kernel runs). */
function arrays(hs: Handle[], dtype: 'float32' | 'float64', kernel: string): FloatArray[] | null {
  const out: FloatArray[] = new Array<FloatArray>(hs.length);
  for (let i = 0; i < hs.length; i++) {
    const a = farrOf(hs[i]!, dtype, kernel);
    if (a === null) return null;
    out[i] = a;
  }
  return out;
}

export const sgdStep: KernelFns['sgdStep'] = (params, grads, momentumBufs, numels, h, dtype) => {
  const nat = nativeOptim();
  if (nat && params.length === grads.length && params.length === numels.length) {
    const dt = floatDType(dtype, 'sgdStep');
    const P = arrays(params, dt, 'sgdStep'),
      G = arrays(grads, dt, 'sgdStep');
    const useBuf = h.momentum !== 0;
    const M = useBuf && momentumBufs && momentumBufs.length === params.length ? arrays(momentumBufs, dt, 'sgdStep') : null;
    if (P && G && (!useBuf || M)) {
      const { lr, momentum, dampening, nesterov, weightDecay, maximize, firstStep } = h;
      nat.cpuSgdStep(P, G, M, Int32Array.from(numels), lr, momentum, dampening, nesterov, weightDecay, maximize, firstStep);
      return;
    }
  }
  jsSgdStep(params, grads, momentumBufs, numels, h, dtype); // also raises the js kernel's errors
};

export const adamStep: KernelFns['adamStep'] = (params, grads, expAvg, expAvgSq, maxExpAvgSq, numels, h, dtype) => {
  const nat = nativeOptim();
  const nT = params.length;
  if (nat && grads.length === nT && expAvg.length === nT && expAvgSq.length === nT && numels.length === nT) {
    const dt = floatDType(dtype, 'adamStep');
    const P = arrays(params, dt, 'adamStep'),
      G = arrays(grads, dt, 'adamStep'),
      M = arrays(expAvg, dt, 'adamStep'),
      V = arrays(expAvgSq, dt, 'adamStep');
    const VM = h.amsgrad && maxExpAvgSq && maxExpAvgSq.length === nT ? arrays(maxExpAvgSq, dt, 'adamStep') : null;
    if (P && G && M && V && (!h.amsgrad || VM)) {
      const { lr, beta1, beta2, eps, weightDecay, decoupled, amsgrad, maximize, step } = h;
      // the js kernel's bias corrections, to the bit (Math.pow, not the C library's pow)
      const stepSize = lr / (1 - Math.pow(beta1, step));
      const bc2Sqrt = Math.sqrt(1 - Math.pow(beta2, step));
      nat.cpuAdamStep(
        P,
        G,
        M,
        V,
        VM,
        Int32Array.from(numels),
        lr,
        beta1,
        beta2,
        eps,
        weightDecay,
        decoupled,
        amsgrad,
        maximize,
        stepSize,
        bc2Sqrt,
      );
      return;
    }
  }
  jsAdamStep(params, grads, expAvg, expAvgSq, maxExpAvgSq, numels, h, dtype);
};
