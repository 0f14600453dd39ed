// Vague errors made specific: allocations too large for the backend, too deep tensor() data,
// tidy without a function, a non-tensor .grad, backward's options in the grad slot; and
// console.log(tensor) printing what String(t) does. Nothing leaks after a refused call.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { getBackend, memory, OutOfMemoryError, tensor, tidy } from '../../lib/index.js';
import type { Backend } from '../../lib/backend/kernels.js';
import { empty } from '../../lib/ops/util.js';

function refused(fn: () => unknown, re: RegExp): void {
  const before = memory().tensors;
  expect(fn).toThrow(re);
  expect(memory().tensors, `leak after ${re}`).toBe(before);
}

describe('allocations too large for the backend', () => {
  it('name the op, the shape, the bytes and the limit, before allocating', () => {
    refused(
      () => wg.zeros([1e6, 1e6]),
      /^zeros: \(1000000,1000000\) float32 needs 4 TB; the js backend's limit is 2147483647 elements per tensor \(8\.59 GB of float32\)$/,
    );
    refused(() => wg.ones([2 ** 31]), /ones: \(2147483648,\) float32 needs 8\.59 GB; the js backend's limit/);
    refused(() => wg.full([2 ** 16, 2 ** 16, 2], 1, { dtype: 'float64' }), /full: \(65536,65536,2\) float64 needs 68\.7 GB/);
    refused(() => wg.rand([1e5, 1e5]), /rand: \(100000,100000\) float32 needs 40 GB/);
    refused(() => wg.randn([1e5, 1e5]), /randn: /);
    refused(() => wg.randint(0, 5, [1e5, 1e5]), /randint: /);
    refused(() => wg.arange(0, 1e12, 1, { dtype: 'float32' }), /arange: \(1000000000000,\) float32 needs 4 TB/);
    refused(() => wg.linspace(0, 1, 3e9), /linspace: \(3000000000,\) float32 needs 12 GB/);
    refused(() => wg.eye(1e5), /eye: \(100000,100000\) float32 needs 40 GB/);
    // an op whose output is large names itself too (expand materialises)
    refused(() => tidy(() => wg.ones([1e5, 1]).add(wg.ones([1, 1e5]))), /^add: \(100000,100000\) float32 needs 40 GB/);
    refused(() => tidy(() => wg.ones([1e5, 1]).matmul(wg.ones([1, 1e5]))), /^matmul: \(100000,100000\) float32 needs 40 GB/);
    refused(() => tidy(() => tensor([1]).expand([1e5, 1e5])), /^expand: \(100000,100000\) float32 needs 40 GB; the js backend's limit/);
  });
});

describe('allocation failures the size check cannot foresee', () => {
  const stub = (err: Error): Backend =>
    ({
      ...getBackend('cpu'),
      maxElements: undefined,
      alloc: () => {
        throw err;
      },
    }) as Backend;
  it('host out of memory (V8) names the op, shape and bytes', () => {
    expect(() => empty(stub(new RangeError('Array buffer allocation failed')), [1000, 1000], 'float64', 'zeros')).toThrow(
      /^zeros: out of memory allocating \(1000,1000\) float64 \(8 MB\) on cpu: Array buffer allocation failed$/,
    );
  });
  it('a device OutOfMemoryError keeps its class and fields, and gains the op and shape', () => {
    const oom = new OutOfMemoryError('cuda:0: out of memory (cap 1 GB)', 4e9, null);
    let caught: unknown;
    try {
      empty(stub(oom), [1e9], 'float32', 'randn');
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(oom);
    expect(caught).toBeInstanceOf(OutOfMemoryError);
    expect((caught as OutOfMemoryError).requestedBytes).toBe(4e9);
    expect((caught as Error).message).toBe('randn: (1000000000,) float32 (4 GB): cuda:0: out of memory (cap 1 GB)');
  });
});

describe('tensor() data', () => {
  it('nested deeper than the limit (or cyclic) is a clear error, not a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    refused(() => tensor(deep as never), /tensor: data is nested deeper than 64 levels \(a cyclic array\?\)/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    refused(() => tensor(cyclic as never), /nested deeper than 64 levels/);
    let ok: unknown = 2;
    for (let i = 0; i < 64; i++) ok = [ok];
    const t = tensor(ok as never);
    expect(t.ndim).toBe(64);
    expect(t.item()).toBe(2);
    t.dispose();
  });
});

describe('misuse of the autograd and memory API', () => {
  it('tidy(non-function) says what to pass', () => {
    expect(() => tidy(5 as never)).toThrow(/^tidy: expected a function, got number \(write tidy\(\(\) => \.\.\.\)\)$/);
    expect(() => tidy(null as never)).toThrow(/tidy: expected a function, got null/);
  });

  it('.grad accepts only null or a tensor of the same shape, dtype and device (torch rules)', () =>
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      expect(() => {
        (x as { grad: unknown }).grad = 5;
      }).toThrow(/grad: assigned grad must be a Tensor or null, got number 5 \(for tensor \(2,\) float32\)/);
      expect(() => {
        (x as { grad: unknown }).grad = [1, 2];
      }).toThrow(/got Array/);
      expect(() => {
        x.grad = tensor([1, 2, 3]);
      }).toThrow(/grad: assigned grad has shape \(3,\), but the tensor is \(2,\)/);
      expect(() => {
        x.grad = tensor([1, 2], { dtype: 'float64' });
      }).toThrow(/grad: assigned grad is float64, but the tensor is float32/);
      expect(x.grad).toBeNull(); // nothing was stored, so backward works
      x.mul(3).sum().backward();
      expect(x.grad!.toArray()).toEqual([3, 3]);
      x.grad = null;
      expect(x.grad).toBeNull();
    }));

  it('backward(options) in the grad slot is named', () =>
    tidy(() => {
      const x = tensor([1, 2], { requiresGrad: true });
      const y = x.mul(2).sum();
      expect(() => y.backward({ retainGraph: true } as never)).toThrow(
        /backward: grad must be a tensor of shape \(\) or null, got a plain object \(options go second/,
      );
      expect(() => y.backward(5 as never)).toThrow(/got number/);
      y.backward(); // the graph is intact after the refusals
      expect(x.grad!.toArray()).toEqual([2, 2]);
    }));
});

describe('printing', () => {
  it('console.log / util.inspect print what String(t) does', () =>
    tidy(() => {
      const t = tensor(
        [
          [1, 2],
          [3, 4],
        ],
        { requiresGrad: true },
      );
      expect(inspect(t)).toBe(String(t));
      expect(inspect(t)).toBe('Tensor((2,2), float32, cpu, requiresGrad) [[1,2],[3,4]]');
      expect(inspect({ w: t })).toContain('Tensor((2,2), float32');
      const d = tensor([1]);
      d.dispose();
      expect(inspect(d)).toBe(String(d));
    }));
});
