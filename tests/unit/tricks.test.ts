// The loss-level and optimizer tricks against PyTorch (tests/reference/tricks_reference.py wrote
// tests/fixtures/tricks_reference.json), their validation, and a training run with them on.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/shared/api';
import { baseLearningRate, mustParseRunConfig, parseRunConfig } from '../../src/shared/config';
import type { ParamRole } from '../../src/shared/models/ops';
import { initBackend } from '../../src/trainer/backend';
import { loadDataset, makeSplits } from '../../src/data/index';
import { crossEntropy } from '../../src/trainer/loss/cross-entropy';
import { distillSoft, mixWith, rdropLoss, softCrossEntropy, softTargets, withDistill } from '../../src/trainer/loss/tricks';
import { trainModel } from '../../src/trainer/loop';
import type { Param } from '../../src/trainer/models/layers';
import { buildModel } from '../../src/trainer/models/registry';
import { makeOptimizer } from '../../src/trainer/optim/optimizers';
import { drawMixup } from '../../src/trainer/tricks/mixup';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

const fx = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/tricks_reference.json'), 'utf8')) as {
  B: number;
  K: number;
  logits: number[];
  logitsQ: number[];
  labels: number[];
  plainCE: number;
  labelSmoothing: { epsilon: number; uniform: number; paper: number }[];
  mixup: { lambda: number; perm: number[]; x: number[]; mixedX: number[]; mixedTargets: number[]; loss: number; lossSmoothed: number };
  rdrop: { alpha: number; batchsum: number; mean: number }[];
  distill: { temperature: number; soft: number; paper: number; weighted03: number }[];
  sgd: {
    roles: Record<string, ParamRole>;
    init: Record<string, number[]>;
    grads: Record<string, number[]>[];
    lrs: number[];
    runs: { config: { name: 'sgd'; lr: number; momentum: number; nesterov: boolean; weightDecay: number; noBiasDecay: boolean }; params: Record<string, number[]> }[];
  };
};

// float32 against a float64 reference: losses of order 1 through log-softmax agree to ~1e-6;
// 1e-5 relative leaves room for summation order and still fails on any wrong term or constant.
const close = (actual: number, expected: number, label: string) => expect(Math.abs(actual - expected), label).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(expected)));
const allClose = (actual: ArrayLike<number>, expected: number[], label: string, tol = 1e-5) => {
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!), `${label}[${i}]`).toBeLessThanOrEqual(tol * (1 + Math.abs(expected[i]!)));
};

beforeAll(async () => {
  await initBackend('wasm');
});

const logits = () => tf.tensor2d(fx.logits, [fx.B, fx.K]);
const labels = () => tf.tensor1d(fx.labels, 'int32');

describe('loss tricks against PyTorch', () => {
  it('plain soft-target CE equals the integer-label CE and PyTorch', () => {
    tf.tidy(() => {
      close(softCrossEntropy(logits(), softTargets(labels(), fx.K, null)).dataSync()[0]!, fx.plainCE, 'soft CE');
      close(crossEntropy(logits(), labels(), fx.K).dataSync()[0]!, fx.plainCE, 'CE');
    });
  });

  it.each(fx.labelSmoothing)('label smoothing eps $epsilon, both conventions', (r) => {
    tf.tidy(() => {
      for (const convention of ['uniform', 'paper'] as const) {
        const t = softTargets(labels(), fx.K, { epsilon: r.epsilon, convention });
        allClose(tf.sum(t, 1).dataSync(), Array(fx.B).fill(1), 'targets sum to 1');
        close(softCrossEntropy(logits(), t).dataSync()[0]!, r[convention], convention);
      }
    });
  });

  it('mixup: mixed inputs, targets and the loss for a fixed lambda and permutation', () => {
    const m = fx.mixup;
    const perm = Int32Array.from(m.perm);
    tf.tidy(() => {
      allClose(mixWith(tf.tensor4d(m.x, [fx.B, 2, 2, 1]), m.lambda, perm).dataSync(), m.mixedX, 'x');
      const t = mixWith(softTargets(labels(), fx.K, null), m.lambda, perm);
      allClose(t.dataSync(), m.mixedTargets, 'targets');
      close(softCrossEntropy(logits(), t).dataSync()[0]!, m.loss, 'loss');
      const ts = mixWith(softTargets(labels(), fx.K, { epsilon: 0.1, convention: 'uniform' }), m.lambda, perm);
      close(softCrossEntropy(logits(), ts).dataSync()[0]!, m.lossSmoothed, 'loss with label smoothing');
    });
  });

  it.each(fx.rdrop)('R-Drop alpha $alpha, both reductions', (r) => {
    tf.tidy(() => {
      const [p, q, t] = [logits(), tf.tensor2d(fx.logitsQ, [fx.B, fx.K]), softTargets(labels(), fx.K, null)];
      close(rdropLoss(p, q, t, r.alpha, 'mean').dataSync()[0]!, r.mean, 'mean');
      close(rdropLoss(p, q, t, r.alpha, 'batchsum').dataSync()[0]!, r.batchsum, 'batchsum');
      // Identical passes: the KL term vanishes and the loss is the plain CE.
      close(rdropLoss(p, p, t, r.alpha, 'mean').dataSync()[0]!, fx.plainCE, 'p == q');
    });
  });
});

