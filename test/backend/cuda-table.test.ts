// The cuda backend's kernel table (lib/backend/cuda/kernels.gen.ts, generated from
// native/manifest/cuda/*.mjs) over a recording stand-in for the addon: no GPU needed. Every kernel
// calls the entry point of its name with the argument count the native side checks (ArgCount in
// native/src/ops_gen_*.cc), handles passed through, dtypes and ops as the kernels.h codes, shapes and
// conv/pool parameters packed in their documented order, hyper-parameters unpacked in order.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KernelBinding } from '../../binding.js';
import type { Handle, KernelName } from '../../lib/backend/kernels.js';
import { BINARY_NAMES, DTYPE_NAMES, UNARY_NAMES, makeCudaKernels } from '../../lib/backend/cuda/kernels.js';

interface Entry {
  name: string;
  args: { name: string }[];
}
// the manifests themselves (plain .mjs modules), so a new entry is checked without editing this test
const dir = path.resolve(import.meta.dirname, '..', '..', 'native', 'manifest', 'cuda');
const manifest: Entry[] = [];
beforeAll(async () => {
  for (const f of fs
    .readdirSync(dir)
    .filter((x) => x.endsWith('.mjs'))
    .sort()) {
    const mod = (await import(pathToFileURL(path.join(dir, f)).href)) as { entries: Entry[] };
    manifest.push(...mod.entries);
  }
});

type Call = { name: string; args: unknown[] };
function recorder(omit: string[] = []): { binding: KernelBinding; calls: Call[] } {
  const calls: Call[] = [];
  const target: Record<string, unknown> = {};
  for (const e of manifest) {
    if (omit.includes(e.name)) continue;
    // copy typed arrays: the table reuses its scratch arrays between calls
    target[e.name] = (...args: unknown[]) =>
      calls.push({ name: e.name, args: args.map((a) => (a instanceof Float64Array ? Array.from(a) : a)) });
  }
  target.kernelEnums = () => ({});
  return { binding: target as unknown as KernelBinding, calls };
}

const h = (n: number): Handle => ({ byteLength: n, tag: n }) as unknown as Handle;

