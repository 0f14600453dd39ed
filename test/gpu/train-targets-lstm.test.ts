// Issue 5 on a GPU: the row-LSTM (28 steps × 28 features, hidden 64) reaches ≥ 95% on the fixed
// 2,000-digit test split after its full recipe on cuda (6 epochs, Adam 3e-3 with cosine decay,
// gradient norm clipped to 1; js reaches 96.55% with it). Its own file so that it runs in a
// vitest worker beside train-targets.test.ts (the other seed models and the CLI).
//
// Cost on the GPU machine: 750 training steps of 28 LSTM time steps each, forward and backward;
// estimated 10-30 s depending on the per-launch overhead (~1,000 kernel launches per step).
import { describeTargets } from './seed-models.js';

describeTargets(['mnist-lstm']);
