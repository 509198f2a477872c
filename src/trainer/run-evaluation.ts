// The end of a run: the test set with the best-val weights next to the last ones, stored as
// metrics (`test/acc_best`, ...), evaluations (confusion matrix, per-class accuracy) and the best
// checkpoint's predictions, with the pixels of the images the run page shows.
import type { Evaluation, MetricPoint } from '../shared/api';
import type { RunConfig } from '../shared/config';
import type { Store } from '../store/store';
import { readCheckpoint } from '../store/checkpoint';
import type { Splits } from '../data/types';
import { evaluateTest, pickThumbnails, type TestResult } from './evaluation';
import type { TrainResult } from './loop';
import type { SequentialModel } from './models/model';
import { restoreWeights, type ModelWeights } from './train-state';

function toEvaluation(checkpoint: Evaluation['checkpoint'], r: TestResult, at: { epoch: number; step: number }): Evaluation {
  return { checkpoint, epoch: at.epoch, step: at.step, n: r.n, loss: r.loss, acc: r.acc, top5: r.top5, confusion: r.confusion, perClass: r.perClass };
}

export async function recordEvaluations(o: {
  store: Store;
  runId: number;
  dir: string;
  config: RunConfig;
  splits: Splits;
  model: SequentialModel;
  weights: ModelWeights;
  result: TrainResult;
  progress(p: { epoch: number; step: number; stepsPerEpoch: number; phase: 'eval' }): void;
}): Promise<{ points: MetricPoint[] }> {
  const { dataset } = o.splits;
  const last = o.result.test;
  const lastAt = { epoch: o.result.position.epoch, step: o.result.position.step };
  const bestCkpt = readCheckpoint(o.dir, 'best');
  let best = last;
  let bestAt = lastAt;
  // The best weights are the last ones when the last epoch was the best: no second pass then.
  if (bestCkpt && bestCkpt.manifest.position.step !== lastAt.step) {
    o.progress({ epoch: o.config.epochs - 1, step: lastAt.step, stepsPerEpoch: bestCkpt.manifest.position.stepsPerEpoch, phase: 'eval' });
    restoreWeights(o.weights, bestCkpt, `the best checkpoint of run ${o.runId}`);
    best = await evaluateTest(o.model, o.splits.eval.test.set, o.splits.inputShape, o.splits.norm, o.splits.eval.test.indices, dataset.numClasses);
    bestAt = { epoch: bestCkpt.manifest.position.epoch, step: bestCkpt.manifest.position.step };
  }

  const point = (key: string, value: number): MetricPoint => ({ key, step: lastAt.step, epoch: o.config.epochs, value, time: Date.now() });
  const points = [point('test/acc_best', best.acc), point('test/loss_best', best.loss)];
  if (best.top5 !== null) points.push(point('test/top5_best', best.top5));
  o.store.addMetrics(o.runId, points);

  // The pictures are the images the model saw, at its input size.
  const shape = o.splits.inputShape;
  const testSet = o.splits.eval.test;
  const per = shape[0] * shape[1] * shape[2];
  const withPixels = new Set(pickThumbnails(best));
  const predictions = Array.from({ length: best.n }, (_, i) => {
    const index = o.splits.test[i]!;
    const at = testSet.indices[i]!;
    return {
      index,
      label: best.labels[i]!,
      pred: best.pred[i]!,
      confidence: best.conf[i]!,
      image: withPixels.has(i) ? testSet.set.images.slice(at * per, (at + 1) * per) : null,
    };
  });
  o.store.evaluations.save(o.runId, {
    evaluations: [toEvaluation('last', last, lastAt), toEvaluation('best', best, bestAt)],
    classNames: dataset.classNames,
    imageShape: [...shape],
    predictions,
  });
  return { points };
}
