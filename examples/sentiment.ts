// Sentiment of short reviews: sentences → ids (data.Vocabulary) → nn.Embedding → nn.LSTM over
// variable-length batches (forward(x, null, { lengths }), like pack_padded_sequence) → nn.Linear →
// sigmoid, binary cross-entropy. The reviews come from a synthetic generator
// (examples/sentiment-data.ts: templates with negations and contrasts, ~400 words), split into
// train / validation / test with data.randomSplit.
// Run: npx tsc -p examples && node dist-examples/examples/sentiment.js

import { pathToFileURL } from 'node:url';
import * as wg from '../lib/index.js';
import { makeReviews } from './sentiment-data.js';

export interface SentimentOptions {
  epochs?: number;
  /** reviews generated in all (default 3,000), split 80 / 10 / 10 into train / validation / test */
  reviews?: number;
  batchSize?: number;
  lr?: number;
  embeddingDim?: number;
  hidden?: number;
  /** longest review kept, in tokens (default 32; longer ones are cut) */
  maxLen?: number;
  seed?: number;
  verbose?: boolean;
}

export interface SentimentResult {
  testAccuracy: number;
  validationAccuracy: number;
  seconds: number;
  history: wg.History;
  vocabulary: wg.data.Vocabulary;
  /** P(positive) for a few sentences of your own, after training */
  predict(texts: string[]): number[];
  /** frees the model (predict stops working) */
  dispose(): void;
}

/** Embedding → LSTM (last valid step of each review) → Linear → sigmoid: P(positive), (N). */
export class SentimentModel extends wg.nn.Module<[[wg.Tensor, wg.Tensor]], wg.Tensor> {
  readonly embed: wg.nn.Embedding;
  readonly rnn: wg.nn.LSTM;
  readonly head: wg.nn.Linear;
  constructor(vocabSize: number, dim = 32, hidden = 48) {
    super();
    this.embed = new wg.nn.Embedding(vocabSize, dim, { paddingIdx: 0 });
    this.rnn = new wg.nn.LSTM(dim, hidden, { batchFirst: true });
    this.head = new wg.nn.Linear(hidden, 1);
  }
  /** ids (N, T) int32, post-padded; lengths (N) int32 */
  forward([ids, lengths]: [wg.Tensor, wg.Tensor]): wg.Tensor {
    return wg.tidy(() => {
      // lengths are host numbers for the LSTM anyway; steps past the batch's longest review are all
      // padding, so cut them (a batch of short reviews runs fewer steps)
      const lens = Int32Array.from(lengths.dataSync());
      const T = lens.reduce((a, b) => Math.max(a, b), 1);
      const x = T < ids.shape[1]! ? wg.slice(ids, 1, 0, T) : ids;
      const [, [hN]] = this.rnn.forward(this.embed.forward(x), null, { lengths: lens });
      const logit = this.head.forward(wg.select(hN, 0, 0)); // hN (1, N, hidden): the state at each review's last word
      return wg.sigmoid(logit).reshape([ids.shape[0]!]);
    });
  }
}

/** Accuracy of probabilities against 0/1 targets at 0.5, accumulated on the device. */
class BinaryAccuracy implements wg.Metric {
  readonly name = 'accuracy';
  private hits: wg.Tensor | null = null;
  private n = 0;
  reset(): void {
    this.hits?.dispose();
    this.hits = null;
    this.n = 0;
  }
  update(p: wg.Tensor, y: wg.Tensor): void {
    const next = wg.noGrad(() =>
      wg.tidy(() => {
        const right = wg.sum(wg.eq(wg.gt(p, 0.5), wg.gt(y, 0.5)).cast('float32'));
        return this.hits ? wg.add(this.hits, right) : right;
      }),
    );
    this.hits?.dispose();
    this.hits = wg.keep(next);
    this.n += p.shape[0]!;
  }
  async compute(): Promise<number> {
    return this.hits ? (await this.hits.data())[0]! / this.n : NaN;
  }
  dispose(): void {
    this.reset();
  }
}

