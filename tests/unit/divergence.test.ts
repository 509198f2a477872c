// A run that diverges keeps its curve up to the divergence: the per-step points of the steps
// before it reach the sink (the store and the live charts) before the run fails, however soon it
// diverged (they used to wait for the once-a-second flush and were lost with the error).
import { beforeAll, describe, expect, it } from 'vitest';
import type { MetricPoint } from '../../src/shared/api';
import { mustParseRunConfig } from '../../src/shared/config';
import { initBackend } from '../../src/trainer/backend';
import { loadDataset, makeSplits } from '../../src/data/index';
import { trainModel } from '../../src/trainer/loop';
import { buildModel } from '../../src/trainer/models/registry';
import { makeOptimizer } from '../../src/trainer/optim/optimizers';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('divergence', () => {
  it('the finite steps before a non-finite loss are written before the run fails', async () => {
    // a learning rate far too high: diverges within a few steps (step 4 here), inside the first
    // flush interval
    const config = mustParseRunConfig({ dataset: { name: 'synthetic', trainSubset: 256, valSplit: 0.25 }, model: { name: 'mlp' }, epochs: 1, batchSize: 16, optimizer: { name: 'sgd', lr: 1e3, momentum: 0 } }, BUILTIN_FACTS);
    const splits = makeSplits(await loadDataset(config.dataset, '/nonexistent'), config.dataset);
    const model = buildModel(config.model, splits.dataset.shape, 10, config.seed);
    const opt = makeOptimizer(config.optimizer);
    const points: MetricPoint[] = [];
    let error = '';
    try {
      await trainModel(config, splits, model, opt, { metrics: (p) => points.push(...p), event: () => undefined, progress: () => undefined, shouldStop: async () => false });
    } catch (e) {
      error = (e as Error).message;
    } finally {
      model.dispose();
      opt.dispose();
    }
    const m = /training diverged: train\/loss is (NaN|-?Infinity) at epoch 1, step (\d+)/.exec(error);
    expect(m, error).not.toBeNull();
    const at = Number(m![2]);
    expect(at).toBeGreaterThanOrEqual(3); // steps after the first flush, before the next one
    const loss = points.filter((p) => p.key === 'train/loss_step');
    expect(loss.map((p) => p.step)).toEqual(Array.from({ length: at - 1 }, (_, i) => i + 1));
    expect(loss.every((p) => Number.isFinite(p.value))).toBe(true);
    expect(points.filter((p) => p.key === 'lr_step')).toHaveLength(at - 1);
  });
});
