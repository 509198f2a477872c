// Our model, loss, optimizers and schedules against PyTorch (tests/reference/skeleton_reference.py
// wrote the fixture; regenerate it with Debian's python3-torch). Run on the wasm backend.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mustParseRunConfig, type OptimizerConfig } from '../../src/shared/config';
import { initBackend } from '../../src/trainer/backend';
import { crossEntropy } from '../../src/trainer/loop';
import { buildModel } from '../../src/trainer/models/registry';
import type { SequentialModel } from '../../src/trainer/models/model';
import { makeOptimizer } from '../../src/trainer/optim/optimizers';
import { learningRate } from '../../src/trainer/optim/schedule';
import { registerGradients } from '../../src/trainer/tf/gradients';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

interface Fixture {
  inputs: { x: number[]; xShape: number[]; labels: number[]; width: number; classes: number };
  params: Record<string, { shape: number[]; values: number[] }>;
  forward: { logits: number[]; loss: number; grads: Record<string, number[]> };
  optimizers: { config: OptimizerConfig; lrs: number[]; params: Record<string, number[]> }[];
  schedules: { config: { epochs: number; schedule: object }; lr0: number; stepsPerEpoch: number; values: number[] }[];
}
const fx = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/skeleton_reference.json'), 'utf8')) as Fixture;

// float32 against a float64 reference: relative error of a few ulps per operation, over sums of
// up to ~100 terms and 3 optimisation steps, stays well below 1e-5 of the values' scale.
function expectClose(actual: ArrayLike<number>, expected: number[], what: string, tol = 1e-5) {
  expect(actual.length, what).toBe(expected.length);
  const scale = Math.max(1e-3, ...expected.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst / scale, `${what}: max abs error ${worst} at scale ${scale}`).toBeLessThan(tol);
}

function modelFromFixture(): SequentialModel {
  const { xShape, width, classes } = fx.inputs;
  const model = buildModel({ name: 'cnn3', width }, xShape.slice(1), classes, 0);
  expect(model.params.map((p) => p.name).sort()).toEqual(Object.keys(fx.params).sort());
  for (const p of model.params) {
    const ref = fx.params[p.name]!;
    expect(p.variable.shape, p.name).toEqual(ref.shape);
    p.variable.assign(tf.tensor(ref.values, ref.shape, 'float32'));
  }
  return model;
}

const lossOf = (model: SequentialModel) => {
  const x = tf.tensor4d(fx.inputs.x, fx.inputs.xShape as [number, number, number, number]);
  const y = tf.tensor1d(fx.inputs.labels, 'int32');
  return { x, y, f: () => crossEntropy(model.apply(x, { training: true, step: 0 }), y, fx.inputs.classes) };
};

beforeAll(async () => {
  await initBackend('wasm');
  registerGradients();
});

describe('against PyTorch', () => {
  it('cnn3 forward pass, cross-entropy and its gradients', () => {
    const model = modelFromFixture();
    const { x, y, f } = lossOf(model);
    const logits = model.apply(x, { training: false, step: 0 });
    expectClose(logits.dataSync(), fx.forward.logits, 'logits');
    const { value, grads } = tf.variableGrads(f, model.params.map((p) => p.variable));
    expectClose([value.dataSync()[0]!], [fx.forward.loss], 'loss');
    for (const p of model.params) expectClose(grads[p.variable.name]!.dataSync(), fx.forward.grads[p.name]!, `grad ${p.name}`);
    tf.dispose([x, y, logits, value, ...Object.values(grads)]);
    model.dispose();
  });

  it.each(fx.optimizers.map((o) => [JSON.stringify(o.config), o] as const))('%s: three steps', (_name, o) => {
    const model = modelFromFixture();
    const opt = makeOptimizer(o.config);
    const { x, y, f } = lossOf(model);
    for (const lr of o.lrs) {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(f, model.params.map((p) => p.variable));
        const byName = Object.fromEntries(model.params.map((p) => [p.name, grads[p.variable.name]!]));
        opt.step(model.params, byName, lr);
      });
    }
    for (const p of model.params) expectClose(p.variable.dataSync(), o.params[p.name]!, `${o.config.name} ${p.name}`);
    tf.dispose([x, y]);
    opt.dispose();
    model.dispose();
  });

  it.each(fx.schedules.map((s) => [JSON.stringify(s.config.schedule), s] as const))('LR schedule %s per batch', (_name, s) => {
    const cfg = mustParseRunConfig(s.config, BUILTIN_FACTS);
    const ours = s.values.map((_, step) => learningRate(cfg, s.lr0, step, s.stepsPerEpoch));
    expectClose(ours, s.values, 'lr', 1e-9);
  });
});
