// Knowledge distillation (Hinton, Vinyals & Dean 2015): KL divergence with torch's semantics,
// the distillation loss, and a Distiller that fit() trains like any model.
//
//   klDiv(input, target)   input holds log-probabilities, target probabilities (or log-probabilities
//                          with logTarget), pointwise  target·(log target − input)  like torch.nn.KLDivLoss;
//                          a target of 0 contributes 0 (torch's xlogy), also to the gradient.
//   distillationLoss(s, t, y, { temperature: T, alpha })
//        = alpha · CE(s, y) + (1 − alpha) · T² · KL(softmax(t/T) ‖ softmax(s/T))
//   KL is averaged over the batch ('batchmean', the true KL per sample, as keras.losses.KLDivergence);
//   the T² keeps the soft term's gradients the same size as T changes (Hinton §2).
//   alpha weighs the HARD-label loss, as in the Keras Distiller (keras.io "Knowledge Distillation":
//   `loss = alpha * student_loss + (1 - alpha) * distillation_loss`, alpha = 0.1, temperature = 3).
//   When it pays (measured on MNIST, js and torch alike, test/compress/distill_torch.py): a student
//   that learns from few labels for many epochs (300 digits x 30: MLP 784-64-10 alone ~84%,
//   distilled from the CNN at T 4, alpha 0.5 ~86-87%); on thousands of digits for one or two
//   epochs the student underfits and the soft term, close to logit matching at T 4, learns more
//   slowly than the hard CE (4,000 x 2: alone 90.7%, distilled 88.95%). More data shrinks the gain.
//
// Distiller: a model that wraps a student and a teacher. forward() is the student's, so metrics,
// evaluate() and predict() see the student; during fit() its computeLoss() (the hook Keras 3 calls
// compute_loss) runs the teacher on the same batch in eval mode under noGrad and combines fit's loss
// (the hard-label loss, crossEntropy by default) with the softened KL. Its parameters and its state
// dict are the student's alone (keys as the student's own), so an optimizer, ModelCheckpoint or
// save() see only the student; the teacher is held out of sight of Module's discovery.

import { noGrad } from '../autograd/mode.js';
import { tidy } from '../memory.js';
import { fmtShape, sameShape } from '../shape.js';
import { isTensor, type Tensor } from '../tensor.js';
import * as ops from '../ops/index.js';
import { checkOptions, inRange } from '../options.js';
import { Module, type AnyModule, type LoadStateDictOptions, type LoadStateDictResult, type StateDict } from './module.js';
import type { Parameter } from './parameter.js';

export type KLDivReduction = 'mean' | 'batchmean' | 'sum' | 'none';

export interface KLDivOptions {
  /** 'mean' (default, torch's: over every element), 'batchmean' (sum / batch size: the true KL), 'sum', 'none' */
  reduction?: KLDivReduction;
  /** the target holds log-probabilities (default false) */
  logTarget?: boolean;
}

function checkKl(where: string, o: KLDivOptions): { reduction: KLDivReduction; logTarget: boolean } {
  checkOptions(where, o, ['reduction', 'logTarget']);
  const r = o.reduction ?? 'mean';
  if (r !== 'mean' && r !== 'batchmean' && r !== 'sum' && r !== 'none')
    throw new RangeError(`${where}: reduction must be 'mean', 'batchmean', 'sum' or 'none', got '${String(r)}'`);
  if (o.logTarget !== undefined && typeof o.logTarget !== 'boolean')
    throw new TypeError(`${where}: logTarget must be true or false, got ${String(o.logTarget)}`);
  return { reduction: r, logTarget: o.logTarget ?? false };
}

/**
 * torch.nn.functional.kl_div: input (log-probabilities) and target of the same shape.
 * Pointwise target·(log target − input), or exp(target)·(target − input) with logTarget.
 */