export async function run(o: SentimentOptions = {}): Promise<SentimentResult> {
  const seed = o.seed ?? 0;
  wg.manualSeed(seed);
  const reviews = makeReviews(o.reviews ?? 3000, seed);
  const n = reviews.length;
  const [trainIdx, valIdx, testIdx] = wg.data.randomSplit({ length: n, get: (i: number) => i }, [0.8, 0.1, 0.1], seed);
  const textsOf = (s: wg.data.Subset<number>): string[] => Array.from(s.indices, (i) => reviews[i]!.text);
  // the vocabulary sees only the training texts: words first met in validation/test are <unk>
  const vocabulary = wg.data.Vocabulary.fromTexts(textsOf(trainIdx!), { minFreq: 1 });
  const maxLen = o.maxLen ?? 32;
  const datasetOf = (s: wg.data.Subset<number>): wg.data.TensorDataset => {
    const { ids, lengths } = vocabulary.encodeBatch(textsOf(s), { maxLen });
    const y = wg.tensor(Float32Array.from(s.indices, (i) => reviews[i]!.label));
    return new wg.data.TensorDataset(ids, wg.tensor(lengths, { dtype: 'int32' }), y);
  };
  const train = datasetOf(trainIdx!);
  const val = datasetOf(valIdx!);
  const test = datasetOf(testIdx!);

  const model = new SentimentModel(vocabulary.size, o.embeddingDim ?? 32, o.hidden ?? 48);
  const optimizer = new wg.optim.Adam(model.parameters(), { lr: o.lr ?? 1e-2 });
  const epochs = o.epochs ?? 4;
  const unpack = (b: wg.Tensor[]): [[wg.Tensor, wg.Tensor], wg.Tensor] => [[b[0]!, b[1]!], b[2]!];
  const loss = (p: wg.Tensor, y: wg.Tensor): wg.Tensor => wg.binaryCrossEntropy(p, y);
  const t0 = performance.now();
  const history = await wg.fit(model, {
    train: new wg.data.DataLoader(train, { batchSize: o.batchSize ?? 32, shuffle: true, seed }),
    validation: new wg.data.DataLoader(val, { batchSize: 500 }),
    optimizer,
    epochs,
    loss,
    unpack,
    metrics: [new BinaryAccuracy()],
    clipGradNorm: 1,
    verbose: o.verbose ?? false,
  });
  const r = await wg.evaluate(model, new wg.data.DataLoader(test, { batchSize: 500 }), { loss, unpack, metrics: [new BinaryAccuracy()] });
  const v = await wg.evaluate(model, new wg.data.DataLoader(val, { batchSize: 500 }), { loss, unpack, metrics: [new BinaryAccuracy()] });
  const seconds = (performance.now() - t0) / 1000;
  train.dispose();
  val.dispose();
  test.dispose();
  optimizer.dispose();
  let disposed = false;
  const predict = (texts: string[]): number[] => {
    if (disposed) throw new Error('sentiment: predict after dispose');
    return wg.noGrad(() =>
      wg.tidy(() => {
        model.eval();
        const { ids, lengths } = vocabulary.encodeBatch(texts, { maxLen });
        return [...model.forward([ids, wg.tensor(lengths, { dtype: 'int32' })]).dataSync()];
      }),
    );
  };
  // the model stays alive for predict(); result.dispose() frees it
  const dispose = (): void => {
    disposed = true;
    model.dispose();
  };
  return { testAccuracy: r.metrics.accuracy!, validationAccuracy: v.metrics.accuracy!, seconds, history, vocabulary, predict, dispose };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run({ verbose: true }).then((r) => {
    console.log(
      `test accuracy ${(100 * r.testAccuracy).toFixed(2)}% (validation ${(100 * r.validationAccuracy).toFixed(2)}%) in ${r.seconds.toFixed(1)} s, vocabulary ${r.vocabulary.size} ids`,
    );
    const mine = ['the acting was not bad at all', 'i did not enjoy the plot', 'a superb film but the ending was dull'];
    r.predict(mine).forEach((p, i) => console.log(`  P(positive) ${p.toFixed(3)}  "${mine[i]}"`));
    r.dispose();
  });
}
