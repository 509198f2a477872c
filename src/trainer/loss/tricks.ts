// Loss-level tricks, as ../shared/specs/tricks.md defines them:
// - label smoothing (Szegedy et al. 2016; Bag of Tricks, He et al. 2019): soft one-hot targets,
//   `uniform` (1 - eps) * onehot + eps / K as in PyTorch/timm, or the paper's eps / (K - 1) off target;
// - mixup (Zhang et al. 2018): inputs and targets mixed with a shuffled copy of the batch;
// - R-Drop (Liang et al. 2021, arXiv 2106.14448): CE of two dropout passes plus the symmetric KL
//   of their predictions;
// - knowledge distillation (Hinton et al. 2015; Bag of Tricks): the student's CE against the
//   teacher's softened predictions, scaled by T^2.
// Every loss here is a mean over the batch of per-sample terms, so values do not grow with B
// (R-Drop's `batchsum` reduction, the official code's, is the one exception, by request).
import * as tf from '@tensorflow/tfjs-core';
import type { TricksConfig } from '../../shared/config';

/** Targets as probabilities [B, K]: one-hot, or smoothed by `ls`. */
export function softTargets(labels: tf.Tensor1D, numClasses: number, ls: TricksConfig['labelSmoothing']): tf.Tensor2D {
  return tf.tidy(() => {
    const onehot = tf.cast(tf.oneHot(labels, numClasses), 'float32') as tf.Tensor2D;
    if (!ls) return onehot;
    const eps = ls.epsilon;
    if (ls.convention === 'uniform') return tf.add(tf.mul(onehot, 1 - eps), eps / numClasses) as tf.Tensor2D;
    // paper: 1 - eps on the true class, eps / (K - 1) on each other class.
    const off = numClasses > 1 ? eps / (numClasses - 1) : 0;
    return tf.add(tf.mul(onehot, 1 - eps - off), off) as tf.Tensor2D;
  });
}

/** Mean over the batch of -sum_k target_k * log softmax(logits)_k. */
export function softCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar);
}

/** lambda * a + (1 - lambda) * a[perm] along the batch axis (inputs or targets). */
export function mixWith<T extends tf.Tensor>(a: T, lambda: number, perm: Int32Array): T {
  return tf.tidy(() => tf.add(tf.mul(a, lambda), tf.mul(tf.gather(a, tf.tensor1d(perm, 'int32')), 1 - lambda)) as T);
}

/**
 * R-Drop: 0.5 * (CE(p, t) + CE(q, t)) + alpha * 0.5 * (KL(P||Q) + KL(Q||P)) for the logits p and q
 * of two dropout passes. reduction `mean`: each sample's KL summed over classes, averaged over the
 * batch; `batchsum`: summed over batch and classes (the official code).
 */
export function rdropLoss(p: tf.Tensor2D, q: tf.Tensor2D, targets: tf.Tensor2D, alpha: number, reduction: 'mean' | 'batchsum'): tf.Scalar {
  return tf.tidy(() => {
    const ce = tf.mul(tf.add(softCrossEntropy(p, targets), softCrossEntropy(q, targets)), 0.5);
    const [lp, lq] = [tf.logSoftmax(p), tf.logSoftmax(q)];
    // KL(P||Q) + KL(Q||P) = sum (P - Q) * (log P - log Q), per element.
    const sym = tf.mul(tf.sub(tf.exp(lp), tf.exp(lq)), tf.sub(lp, lq));
    const total = tf.sum(sym);
    const kl = reduction === 'mean' ? tf.div(total, p.shape[0]) : total;
    return tf.add(ce, tf.mul(kl, alpha * 0.5)) as tf.Scalar;
  });
}

/** The distillation term T^2 * CE(softmax(r / T), softmax(z / T)), mean over the batch, for
 * student logits z and teacher logits r. */
export function distillSoft(z: tf.Tensor2D, r: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => tf.mul(softCrossEntropy(tf.div(z, temperature), tf.softmax(tf.div(r, temperature)) as tf.Tensor2D), temperature * temperature) as tf.Scalar);
}

/** Hard loss and distillation combined: paper hard + soft; weighted (1 - w) hard + w soft. */
export function withDistill(hard: tf.Scalar, soft: tf.Scalar, mode: 'paper' | 'weighted', weight: number): tf.Scalar {
  return tf.tidy(() => (mode === 'paper' ? tf.add(hard, soft) : tf.add(tf.mul(hard, 1 - weight), tf.mul(soft, weight))) as tf.Scalar);
}
