// loadMnist / mnistTensors / writeIdxFile: misspelt options are errors; limits are positive
// integers and an empty dataDir is not silently the embedded set.
import { describe, expect, it } from 'vitest';
import { loadMnist, mnistTensors, embeddedMnist } from '../../lib/data/mnist.js';
import { writeIdxFile } from '../../lib/data/idx.js';
import { memory } from '../../lib/memory.js';

describe('data options', () => {
  it('loadMnist checks its options before reading anything', () => {
    const before = memory().tensors;
    expect(() => loadMnist({ train_limit: 10 } as never)).toThrow("loadMnist: unknown option 'train_limit' — did you mean 'trainLimit'?");
    expect(() => loadMnist({ datadir: '/tmp' } as never)).toThrow(/did you mean 'dataDir'/);
    for (const bad of [0, -1, 0.5, NaN]) expect(() => loadMnist({ trainLimit: bad })).toThrow(/loadMnist: invalid trainLimit/);
    expect(() => loadMnist({ testLimit: 1.5 })).toThrow(/loadMnist: invalid testLimit 1.5/);
    expect(() => loadMnist({ dataDir: '' })).toThrow(/loadMnist: invalid dataDir "" \(must be a non-empty string\)/);
    expect(() => loadMnist({ normalize: 'no' as never })).toThrow(/normalize "no"/);
    expect(memory().tensors).toBe(before);
    const d = loadMnist({ trainLimit: 5, testLimit: 3 });
    expect([d.train.length, d.test.length]).toEqual([5, 3]);
    d.train.dispose();
    d.test.dispose();
  });
  it('mnistTensors and writeIdxFile reject unknown keys', () => {
    expect(() => mnistTensors(embeddedMnist().test, { normalise: false } as never)).toThrow(
      /mnistTensors: unknown option 'normalise' — did you mean 'normalize'\?/,
    );
    expect(() => writeIdxFile('/tmp/never.idx', { type: 'uint8', dims: [1], data: new Uint8Array(1) }, { gz: true } as never)).toThrow(
      /writeIdxFile: unknown option 'gz'/,
    );
  });
});

describe('Subset and randomSplit inputs', () => {
  it('datasets with a NaN or negative length, bad lengths lists and seeds are refused', async () => {
    const { Subset, randomSplit } = await import('../../lib/data/dataset.js');
    const get = () => 0;
    expect(() => randomSplit({ length: NaN, get } as never, [0.5, 0.5])).toThrow(
      /randomSplit: invalid dataset length NaN \(must be a non-negative integer\)/,
    );
    expect(() => randomSplit({ length: -1, get } as never, [0.5, 0.5])).toThrow(/dataset length -1/);
    expect(() => randomSplit({ length: 4, get }, 0.5 as never)).toThrow(/randomSplit: lengths must be a non-empty array/);
    expect(() => randomSplit({ length: 4, get }, [2, 2], NaN)).toThrow(/randomSplit: invalid seed NaN/);
    expect(() => new Subset({ length: NaN, get } as never, [])).toThrow(/Subset: invalid dataset length NaN/);
    expect(randomSplit({ length: 4, get }, [0.5, 0.5]).map((s) => s.length)).toEqual([2, 2]);
  });
});

describe('ConcatDataset lengths', () => {
  it('a part with a NaN or negative length is refused', async () => {
    const { ConcatDataset } = await import('../../lib/data/dataset.js');
    const get = () => 0;
    expect(
      () =>
        new ConcatDataset([
          { length: 2, get },
          { length: NaN, get },
        ] as never),
    ).toThrow(/ConcatDataset: invalid length of part 1 NaN/);
    expect(() => new ConcatDataset([{ length: -1, get }] as never)).toThrow(/length of part 0 -1/);
    expect(
      new ConcatDataset([
        { length: 2, get },
        { length: 3, get },
      ]).length,
    ).toBe(5);
  });
});
