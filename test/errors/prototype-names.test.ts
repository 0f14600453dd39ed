// Untrusted names that are also Object.prototype members ('constructor', 'toString', '__proto__')
// are ordinary names everywhere: a lookup table must never answer with Object.prototype's member.
import { describe, expect, it } from 'vitest';
import { nn, optim } from '../../lib/index.js';
import { resolveLossSpec } from '../../lib/train/losses.js';
import { nearest } from '../../lib/options.js';

describe('lookups on untrusted names use own keys only', () => {
  it("an options key 'constructor' is an unknown option, not a crash in the did-you-mean", () => {
    expect(nearest('constructor', ['lr', 'momentum'])).toBeUndefined();
    const m = new nn.Linear(2, 2);
    expect(() => new optim.SGD(m.parameters(), { constructor: 1 } as never)).toThrow(/SGD: unknown option 'constructor'/);
    m.dispose();
  });

  for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
    it(`a loss named '${name}' is an unknown loss`, () => {
      expect(() => resolveLossSpec(name as never)).toThrow(new RegExp(`fit: unknown loss '${name}'`));
    });
  }
});
