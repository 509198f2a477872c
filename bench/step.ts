// The training step the benchmarks time: the loop's trainStep (forward, backward, SGD-momentum
// update) plus the loss read the loop does every step, on a model built as a run builds it.
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfigInput } from '../src/shared/config';
import { trainStep } from '../src/trainer/loop';
import { buildModel } from '../src/trainer/models/registry';
import { makeOptimizer } from '../src/trainer/optim/optimizers';
import { makeRng } from '../src/shared/rng';

export interface Batch {
  x: Float32Array;
  y: Int32Array;
  n: number;
}

/** A batch of random inputs and labels (what the step computes does not depend on the values). */
export function randomBatch(shape: readonly [number, number, number], n: number): Batch {
  const rng = makeRng(1, 'bench');
  return { x: Float32Array.from({ length: n * shape[0] * shape[1] * shape[2] }, () => rng.next()), y: Int32Array.from({ length: n }, () => rng.int(10)), n };
}

export function benchTrainer(model: ModelConfigInput, shape: [number, number, number]) {
  const m = buildModel(model, shape, 10, 1);
  const opt = makeOptimizer({ name: 'sgd', lr: 0.01, momentum: 0.9, nesterov: false, weightDecay: 0 });
  return {
    /** Multiply-adds of one image's forward pass (Model.flops). */
    flops: m.flops,
    async step(b: Batch): Promise<void> {
      const [l, k] = trainStep(m, opt, b, shape, 10, 0.01, 0);
      await l.data(); // the loop reads the loss every step: include that sync
      tf.dispose([l, k]);
    },
    dispose(): void {
      m.dispose();
      opt.dispose();
    },
  };
}