describe('cuda kernel table over the addon entry points (generated from native/manifest/cuda)', () => {
  it('has every kernel of the manifests, and each passes the argument count the entry point checks', () => {
    const { binding, calls } = recorder();
    const table = makeCudaKernels(binding);
    expect(Object.keys(table).sort()).toEqual(manifest.map((e) => e.name).sort());
    const conv = {
      batch: 1,
      inC: 2,
      inH: 3,
      inW: 4,
      outC: 5,
      kH: 1,
      kW: 1,
      outH: 3,
      outW: 4,
      strideH: 1,
      strideW: 1,
      padH: 0,
      padW: 0,
      dilationH: 1,
      dilationW: 1,
      groups: 1,
    };
    const poolP = {
      batch: 1,
      channels: 2,
      inH: 4,
      inW: 4,
      outH: 2,
      outW: 2,
      kH: 2,
      kW: 2,
      strideH: 2,
      strideW: 2,
      padH: 0,
      padW: 0,
      dilationH: 1,
      dilationW: 1,
      countIncludePad: true,
    };
    const hyper = {
      lr: 0.1,
      momentum: 0.9,
      dampening: 0,
      nesterov: false,
      weightDecay: 0,
      maximize: false,
      firstStep: true,
      beta1: 0.9,
      beta2: 0.99,
      eps: 1e-8,
      decoupled: true,
      amsgrad: false,
      step: 1,
      alpha: 0.99,
      centered: false,
      clr: 0.1,
    };
    // call every kernel with plausible arguments of the right kinds
    for (const name of Object.keys(table) as KernelName[]) {
      const fn = table[name] as (...a: unknown[]) => void;
      const arity = fn.length;
      const args: unknown[] = [];
      for (let i = 0; i < arity; i++) args.push(h(i + 1));
      // fill the non-handle slots the table reads by name
      const src = fn.toString();
      const params = src
        .slice(src.indexOf('(') + 1, src.indexOf(')'))
        .split(',')
        .map((s) => s.trim());
      params.forEach((p, i) => {
        if (p === 'dtype' || p === 'from' || p === 'to' || p === 'condDtype') args[i] = 'float32';
        else if (p === 'op')
          args[i] =
            name === 'unary' ? 'exp' : name === 'unaryGrad' ? 'relu' : name === 'binary' ? 'mul' : name === 'reduce' ? 'sum' : 'argmax';
        else if (p === 'act') args[i] = 'relu';
        else if (p === 'p') args[i] = name.startsWith('conv') ? conv : name === 'dropoutMask' ? 0.5 : poolP;
        else if (p === 'h') args[i] = hyper;
        else if (/Shape|Strides|^shape$/.test(p)) args[i] = [2, 3];
        else if (p === 'numels') args[i] = [6];
        else if (['params', 'grads', 'momentumBufs', 'expAvg', 'expAvgSq', 'maxExpAvgSq', 'squareAvg', 'gradAvg', 'stateSum'].includes(p))
          args[i] = [h(9)];
      });
      fn(...args);
    }
    for (const e of manifest) {
      const c = calls.find((x) => x.name === e.name);
      expect(c, e.name).toBeDefined();
      expect(c!.args.length, `${e.name}(${e.args.map((a) => a.name).join(', ')})`).toBe(e.args.length);
    }
  });

  it('maps codes, packs dims and parameters, unpacks hyper-parameters in the native order', () => {
    const { binding, calls } = recorder();
    const t = makeCudaKernels(binding);
    const [a, b, out] = [h(1), h(2), h(3)];
    t.binary('mul', a, b, out, [2, 3], [3, 1], [0, 1], 'float64');
    expect(calls.at(-1)).toEqual({
      name: 'binary',
      args: [BINARY_NAMES.indexOf('mul'), a, b, out, 2, expect.anything(), DTYPE_NAMES.indexOf('float64')],
    });
    expect((calls.at(-1)!.args[5] as number[]).slice(0, 6)).toEqual([2, 3, 3, 1, 0, 1]);
    t.where(a, b, out, h(4), [2], [1], [0], [1], 'int32', 'float32');
    expect((calls.at(-1)!.args[5] as number[]).slice(0, 4)).toEqual([2, 1, 0, 1]);
    expect(calls.at(-1)!.args.slice(6)).toEqual([DTYPE_NAMES.indexOf('int32'), DTYPE_NAMES.indexOf('float32')]);
    // stridedCopy: KernelFns order (shape, srcStrides, srcOffset, dstStrides, dstOffset) → native (ndim, dims, srcOffset, dstOffset)
    t.stridedCopy(a, b, [4, 5], [5, 1], 7, [1, 4], 9, 'float32', true);
    expect(calls.at(-1)!.args[2]).toBe(2);
    expect((calls.at(-1)!.args[3] as number[]).slice(0, 6)).toEqual([4, 5, 5, 1, 1, 4]);
    expect(calls.at(-1)!.args.slice(4)).toEqual([7, 9, 0, true]);
    t.unary('exp', a, b, 5, 'bfloat16', 0.5, 2);
    expect(calls.at(-1)!.args).toEqual([UNARY_NAMES.indexOf('exp'), a, b, 5, DTYPE_NAMES.indexOf('bfloat16'), 0.5, 2]);
    const conv = {
      batch: 1,
      inC: 2,
      inH: 3,
      inW: 4,
      outC: 5,
      kH: 6,
      kW: 7,
      outH: 8,
      outW: 9,
      strideH: 10,
      strideW: 11,
      padH: 12,
      padW: 13,
      dilationH: 14,
      dilationW: 15,
      groups: 16,
    };
    t.conv2d(a, b, out, conv, 'float32');
    expect(calls.at(-1)!.args[3]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    t.avgPool2d(
      a,
      b,
      {
        batch: 1,
        channels: 2,
        inH: 3,
        inW: 4,
        outH: 5,
        outW: 6,
        kH: 7,
        kW: 8,
        strideH: 9,
        strideW: 10,
        padH: 11,
        padW: 12,
        dilationH: 13,
        dilationW: 14,
        countIncludePad: true,
      },
      'float32',
    );
    expect(calls.at(-1)!.args[2]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 1]);
    t.adamStep(
      [a],
      [b],
      [out],
      [h(4)],
      null,
      [3],
      { lr: 0.1, beta1: 0.8, beta2: 0.9, eps: 1e-6, weightDecay: 0.01, decoupled: true, amsgrad: false, maximize: true, step: 4 },
      'float32',
    );
    expect(calls.at(-1)!.args.slice(4)).toEqual([null, [3], 0.1, 0.8, 0.9, 1e-6, 0.01, true, false, true, 4, 0]);
    t.layerNorm(a, null, b, out, h(5), h(6), 2, 3, 1e-5, 'float64');
    expect(calls.at(-1)!.args.slice(1, 3)).toEqual([null, b]);
  });

  it('an addon without a later kernel says which and how to fix it', () => {
    const { binding } = recorder(['rmspropStep']);
    const t = makeCudaKernels(binding);
    expect(() =>
      t.rmspropStep(
        [h(1)],
        [h(2)],
        [h(3)],
        null,
        null,
        [1],
        { lr: 1, alpha: 0.9, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false },
        'float32',
      ),
    ).toThrow(/no 'rmspropStep' kernel; rebuild it \(npm run build:native\)/);
  });
});