describe('knowledge distillation against PyTorch', () => {
  it.each(fx.distill)('T = $temperature: soft term, paper and weighted (w 0.3) losses', (r) => {
    tf.tidy(() => {
      const [z, t] = [logits(), tf.tensor2d(fx.logitsQ, [fx.B, fx.K])];
      const soft = distillSoft(z, t, r.temperature);
      close(soft.dataSync()[0]!, r.soft, 'soft');
      const hard = crossEntropy(z, labels(), fx.K);
      close(withDistill(hard, soft, 'paper', 0.5).dataSync()[0]!, r.paper, 'paper');
      close(withDistill(hard, soft, 'weighted', 0.3).dataSync()[0]!, r.weighted03, 'weighted');
    });
  });
});

describe('SGD with weight decay and no-bias-decay against PyTorch parameter groups', () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    it.each(fx.sgd.runs)(`${backend}: noBiasDecay $config.noBiasDecay, nesterov $config.nesterov, 3 steps`, async (run) => {
      await tf.setBackend(backend); // wasm: one native call for all parameters where the addon exists
      try {
        const params: Param[] = Object.entries(fx.sgd.init).map(([name, v]) => ({
          name, layer: name.split('/')[0]!, role: fx.sgd.roles[name]!, variable: tf.variable(tf.tensor1d(v)), fanIn: 1, fanOut: 1,
        }));
        const opt = makeOptimizer(run.config);
        fx.sgd.grads.forEach((g, step) => {
          const grads = Object.fromEntries(params.map((p) => [p.name, tf.tensor1d(g[p.name]!)]));
          opt.step(params, grads, fx.sgd.lrs[step]!);
          tf.dispose(Object.values(grads));
        });
        for (const p of params) allClose(p.variable.dataSync(), run.params[p.name]!, p.name);
        opt.dispose();
        tf.dispose(params.map((p) => p.variable));
      } finally {
        await tf.setBackend('wasm');
      }
    });
  }
});

describe('mixup draws', () => {
  it('depend only on (seed, step): the same again, another step differs; perm is a permutation', () => {
    const a = drawMixup(3, 17, 32, 0.2);
    expect(drawMixup(3, 17, 32, 0.2)).toEqual(a);
    expect(drawMixup(3, 18, 32, 0.2).lambda).not.toBe(a.lambda);
    expect(drawMixup(4, 17, 32, 0.2).lambda).not.toBe(a.lambda);
    expect([...a.perm].sort((x, y) => x - y)).toEqual([...Array(32).keys()]);
    expect(a.lambda).toBeGreaterThanOrEqual(0);
    expect(a.lambda).toBeLessThanOrEqual(1);
  });

  it('lambda follows Beta(alpha, alpha): mean 1/2, U-shaped at alpha 0.2, central at alpha 5', () => {
    const draws = (alpha: number) => Array.from({ length: 4000 }, (_, s) => drawMixup(1, s, 2, alpha).lambda);
    const low = draws(0.2);
    const mean = low.reduce((a, b) => a + b, 0) / low.length;
    // SD of Beta(0.2, 0.2) is ~0.42: the mean of 4000 draws is within 0.04 of 1/2 at ~6 sigma.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.04);
    // Beta(0.2, 0.2) puts ~69% of its mass below 0.1 or above 0.9; Beta(5, 5) ~0.1%.
    const extreme = (v: number[]) => v.filter((l) => l < 0.1 || l > 0.9).length / v.length;
    expect(extreme(low)).toBeGreaterThan(0.6);
    expect(extreme(draws(5))).toBeLessThan(0.01);
  });
});

