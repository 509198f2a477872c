// The loss math of the tricks, as ../shared/specs/tricks.md defines it, over a tfjs handed in (the
// trick files get it through their hook context; src/trainer/loss/tricks.ts binds the trainer's):
// - label smoothing (Szegedy et al. 2016; Bag of Tricks, He et al. 2019): soft one-hot targets,
//   `uniform` (1 - eps) * onehot + eps / K as in PyTorch/timm, or the paper's eps / (K - 1) off target;
// - mixup (Zhang et al. 2018): inputs and targets mixed with a shuffled copy of the batch;
// - R-Drop (Liang et al. 2021, arXiv 2106.14448): CE of two dropout passes plus the symmetric KL
//   of their predictions;
// - knowledge distillation (Hinton et al. 2015; Bag of Tricks): the student's CE against the
//   teacher's softened predictions, scaled by T^2.
// Every loss here is a mean over the batch of per-sample terms, so values do not grow with B
// (R-Drop's `batchsum` reduction, the official code's, is the one exception, by request).
import type * as TF from '@tensorflow/tfjs-core';

export interface LabelSmoothingOptions {
  epsilon: number;
  convention: 'uniform' | 'paper';
}

function makeLossOps(tf: typeof TF) {
  /** One-hot targets as float32 probabilities [B, K]. */
  function oneHotTargets(labels: TF.Tensor1D, numClasses: number): TF.Tensor2D {
    return tf.cast(tf.oneHot(labels, numClasses), 'float32') as TF.Tensor2D;
  }

  /** Probability targets smoothed by `ls`. */
  function smooth(onehot: TF.Tensor2D, numClasses: number, ls: LabelSmoothingOptions): TF.Tensor2D {
    const eps = ls.epsilon;
    if (ls.convention === 'uniform') return tf.add(tf.mul(onehot, 1 - eps), eps / numClasses) as TF.Tensor2D;
    // paper: 1 - eps on the true class, eps / (K - 1) on each other class.
    const off = numClasses > 1 ? eps / (numClasses - 1) : 0;
    return tf.add(tf.mul(onehot, 1 - eps - off), off) as TF.Tensor2D;
  }

  /** Targets as probabilities [B, K]: one-hot, or smoothed by `ls`. */
  function softTargets(labels: TF.Tensor1D, numClasses: number, ls: LabelSmoothingOptions | null): TF.Tensor2D {
    return tf.tidy(() => {
      const onehot = oneHotTargets(labels, numClasses);
      return ls ? smooth(onehot, numClasses, ls) : onehot;
    });
  }

  /** Mean over the batch of -sum_k target_k * log softmax(logits)_k. */
  function softCrossEntropy(logits: TF.Tensor2D, targets: TF.Tensor2D): TF.Scalar {
    return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as TF.Scalar);
  }

  /** lambda * a + (1 - lambda) * a[perm] along the batch axis (inputs or targets). */
  function mixWith<T extends TF.Tensor>(a: T, lambda: number, perm: Int32Array): T {
    return tf.tidy(() => tf.add(tf.mul(a, lambda), tf.mul(tf.gather(a, tf.tensor1d(perm, 'int32')), 1 - lambda)) as T);
  }

  /**
   * R-Drop: 0.5 * (CE(p, t) + CE(q, t)) + alpha * 0.5 * (KL(P||Q) + KL(Q||P)) for the logits p and q
   * of two dropout passes. reduction `mean`: each sample's KL summed over classes, averaged over the
   * batch; `batchsum`: summed over batch and classes (the official code).
   */
  function rdropLoss(p: TF.Tensor2D, q: TF.Tensor2D, targets: TF.Tensor2D, alpha: number, reduction: 'mean' | 'batchsum'): TF.Scalar {
    return tf.tidy(() => {
      const ce = tf.mul(tf.add(softCrossEntropy(p, targets), softCrossEntropy(q, targets)), 0.5);
      const [lp, lq] = [tf.logSoftmax(p), tf.logSoftmax(q)];
      // KL(P||Q) + KL(Q||P) = sum (P - Q) * (log P - log Q), per element.
      const sym = tf.mul(tf.sub(tf.exp(lp), tf.exp(lq)), tf.sub(lp, lq));
      const total = tf.sum(sym);
      const kl = reduction === 'mean' ? tf.div(total, p.shape[0]) : total;
      return tf.add(ce, tf.mul(kl, alpha * 0.5)) as TF.Scalar;
    });
  }

  /** The distillation term T^2 * CE(softmax(r / T), softmax(z / T)), mean over the batch, for
   * student logits z and teacher logits r. */
  function distillSoft(z: TF.Tensor2D, r: TF.Tensor2D, temperature: number): TF.Scalar {
    return tf.tidy(() => tf.mul(softCrossEntropy(tf.div(z, temperature), tf.softmax(tf.div(r, temperature)) as TF.Tensor2D), temperature * temperature) as TF.Scalar);
  }

  /** Hard loss and distillation combined: paper hard + soft; weighted (1 - w) hard + w soft. */
  function withDistill(hard: TF.Scalar, soft: TF.Scalar, mode: 'paper' | 'weighted', weight: number): TF.Scalar {
    return tf.tidy(() => (mode === 'paper' ? tf.add(hard, soft) : tf.add(tf.mul(hard, 1 - weight), tf.mul(soft, weight))) as TF.Scalar);
  }

  return { oneHotTargets, smooth, softTargets, softCrossEntropy, mixWith, rdropLoss, distillSoft, withDistill };
}

const built = new WeakMap<typeof TF, ReturnType<typeof makeLossOps>>();

/** The loss math bound to `tf`, built once per tfjs instance (the tricks ask for it every step). */
export function lossOps(tf: typeof TF): ReturnType<typeof makeLossOps> {
  let ops = built.get(tf);
  if (!ops) built.set(tf, (ops = makeLossOps(tf)));
  return ops;
}
