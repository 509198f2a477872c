// The end-of-run test evaluation: loss, accuracy, top-5, the confusion matrix, per-class accuracy
// and every test image's prediction, for the last and the best-val weights.
import * as tf from '@tensorflow/tfjs-core';
import { gatherBatch } from '../data/index';
import type { ImageSet, Normalization } from '../data/types';
import { crossEntropy } from './loss/cross-entropy';

const EVAL_BATCH = 256;
const TOP_K = 5;

export interface TestResult {
  n: number;
  loss: number;
  acc: number;
  /** Top-5 accuracy; null when there are 5 classes or fewer (it would always be 1). */
  top5: number | null;
  confusion: number[][]; // [true][predicted]
  perClass: (number | null)[];
  /** Per evaluated image, in the order of the given indices. */
  labels: Int32Array;
  pred: Int32Array;
  conf: Float32Array;
}

interface Classifier {
  apply(x: tf.Tensor, ctx: { training: boolean; step: number }): tf.Tensor;
}

export async function evaluateTest(
  model: Classifier,
  set: ImageSet,
  shape: readonly number[],
  norm: Normalization,
  indices: Int32Array,
  numClasses: number,
): Promise<TestResult> {
  const n = indices.length;
  const labels = new Int32Array(n);
  const pred = new Int32Array(n);
  const conf = new Float32Array(n);
  const withTop5 = numClasses > TOP_K;
  let lossSum = 0;
  let top5 = 0;
  for (let start = 0; start < n; start += EVAL_BATCH) {
    const end = Math.min(start + EVAL_BATCH, n);
    const b = gatherBatch(set, shape, norm, indices, start, end);
    const out = tf.tidy(() => {
      const x = tf.tensor4d(b.x, [b.n, shape[0]!, shape[1]!, shape[2]!]);
      const y = tf.tensor1d(b.y, 'int32');
      const logits = model.apply(x, { training: false, step: 0 }) as tf.Tensor2D;
      const probs = tf.softmax(logits);
      const hit5 = withTop5
        ? tf.sum(tf.cast(tf.any(tf.equal(tf.topk(logits, TOP_K).indices, tf.expandDims(y, 1)), 1), 'float32'))
        : tf.scalar(0);
      return [tf.mul(crossEntropy(logits, y, numClasses), b.n), tf.argMax(logits, 1), tf.max(probs, 1), hit5];
    });
    const [l, p, c, h] = await Promise.all(out.map((t) => t.data()));
    for (const t of out) t.dispose();
    lossSum += l![0]!;
    top5 += h![0]!;
    labels.set(b.y, start);
    pred.set(p as Int32Array, start);
    conf.set(c as Float32Array, start);
  }
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    confusion[labels[i]!]![pred[i]!]!++;
    if (labels[i] === pred[i]) correct++;
  }
  const perClass = confusion.map((row, k) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total ? row[k]! / total : null;
  });
  return {
    n,
    loss: n ? lossSum / n : NaN,
    acc: n ? correct / n : NaN,
    top5: withTop5 && n ? top5 / n : null,
    confusion,
    perClass,
    labels,
    pred,
    conf,
  };
}

/** Positions (into the result's arrays) of the images worth keeping pixels for: the most
 * confidently wrong, the most confidently right and the least confident ones. The orders match
 * the store's prediction queries (confidence, then position). */
export function pickThumbnails(r: TestResult, counts = { wrong: 200, right: 200, least: 100 }): number[] {
  const all = Array.from({ length: r.n }, (_, i) => i);
  const byConfDesc = (a: number, b: number) => r.conf[b]! - r.conf[a]! || a - b;
  const wrong = all.filter((i) => r.pred[i] !== r.labels[i]).sort(byConfDesc).slice(0, counts.wrong);
  const right = all.filter((i) => r.pred[i] === r.labels[i]).sort(byConfDesc).slice(0, counts.right);
  const least = all.sort((a, b) => r.conf[a]! - r.conf[b]! || a - b).slice(0, counts.least);
  return [...new Set([...wrong, ...right, ...least])];
}