describe('validation of tricks', () => {
  it('refuses R-Drop on a model without dropout, naming the trick and the field', () => {
    const r = parseRunConfig({ tricks: { rdrop: { alpha: 0.3 } } }, BUILTIN_FACTS);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toEqual([expect.objectContaining({ field: 'tricks.rdrop', message: expect.stringMatching(/R-Drop needs dropout: model.dropout is 0/) })]);
    expect(parseRunConfig({ model: { name: 'cnn3', dropout: 0.3 }, tricks: { rdrop: {} } }, BUILTIN_FACTS).ok).toBe(true);
  });

  it('refuses mixup that would never run, and bad option values, at their fields', () => {
    const r = parseRunConfig({ epochs: 3, tricks: { mixup: { offLastEpochs: 3 } } }, BUILTIN_FACTS);
    expect(r.ok || r.errors.map((e) => e.field)).toEqual(['tricks.mixup.offLastEpochs']);
    const s = parseRunConfig({ tricks: { labelSmoothing: { epsilon: 1.5, convention: 'other' } } }, BUILTIN_FACTS);
    expect(s.ok || s.errors.map((e) => e.field).sort()).toEqual(['tricks.labelSmoothing.convention', 'tricks.labelSmoothing.epsilon']);
  });

  it('fills the defaults of the spec', () => {
    const c = mustParseRunConfig({ model: { name: 'cnn3', dropout: 0.1 }, tricks: { labelSmoothing: {}, mixup: {}, rdrop: {} } }, BUILTIN_FACTS);
    expect(c.tricks).toEqual({ labelSmoothing: { epsilon: 0.1, convention: 'uniform' }, mixup: { alpha: 0.2, offLastEpochs: 0 }, cutmix: null, rdrop: { alpha: 0.3, reduction: 'mean' }, rifle: null, repr: null, distill: null });
    expect(c.optimizer).toMatchObject({ noBiasDecay: false, linearScaling: false });
  });

  it('linear scaling: lr is the base LR for batch 256', () => {
    expect(baseLearningRate(mustParseRunConfig({ optimizer: { lr: 0.1, linearScaling: true }, batchSize: 64 }, BUILTIN_FACTS))).toBeCloseTo(0.025, 12);
    expect(baseLearningRate(mustParseRunConfig({ optimizer: { lr: 0.1 }, batchSize: 64 }, BUILTIN_FACTS))).toBe(0.1);
  });
});

describe('training with the tricks on', () => {
  it('label smoothing + mixup (off for the last epoch) + R-Drop: trains, logs mixup.off once at the right epoch', async () => {
    const config = mustParseRunConfig({
      dataset: { name: 'synthetic', trainSubset: 256, valSplit: 0.25 },
      model: { name: 'cnn3', width: 4, dropout: 0.3 },
      epochs: 3,
      batchSize: 32,
      tricks: { labelSmoothing: { epsilon: 0.1 }, mixup: { alpha: 0.2, offLastEpochs: 1 }, rdrop: { alpha: 0.3 } },
    }, BUILTIN_FACTS);
    const splits = makeSplits(await loadDataset(config.dataset, '/nonexistent'), config.dataset);
    const before = tf.memory().numTensors;
    const model = buildModel(config.model, splits.dataset.shape, 10, config.seed);
    const opt = makeOptimizer(config.optimizer);
    const events: RunEvent[] = [];
    const losses: number[] = [];
    await trainModel(config, splits, model, opt, {
      metrics: (p) => losses.push(...p.filter((x) => x.key === 'train/loss_step').map((x) => x.value)),
      event: (e) => events.push(e),
      progress: () => undefined,
      shouldStop: async () => false,
    });
    expect(losses.length).toBe(3 * 6);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(events.filter((e) => e.kind === 'mixup.off')).toEqual([expect.objectContaining({ epoch: 2, step: 12, payload: { epoch: 2, offLastEpochs: 1 } })]);
    model.dispose();
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('logs the LR phase changes: the end of warmup and each step decay, once, where they happen', async () => {
    const config = mustParseRunConfig({
      dataset: { name: 'synthetic', trainSubset: 256, valSplit: 0.25 },
      model: { name: 'cnn3', width: 4 },
      epochs: 3,
      batchSize: 32,
      optimizer: { lr: 0.1 },
      schedule: { name: 'step', warmupEpochs: 1, milestones: [2], gamma: 0.1 },
    }, BUILTIN_FACTS);
    const splits = makeSplits(await loadDataset(config.dataset, '/nonexistent'), config.dataset);
    const model = buildModel(config.model, splits.dataset.shape, 10, config.seed);
    const opt = makeOptimizer(config.optimizer);
    const events: RunEvent[] = [];
    await trainModel(config, splits, model, opt, { metrics: () => undefined, event: (e) => events.push(e), progress: () => undefined, shouldStop: async () => false });
    expect(events.filter((e) => e.kind === 'lr.phase').map((e) => [e.epoch, e.step, e.payload])).toEqual([
      [1, 6, { phase: 'warmup end', next: 'step', lr: 0.1 }],
      [2, 12, { phase: 'step decay', milestone: 2, lr: expect.closeTo(0.01, 12) }],
    ]);
    model.dispose();
    opt.dispose();
  });
});