export function klDiv(input: Tensor, target: Tensor, o: KLDivOptions = {}): Tensor {
  const { reduction, logTarget } = checkKl('klDiv', o);
  if (!isTensor(input) || !isTensor(target)) throw new TypeError('klDiv: input and target must be tensors');
  if (!sameShape(input.shape, target.shape))
    throw new RangeError(`klDiv: input ${fmtShape(input.shape)} and target ${fmtShape(target.shape)} must have the same shape`);
  return tidy(() => {
    let l: Tensor;
    if (logTarget) l = ops.mul(ops.exp(target), ops.sub(target, input));
    else {
      // xlogy(t, t) with 0·log 0 = 0 in value and gradient: log of 1 where t is 0
      const pos = noGrad(() => ops.gt(target, 0));
      const safe = ops.where(pos, target, 1);
      l = ops.sub(ops.mul(target, ops.log(safe)), ops.mul(target, input));
    }
    if (reduction === 'none') return l;
    if (reduction === 'sum') return ops.sum(l);
    if (reduction === 'mean') return ops.mean(l);
    return ops.div(ops.sum(l), input.ndim ? input.shape[0]! : 1);
  });
}

/** torch.nn.KLDivLoss: forward(input log-probabilities, target). */
export class KLDivLoss extends Module<[Tensor, Tensor], Tensor> {
  readonly reduction: KLDivReduction;
  readonly logTarget: boolean;
  constructor(o: KLDivOptions = {}) {
    super();
    const c = checkKl('KLDivLoss', o);
    this.reduction = c.reduction;
    this.logTarget = c.logTarget;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
  override extraRepr(): string {
    const parts: string[] = [];
    if (this.reduction !== 'mean') parts.push(`reduction='${this.reduction}'`);
    if (this.logTarget) parts.push('log_target=true');
    return parts.join(', ');
  }
}

export interface DistillationOptions {
  /** softens both distributions (default 3, as Keras' Distiller) */
  temperature?: number;
  /** weight of the hard-label loss; the soft KL term gets 1 − alpha (default 0.1, as Keras' Distiller) */
  alpha?: number;
}

function checkDistill(where: string, o: DistillationOptions): { temperature: number; alpha: number } {
  checkOptions(where, o, ['temperature', 'alpha']);
  const temperature = inRange(where, 'temperature', o.temperature, { min: 0, minOpen: true }, 3);
  if (!Number.isFinite(temperature)) throw new RangeError(`${where}: temperature must be a finite number > 0, got ${temperature}`);
  const alpha = inRange(where, 'alpha', o.alpha, { min: 0, max: 1 }, 0.1);
  return { temperature, alpha };
}

/** The softened KL term alone, T²·KL(softmax(t/T) ‖ softmax(s/T)), averaged over the batch. */
export function softDistillationLoss(
  studentLogits: Tensor,
  teacherLogits: Tensor,
  temperature: number,
  where = 'distillationLoss',
): Tensor {
  if (!isTensor(studentLogits) || !isTensor(teacherLogits)) throw new TypeError(`${where}: student and teacher logits must be tensors`);
  if (!sameShape(studentLogits.shape, teacherLogits.shape)) {
    throw new RangeError(
      `${where}: student logits ${fmtShape(studentLogits.shape)} and teacher logits ${fmtShape(teacherLogits.shape)} must have the same shape (the same batch and number of classes)`,
    );
  }
  if (studentLogits.ndim !== 2) throw new RangeError(`${where}: logits must be (N, C), got ${fmtShape(studentLogits.shape)}`);
  const T = temperature;
  return tidy(() => {
    const logP = ops.logSoftmax(ops.div(studentLogits, T), -1);
    const q = noGrad(() => ops.softmax(ops.div(teacherLogits.detach(), T), -1));
    return ops.mul(klDiv(logP, q, { reduction: 'batchmean' }), T * T);
  });
}

/**
 * Hinton's distillation loss: alpha · CE(student, targets) + (1 − alpha) · T² · KL(teacher_T ‖ student_T).
 * Student and teacher logits are (N, C); targets are int32 class indices (N) (or probabilities, like crossEntropy).
 * No gradient reaches the teacher's logits.
 */
export function distillationLoss(studentLogits: Tensor, teacherLogits: Tensor, targets: Tensor, o: DistillationOptions = {}): Tensor {
  const { temperature, alpha } = checkDistill('distillationLoss', o);
  return combine(studentLogits, teacherLogits, targets, temperature, alpha, (s, y) => ops.crossEntropy(s, y), 'distillationLoss');
}

function combine(s: Tensor, t: Tensor, y: Tensor, T: number, alpha: number, hard: (s: Tensor, y: Tensor) => Tensor, where: string): Tensor {
  return tidy(() => {
    const soft = softDistillationLoss(s, t, T, where);
    if (alpha === 0) return soft;
    const h = hard(s, y);
    if (h.size !== 1) throw new RangeError(`${where}: the hard-label loss must be a scalar, got shape ${fmtShape(h.shape)}`);
    return ops.add(ops.mul(h, alpha), ops.mul(soft, 1 - alpha));
  });
}

export interface DistillerOptions extends DistillationOptions {
  /** the model being trained */
  student: AnyModule;
  /** a trained model; never updated (eval mode, no gradients) */
  teacher: AnyModule;
}

const TEACHER = Symbol('teacher');

/**
 * Trains a student against a teacher inside fit():
 *   fit(new Distiller({ student, teacher, temperature: 4, alpha: 0.1 }), { x, y, optimizer, metrics: ['accuracy'] })
 * fit's `loss` is the hard-label loss (default crossEntropy). Make the optimizer over
 * distiller.parameters() or student.parameters() (the same list).
 */
export class Distiller extends Module {
  readonly student: AnyModule;
  readonly temperature: number;
  readonly alpha: number;
  private readonly [TEACHER]: AnyModule;

