// Embedding: a lookup table weight (num, dim), N(0, 1) at init; paddingIdx's row starts at zero
// and never receives a gradient.

import type { Tensor } from '../../tensor.js';
import { Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { normal_ } from '../init.js';
import { zeroRow } from '../inplace.js';
import { embedding } from '../functional.js';
import { layerOptions, newParam, positiveInt, type FactoryOptions } from './util.js';

export interface EmbeddingOptions extends FactoryOptions {
  /** this row is zero at init and gets no gradient (negative counts from the end) */
  paddingIdx?: number | null;
}

export class Embedding extends Module {
  weight: Parameter;
  readonly paddingIdx: number | null;
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    o: EmbeddingOptions = {},
  ) {
    super();
    o = layerOptions('Embedding', o, ['paddingIdx']);
    positiveInt('Embedding', 'num_embeddings', numEmbeddings);
    positiveInt('Embedding', 'embedding_dim', embeddingDim);
    let p = o.paddingIdx ?? null;
    if (p !== null) {
      if (!Number.isInteger(p) || p >= numEmbeddings || p < -numEmbeddings)
        throw new RangeError(`Embedding: padding_idx must be within num_embeddings (${numEmbeddings}), got ${p}`);
      if (p < 0) p += numEmbeddings;
    }
    this.paddingIdx = p;
    this.weight = newParam([numEmbeddings, embeddingDim], o);
    this.resetParameters();
  }

  resetParameters(): void {
    normal_(this.weight);
    if (this.paddingIdx !== null) zeroRow(this.weight, this.paddingIdx);
  }

  forward(indices: Tensor): Tensor {
    if (indices.dtype !== 'int32') throw new TypeError(`${this.toString()}: indices must be int32, got ${indices.dtype}`);
    return embedding(indices, this.weight, { paddingIdx: this.paddingIdx });
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== null ? `, padding_idx=${this.paddingIdx}` : ''}`;
  }
}
