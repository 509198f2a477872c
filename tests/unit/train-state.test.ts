// Optimizer getState/setState and model weights <-> checkpoint: exact round trips on the wasm
// backend, and the fine-tuning rules (exclude prefixes, head re-created, shape errors).
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultOptimizer, modelSchema } from '../../src/shared/config';
import { initBackend } from '../../src/trainer/backend';
import type { Checkpoint } from '../../src/store/checkpoint';
import { buildModel } from '../../src/trainer/models/registry';
import { makeOptimizer, type Optimizer } from '../../src/trainer/optim/optimizers';
import { matchesPrefix } from '../../src/store/init-plan';
import { applyInit, captureState, restoreOptimizer, restoreWeights } from '../../src/trainer/train-state';

beforeAll(async () => {
  await initBackend('wasm');
});

/** A small cnn3 on 8x8 grey images, as the params/buffers/numClasses view train-state uses. */
const model = (width: number, classes: number, seed = 1) => {
  const m = buildModel(modelSchema.parse({ name: 'cnn3', width }), [8, 8, 1], classes, seed);
  return { params: m.params, buffers: m.buffers, numClasses: classes, dispose: () => m.dispose() };
};

/** Fixed pseudo-gradients for every param, so two optimizers can be stepped identically. */
function grads(params: { name: string; variable: tf.Variable }[], k: number): Record<string, tf.Tensor> {
  return Object.fromEntries(params.map((p, i) => [p.name, tf.sin(tf.add(tf.mul(tf.onesLike(p.variable), k + i), tf.reshape(tf.range(0, p.variable.size), p.variable.shape)))]));
}

async function values(vs: { variable: tf.Variable }[]): Promise<number[][]> {
  return Promise.all(vs.map(async (v) => Array.from(await v.variable.data())));
}

function asCheckpoint(state: Awaited<ReturnType<typeof captureState>>, numClasses: number): Checkpoint {
  return {
    manifest: { runId: 1, kind: 'best', model: { numClasses }, optimizer: state.optimizer } as Checkpoint['manifest'],
    tensors: state.arrays,
  };
}

describe('optimizer state', () => {
  for (const cfg of [
    { ...defaultOptimizer('sgd'), momentum: 0.9, nesterov: true, weightDecay: 1e-3 },
    { ...defaultOptimizer('adam'), weightDecay: 1e-3 },
  ]) {
    it(`${cfg.name}: getState -> setState on a fresh optimizer continues exactly`, async () => {
      const a = model(2, 3);
      const b = model(2, 3, 99);
      const optA: Optimizer = makeOptimizer(cfg);
      for (let k = 0; k < 3; k++) {
        const g = grads(a.params, k);
        optA.step(a.params, g, 0.05);
        Object.values(g).forEach((t) => t.dispose());
      }
      // Through the checkpoint arrays, as a resume does.
      const state = await captureState(a, optA);
      expect(state.optimizer).toEqual({ name: cfg.name, scalars: cfg.name === 'adam' ? { t: 3 } : {} });
      const ckpt = asCheckpoint(state, 3);
      const optB = makeOptimizer(cfg);
      restoreWeights(b, ckpt, 'test');
      const before = tf.memory().numTensors;
      restoreOptimizer(optB, ckpt);
      restoreOptimizer(optB, ckpt); // replacing state frees the old tensors
      expect(tf.memory().numTensors - before).toBe(cfg.name === 'adam' ? 2 * a.params.length : a.params.length);
      for (let k = 3; k < 5; k++) {
        for (const [m, o] of [[a, optA], [b, optB]] as const) {
          const g = grads(m.params, k);
          o.step(m.params, g, 0.05);
          Object.values(g).forEach((t) => t.dispose());
        }
      }
      expect(await values(b.params)).toEqual(await values(a.params));
      const sa = optA.getState();
      const sb = optB.getState();
      expect(sb.scalars).toEqual(sa.scalars);
      for (const slot of Object.keys(sa.slots)) {
        for (const name of Object.keys(sa.slots[slot]!)) {
          expect(Array.from(await sb.slots[slot]![name]!.data()), `${slot} ${name}`).toEqual(Array.from(await sa.slots[slot]![name]!.data()));
        }
      }
      expect(() => optB.setState({ ...sa, name: cfg.name === 'sgd' ? 'adam' : 'sgd' })).toThrow(/optimizer state is for/);
      for (const x of [a, b]) x.dispose();
      optA.dispose();
      optB.dispose();
    });
  }
});

describe('initialising from another run', () => {
  it('loads matching layers, skips excluded prefixes, re-creates the head when classes differ', async () => {
    const src = model(2, 10, 1);
    const ckpt = asCheckpoint(await captureState(src), 10);
    const dst = model(2, 5, 2);
    const r = applyInit(dst, ckpt, { fromRun: 4, exclude: ['conv3'] });
    expect(r.loaded).toEqual(['conv1/kernel', 'conv1/bias', 'conv2/kernel', 'conv2/bias']);
    expect(r.skipped).toEqual(['conv3/kernel', 'conv3/bias', 'head/kernel', 'head/bias']);
    expect(r.reasons['conv3/bias']).toBe('excluded (conv3)');
    expect(r.reasons['head/kernel']).toBe('re-created: 10 classes in run 4, 5 here');
    expect(await values(dst.params.slice(0, 4))).toEqual(await values(src.params.slice(0, 4)));
    expect(await values(dst.params.slice(4, 5))).not.toEqual(await values(src.params.slice(4, 5)));
    // Same class count, nothing excluded: everything, head included.
    const same = model(2, 10, 3);
    expect(applyInit(same, ckpt, { fromRun: 4, exclude: [] }).skipped).toEqual([]);
    for (const m of [src, dst, same]) m.dispose();
  });

  it('names the first layer whose shape does not fit, and loads nothing', async () => {
    const src = model(2, 10, 1);
    const ckpt = asCheckpoint(await captureState(src), 10);
    const dst = model(3, 10, 2);
    const before = await values(dst.params);
    expect(() => applyInit(dst, ckpt, { fromRun: 4, exclude: ['head'] })).toThrow(
      'init.fromRun: layer conv1/kernel has shape [3,3,1,2] in run 4 but [3,3,1,3] here',
    );
    expect(await values(dst.params)).toEqual(before);
    expect(() => restoreWeights(dst, ckpt, 'the last checkpoint of run 4')).toThrow(/conv1\/kernel has shape \[3,3,1,2\] there but \[3,3,1,3\]/);
    src.dispose();
    dst.dispose();
  });

  it('matches layer prefixes on whole name parts', () => {
    expect(matchesPrefix('head/kernel', 'head')).toBe(true);
    expect(matchesPrefix('conv10/bias', 'conv1')).toBe(false);
    expect(matchesPrefix('stage2.block0.conv1/kernel', 'stage2')).toBe(true);
    expect(matchesPrefix('stage2.block0.conv1/kernel', 'stage2.block0')).toBe(true);
    expect(matchesPrefix('stage20.block0/kernel', 'stage2')).toBe(false);
    expect(matchesPrefix('conv1/kernel', 'conv1/kernel')).toBe(true);
  });
});
