// DistributedSampler without MPI (numReplicas and rank given): the ranks' shards are disjoint,
// equal in size, and cover every sample exactly once per epoch (padding repeats the order's start;
// dropLast drops the tail); a new shuffle per epoch, the same on every rank; the loader follows it.
import { describe, expect, it } from 'vitest';
import { arange, data } from '../../lib/index.js';
import { DistributedSampler } from '../../lib/distributed/index.js';

function shards(n: number, W: number, o: { shuffle?: boolean; dropLast?: boolean; seed?: number }, epoch: number): number[][] {
  return Array.from({ length: W }, (_, r) => {
    const s = new DistributedSampler({ length: n }, { numReplicas: W, rank: r, ...o });
    s.setEpoch(epoch);
    return Array.from(s);
  });
}

describe('DistributedSampler', () => {
  it.each([
    [12, 3],
    [10, 3],
    [7, 2],
    [5, 4],
  ])('n=%i on %i ranks: every sample exactly once per epoch (plus the padding), equal shards', (n, W) => {
    for (const epoch of [0, 1, 5]) {
      const sh = shards(n, W, { shuffle: true, seed: 7 }, epoch);
      const per = Math.ceil(n / W);
      for (const s of sh) expect(s.length).toBe(per);
      const all = sh.flat();
      const counts = new Map<number, number>();
      for (const i of all) counts.set(i, (counts.get(i) ?? 0) + 1);
      // every sample appears; only the W·per - n padded ones twice
      for (let i = 0; i < n; i++) expect(counts.get(i) ?? 0).toBeGreaterThanOrEqual(1);
      expect([...counts.values()].filter((c) => c === 2).length).toBe(per * W - n);
      expect([...counts.values()].every((c) => c <= 2)).toBe(true);
      if (per * W === n) expect(new Set(all).size).toBe(n);
    }
  });

  it('dropLast: disjoint equal shards, the tail dropped', () => {
    const sh = shards(10, 3, { shuffle: false, dropLast: true }, 0);
    expect(sh).toEqual([
      [0, 3, 6],
      [1, 4, 7],
      [2, 5, 8],
    ]);
  });

  it('without shuffle: rank r takes r, r+W, ...; padding repeats the start', () => {
    expect(shards(5, 2, { shuffle: false }, 0)).toEqual([
      [0, 2, 4],
      [1, 3, 0],
    ]);
  });

  it('a new order per epoch, the same for the same (seed, epoch), another for another seed', () => {
    const a = shards(50, 2, { seed: 3 }, 0);
    expect(shards(50, 2, { seed: 3 }, 0)).toEqual(a);
    expect(shards(50, 2, { seed: 3 }, 1)).not.toEqual(a);
    expect(shards(50, 2, { seed: 4 }, 0)).not.toEqual(a);
  });

  it('loader(): batches over this rank shard, following setEpoch', () => {
    const ds = new data.TensorDataset(arange(10).reshape([10, 1]), arange(10));
    const s = new DistributedSampler(ds, { numReplicas: 2, rank: 1, seed: 1 });
    const loader = s.loader({ batchSize: 2 });
    expect(loader.length).toBe(3);
    for (const epoch of [0, 3]) {
      loader.setEpoch(epoch);
      const seen: number[] = [];
      for (const [, y] of loader) seen.push(...Array.from(y!.dataSync() as ArrayLike<number>));
      expect(seen).toEqual(Array.from(s.indices(epoch)));
    }
  });

  it("new DataLoader(ds, { sampler }) as in torch: the rank's shard per epoch, dropLast over the shard, sampler and shuffle exclusive", () => {
    const ds = new data.TensorDataset(arange(11).reshape([11, 1]), arange(11));
    const s = new DistributedSampler(ds, { numReplicas: 3, rank: 2, seed: 4 });
    const loader = new data.DataLoader(ds, { batchSize: 3, sampler: s });
    expect(loader.length).toBe(2); // 4 samples on this rank
    expect(loader.numSamples).toBe(4);
    for (const epoch of [0, 2]) {
      loader.setEpoch(epoch);
      const seen: number[] = [];
      for (const [, y] of loader) seen.push(...Array.from(y!.dataSync() as ArrayLike<number>));
      expect(seen).toEqual(Array.from(s.indices(epoch)));
    }
    const dl = new data.DataLoader(ds, { batchSize: 3, sampler: s, dropLast: true });
    expect([dl.length, dl.numSamples]).toEqual([1, 3]);
    expect(() => new data.DataLoader(ds, { sampler: s, shuffle: true })).toThrow(/sampler and shuffle cannot both be set/);
    expect(() => new data.DataLoader(ds, { sampler: { length: 2 } as never })).toThrow(/sampler must have a length/);
    const bad = { length: 2, indices: () => Int32Array.from([0, 99]) };
    expect(() => [...new data.DataLoader(ds, { sampler: bad })]).toThrow(/sampler index 99 is outside the dataset \(length 11\)/);
  });

  it('checks its options', () => {
    expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 2, rank: 2 })).toThrow(/rank 2 is not below numReplicas 2/);
    expect(() => new DistributedSampler({ length: 4 }, { numReplicas: 2, rank: 0, shufle: true } as never)).toThrow(/shufle/);
  });
});