  constructor(o: DistillerOptions) {
    super();
    if (!o || typeof o !== 'object') throw new TypeError('Distiller: pass { student, teacher, temperature?, alpha? }');
    checkOptions('Distiller', o, ['student', 'teacher', 'temperature', 'alpha']);
    if (!(o.student instanceof Module)) throw new TypeError('Distiller: student must be an nn.Module');
    if (!(o.teacher instanceof Module)) throw new TypeError('Distiller: teacher must be an nn.Module');
    if (o.student === o.teacher) throw new RangeError('Distiller: student and teacher must be different modules');
    const c = checkDistill('Distiller', { temperature: o.temperature, alpha: o.alpha });
    this.temperature = c.temperature;
    this.alpha = c.alpha;
    this.student = o.student;
    // under a symbol key: Module's traversal (Object.entries: parameters, train(), to(), stateDict) never sees it
    this[TEACHER] = o.teacher;
    o.teacher.eval();
  }

  get teacher(): AnyModule {
    return this[TEACHER];
  }

  /** The student's output. */
  forward(x: Tensor): Tensor {
    return this.student.forward(x) as Tensor;
  }

  /** Called by fit() for each training batch: alpha · loss(student, y) + (1 − alpha) · T² · KL(teacher_T ‖ student_T). */
  computeLoss(a: { x: unknown; y: Tensor; yPred: Tensor; loss: (out: Tensor, target: Tensor) => Tensor }): Tensor {
    const teacher = this[TEACHER];
    if (teacher.training) teacher.eval();
    const t = noGrad(() => teacher.forward(a.x as Tensor) as Tensor);
    if (!isTensor(t)) throw new TypeError("Distiller: the teacher's forward must return a tensor of logits");
    if (!isTensor(a.yPred)) throw new TypeError("Distiller: the student's forward must return a tensor of logits");
    if (!sameShape(a.yPred.shape, t.shape))
      throw new RangeError(
        `Distiller: student output ${fmtShape(a.yPred.shape)} and teacher output ${fmtShape(t.shape)} differ in shape; both must give (N, C) logits for the same classes`,
      );
    const l = combine(a.yPred, t, a.y, this.temperature, this.alpha, a.loss, 'Distiller');
    t.dispose();
    return l;
  }

  override parameters(): Parameter[] {
    return this.student.parameters();
  }

  override stateDict(): StateDict {
    return this.student.stateDict();
  }

  override loadStateDict(sd: Record<string, Tensor> | Map<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    return this.student.loadStateDict(sd, options);
  }

  override train(mode = true): this {
    this.student.train(mode);
    this.training = mode;
    this[TEACHER].eval();
    return this;
  }

  override extraRepr(): string {
    return `temperature=${this.temperature}, alpha=${this.alpha}, teacher=${this[TEACHER].name}`;
  }
}
