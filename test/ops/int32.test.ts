// int32 semantics without int64: host values entering an int32 tensor are range-checked like
// torch ("value cannot be converted to type int32 without overflow") instead of wrapping; int64
// data (BigInt64Array, bigint, dtype 'int64') is accepted into int32 with the same check;
// int32 sums are exact (float64). torch's own answers are in test/fixtures/edge_cases.json.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as wg from '../../lib/index.js';
import { data, tensor, tidy } from '../../lib/index.js';
import { describeBackends } from '../util/backends.js';

const torchSays = new Map(
  (
    JSON.parse(readFileSync(new URL('../fixtures/edge_cases.json', import.meta.url), 'utf8')) as {
      cases: { name: string; error?: string; out?: { data: number[] } }[];
    }
  ).cases.map((c) => [c.name, c]),
);
const OVERFLOW = /cannot be converted to type int32 without overflow/;

describeBackends('int32', (ctx) => {
  const i32 = { dtype: 'int32' as const, device: ctx.device };

  it('tensor() refuses values past int32 (and NaN/Infinity), truncates fractions, accepts the extremes', () =>
    tidy(() => {
      for (const k of ['int32_tensor_3e9', 'int32_tensor_2_31', 'int32_tensor_nan'])
        expect(torchSays.get(k)!.error).toMatch(/without overflow/);
      expect(() => tensor([3e9], i32)).toThrow(/tensor: value 3000000000 at index 0 cannot be converted to type int32 without overflow/);
      expect(() =>
        tensor(
          [
            [1, 2],
            [3, 2 ** 31],
          ],
          i32,
        ),
      ).toThrow(/value 2147483648 at index 3/);
      expect(() => tensor([NaN], i32)).toThrow(OVERFLOW);
      expect(() => tensor([-Infinity], i32)).toThrow(OVERFLOW);
      expect(() => tensor(Float64Array.of(1, -3e9), i32)).toThrow(/value -3000000000 at index 1 of the Float64Array/);
      expect(() => tensor(Uint32Array.of(2 ** 32 - 1), i32)).toThrow(/value 4294967295 at index 0 of the Uint32Array/);
      expect(tensor([-(2 ** 31), 2 ** 31 - 1], i32).toArray()).toEqual(torchSays.get('int32_tensor_min')!.out!.data);
      expect(tensor([2.7, -2.7], i32).toArray()).toEqual(torchSays.get('int32_tensor_trunc')!.out!.data);
      expect(tensor(Uint8Array.of(0, 255), i32).toArray()).toEqual([0, 255]);
    }));

  it('full / zeros-like fills / fill_, arange, linspace, randint refuse out-of-range int32', () =>
    tidy(() => {
      expect(torchSays.get('int32_full_1e10')!.error).toMatch(/without overflow/);
      expect(() => wg.full([3], 1e10, i32)).toThrow(/full: value 10000000000 cannot be converted to type int32 without overflow/);
      expect(() => wg.full([3], NaN, i32)).toThrow(OVERFLOW);
      expect(() => wg.fullLike(wg.zeros([2], i32), -(2 ** 31) - 1)).toThrow(/fullLike: value -2147483649/);
      expect(wg.full([2], 2.9, i32).toArray()).toEqual([2, 2]);
      // the same for floats: a finite value past float32's range is torch's overflow error, ±Infinity is fine
      expect(() => wg.full([2], 1e39, { device: ctx.device })).toThrow(
        /full: value 1e\+39 cannot be converted to type float32 without overflow/,
      );
      expect(() => wg.zeros([2], { device: ctx.device }).fill_(-1e39)).toThrow(/fill_: value -1e\+39 cannot be converted to type float32/);
      expect(wg.full([1], Infinity, { device: ctx.device }).item()).toBe(Infinity);
      expect(wg.full([1], 1e39, { dtype: 'float64', device: ctx.device }).item()).toBe(1e39);
      expect(() => wg.arange(2 ** 31 - 2, 2 ** 31 + 2)).toThrow(
        /arange: value 2147483649 \(element 3 of \[2147483646, 2147483650\) by 1\) cannot be converted to type int32/,
      );
      expect(() => wg.arange(0, 3e9, 1e9, i32)).not.toThrow(); // 0, 1e9, 2e9 fit
      expect(() => wg.arange(0, 4e9, 1e9, i32)).toThrow(/arange: value 3000000000/);
      expect(() => wg.arange(-3e9, 0, 1e9)).toThrow(/arange: value -3000000000 \(start\)/);
      expect(wg.arange(2 ** 31 - 3, 2 ** 31 - 1).toArray()).toEqual([2 ** 31 - 3, 2 ** 31 - 2]);
      expect(() => wg.linspace(0, 3e9, 3, i32)).toThrow(/linspace: value 3000000000/);
      expect(() => wg.randint(2 ** 31, 2 ** 31 + 5, [2])).toThrow(/randint: value 2147483648/);
      expect(wg.arange(0, 3e9, 1e9, { device: ctx.device, dtype: 'float64' }).toArray()).toEqual([0, 1e9, 2e9]);
    }));

  it("int64 data: BigInt64Array, bigint elements and dtype 'int64' become int32, range-checked", () =>
    tidy(() => {
      const a = tensor(BigInt64Array.of(3n, -1n, 2147483647n), { device: ctx.device });
      expect(a.dtype).toBe('int32');
      expect(a.toArray()).toEqual([3, -1, 2147483647]);
      expect(() => tensor(BigInt64Array.of(1n, 2n ** 40n), { device: ctx.device })).toThrow(
        /tensor: value 1099511627776 at index 1 of the BigInt64Array cannot be converted to type int32 without overflow/,
      );
      expect(() => tensor(BigUint64Array.of(2n ** 63n), { device: ctx.device })).toThrow(OVERFLOW);
      expect(tensor(BigInt64Array.of(5n), { dtype: 'float64', device: ctx.device }).toArray()).toEqual([5]);
      const b = tensor(
        [
          [1n, 2n],
          [3n, 4n],
        ] as never,
        { device: ctx.device, dtype: 'int64' },
      );
      expect([b.dtype, b.toArray()]).toEqual([
        'int32',
        [
          [1, 2],
          [3, 4],
        ],
      ]);
      expect(() => tensor([2n ** 31n] as never, { dtype: 'int64', device: ctx.device })).toThrow(/value 2147483648 at index 0/);
      expect(wg.zeros([2], { dtype: 'int64', device: ctx.device }).dtype).toBe('int32');
      // torch's labels.long() / .to(torch.int64) spellings
      const f = tensor([1.9, -2.9], { device: ctx.device });
      for (const l of [f.long(), f.to('int64'), f.cast('int64')]) expect([l.dtype, l.toArray()]).toEqual(['int32', [1, -2]]);
      expect(wg.arange(3, undefined, 1, { dtype: 'int64', device: ctx.device }).toArray()).toEqual([0, 1, 2]);
      // int64 labels train a classifier like int32 ones
      const loss = wg.crossEntropy(
        tensor(
          [
            [2, 0],
            [0, 2],
          ],
          { device: ctx.device },
        ),
        tensor(BigInt64Array.of(0n, 1n), { device: ctx.device }),
      );
      expect(loss.item()).toBeCloseTo(Math.log(1 + Math.exp(-2)), 6);
    }));

  it('where with an int32 scalar past int32 is refused like torch (it wrapped)', () =>
    tidy(() => {
      const t = tensor([1, -1, 2], i32);
      expect(() => wg.where(t.gt(0), t, 3e9)).toThrow(/where: value 3000000000 cannot be converted to type int32 without overflow/);
      expect(wg.where(t.gt(0), t, -7).toArray()).toEqual([1, -7, 2]);
    }));

  it('pow of int32: a negative integer exponent is refused, a fractional one gives float32, an integer base stays int32 (torch)', () =>
    tidy(() => {
      const t = tensor([2, 3], i32);
      expect(torchSays.get('int32_pow_neg')!.error).toMatch(/Integers to negative integer powers are not allowed/);
      expect(() => t.pow(-1)).toThrow(/pow: integers to negative integer powers are not allowed \(int32 \(2,\) \*\* -1\)/);
      const half = t.pow(0.5);
      expect(half.dtype).toBe('float32');
      expect(Array.from(half.dataSync())).toEqual(Array.from(Float32Array.from(torchSays.get('int32_pow_half')!.out!.data)));
      const r = wg.pow(2, t);
      expect([r.dtype, r.toArray()]).toEqual(['int32', torchSays.get('int32_rpow')!.out!.data]);
      const rh = wg.pow(0.5, t);
      expect([rh.dtype, rh.toArray()]).toEqual(['float32', torchSays.get('int32_rpow_half')!.out!.data]);
      expect(t.pow(3).toArray()).toEqual([8, 27]);
      // clamp with a fractional bound is float32 in torch: [1.5, 1.5, 2, 3, 3] for arange(5).clamp(1.5, 3)
      const c = wg.arange(5, undefined, 1, i32).clamp(1.5, 3);
      expect([c.dtype, c.toArray()]).toEqual(['float32', [1.5, 1.5, 2, 3, 3]]);
      expect(wg.arange(5, undefined, 1, i32).clamp(1, 3).dtype).toBe('int32');
    }));

  it('a DataView is refused with what to pass instead', () => {
    expect(() => tensor(new DataView(new ArrayBuffer(8)) as never)).toThrow(
      /tensor: a DataView has no element type; pass a typed array over its buffer/,
    );
  });
});

it('defaultCollate: labels past int32 are an error, bigint labels become int32', () =>
  tidy(() => {
    expect(() => data.defaultCollate([1, 3e9])).toThrow(
      /defaultCollate: tensor: value 3000000000 at index 1 cannot be converted to type int32 without overflow/,
    );
    const b = data.defaultCollate([1n, 7n]) as wg.Tensor;
    expect([b.dtype, b.toArray()]).toEqual(['int32', [1, 7]]);
    expect((data.defaultCollate([1, 2.5]) as wg.Tensor).dtype).toBe('float32');
    const loader = new data.DataLoader({ length: 3, get: (i: number) => ({ x: [i, i + 1], y: BigInt(i) }) }, { batchSize: 3 });
    const ys: unknown[] = [];
    for (const batch of loader) ys.push((batch as unknown as { y: wg.Tensor }).y.toArray());
    expect(ys).toEqual([[0, 1, 2]]);
    const bad = new data.DataLoader({ length: 2, get: (i: number) => [i, 2 ** 31 + i] }, { batchSize: 2 });
    expect(() => [...bad]).toThrow(/defaultCollate: .*value 2147483648 at index 0/);
  }));
