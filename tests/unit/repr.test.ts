// RePr: orthogonality ranking and the pruned set against PyTorch (tests/reference/tricks_reference.py),
// the null-space re-initialisation's geometry, and the S1/S2 cycle in a training loop: pruned
// filters exactly zero through S2 (momentum and Adam), re-initialised ones orthogonal to the kept
// and the old pruned filters, within the clip bound, and invisible to the next layer at first.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/shared/api';
import { mustParseRunConfig, parseRunConfig, reprCalendar } from '../../src/shared/config';
import { initBackend } from '../../src/trainer/backend';
import { loadDataset, makeSplits } from '../../src/trainer/data/index';
import { trainModel } from '../../src/trainer/loop';
import { trainStep } from '../../src/trainer/tricks/step-tricks';
import * as tf from '@tensorflow/tfjs-core';
import { buildModel } from '../../src/trainer/models/registry';
import { makeOptimizer } from '../../src/trainer/optim/optimizers';
import { filterRows, nullSpaceVectors, orthogonalityScores, selectPruned } from '../../src/shared/tricks/repr-math';
import { makeRng } from '../../src/trainer/rng';

const fx = (JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/tricks_reference.json'), 'utf8')) as {
  repr: {
    ratio: number;
    kernels: Record<string, { shape: number[]; values: number[] }>;
    scores: Record<string, number[]>;
    prunedGlobal: Record<string, number[]>;
    prunedLayer: Record<string, number[]>;
  };
}).repr;

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

beforeAll(async () => {
  await initBackend('wasm');
});

describe('RePr ranking against PyTorch', () => {
  const layers = Object.entries(fx.kernels).map(([layer, k]) => ({ layer, scores: orthogonalityScores(filterRows(k.values, k.shape)) }));

  it('orthogonality scores per filter', () => {
    for (const l of layers) {
      const ref = fx.scores[l.layer]!;
      expect(l.scores.length).toBe(ref.length);
      // Both in float64 from the same numbers: only summation order differs.
      l.scores.forEach((s, f) => expect(Math.abs(s - ref[f]!), `${l.layer}[${f}]`).toBeLessThan(1e-12));
    }
  });

  it('the pruned set, global and per layer', () => {
    expect(Object.fromEntries(selectPruned(layers, fx.ratio, 'global'))).toEqual(fx.prunedGlobal);
    expect(Object.fromEntries(selectPruned(layers, fx.ratio, 'layer'))).toEqual(fx.prunedLayer);
  });

  it('never prunes a whole layer', () => {
    const small = [{ layer: 'a', scores: Float64Array.from([0.9, 0.8]) }, { layer: 'b', scores: Float64Array.from([0.1, 0.2, 0.3, 0.4]) }];
    const p = selectPruned(small, 0.8, 'global');
    expect(p.get('a')).toEqual([0]);
    expect(p.get('b')!.length).toBe(3);
  });
});

describe('null-space vectors', () => {
  it('are unit vectors orthogonal to every given row and to each other', () => {
    const rng = makeRng(1, 'ns');
    const rows = Array.from({ length: 10 }, () => Float64Array.from({ length: 27 }, () => rng.normal()));
    const v = nullSpaceVectors(rows, 6, 27, () => rng.normal());
    expect(v.length).toBe(6);
    for (const [i, a] of v.entries()) {
      expect(Math.abs(dot(a, a) - 1)).toBeLessThan(1e-12);
      for (const r of rows) expect(Math.abs(dot(a, r))).toBeLessThan(1e-9);
      for (const b of v.slice(i + 1)) expect(Math.abs(dot(a, b))).toBeLessThan(1e-12);
    }
  });

  it('stop where the null space is exhausted (C^3 first layer: 32 filters of 27 values)', () => {
    const rng = makeRng(2, 'ns');
    const rows = Array.from({ length: 24 }, () => Float64Array.from({ length: 27 }, () => rng.normal()));
    expect(nullSpaceVectors(rows, 8, 27, () => rng.normal()).length).toBe(3);
  });
});

describe('validation', () => {
  it('refuses RePr on a model without conv layers and a calendar that never prunes, naming the field', () => {
    const mlp = parseRunConfig({ model: { name: 'mlp' }, tricks: { repr: {} }, epochs: 40 });
    expect(!mlp.ok && mlp.errors).toEqual([{ field: 'tricks.repr', message: 'RePr prunes conv filters: model mlp has no conv layers' }]);
    const never = parseRunConfig({ tricks: { repr: { s1: 20 } }, epochs: 20 });
    expect(!never.ok && never.errors[0]!.field).toBe('tricks.repr.s1');
    expect(reprCalendar(mustParseRunConfig({ tricks: { repr: {} }, epochs: 100 }).tricks.repr!, 100)).toEqual({ prune: [20, 50, 80], reinit: [30, 60, 90] });
    expect(reprCalendar(mustParseRunConfig({ tricks: { repr: {} }, epochs: 85 }).tricks.repr!, 85)).toEqual({ prune: [20, 50, 80], reinit: [30, 60] });
  });
});

describe('gradient masks', () => {
  it('a masked filter is not moved by a step (its gradient is nonzero unmasked), the others are', () => {
    const model = buildModel({ name: 'cnn3', width: 4 }, [8, 8, 1], 10, 1);
    // (No weight decay: it would move a nonzero masked filter; RePr's pruned filters are zero.)
    const opt = makeOptimizer({ name: 'sgd', momentum: 0.9 });
    const rng = makeRng(3, 'batch');
    const b = { x: Float32Array.from({ length: 16 * 64 }, () => rng.normal()), y: Int32Array.from({ length: 16 }, (_, i) => i % 10), n: 16 };
    const k = model.params.find((p) => p.name === 'conv2/kernel')!.variable;
    const rows = () => filterRows(k.dataSync(), k.shape);
    const before = rows();
    const mask = tf.tensor([0, 1, 1, 1], [1, 1, 1, 4]);
    const [l, c] = trainStep(model, opt, b, [8, 8, 1], 10, 0.1, 0, { gradMasks: new Map([['conv2/kernel', mask]]) });
    tf.dispose([l, c, mask]);
    const after = rows();
    expect(Array.from(after[0]!)).toEqual(Array.from(before[0]!));
    for (const f of [1, 2, 3]) expect(Array.from(after[f]!)).not.toEqual(Array.from(before[f]!));
    // Without the mask the same step moves filter 0 as well.
    const [l2, c2] = trainStep(model, opt, b, [8, 8, 1], 10, 0.1, 1);
    tf.dispose([l2, c2]);
    expect(Array.from(rows()[0]!)).not.toEqual(Array.from(after[0]!));
    model.dispose();
    opt.dispose();
  });
});

describe('a RePr cycle in training', () => {
  for (const optimizer of [{ name: 'sgd', momentum: 0.9, weightDecay: 5e-4 }, { name: 'adam', lr: 0.003, weightDecay: 5e-4 }]) {
    it(`${optimizer.name}: pruned filters stay exactly zero through S2; re-initialised ones are orthogonal, bounded, unseen by the next layer`, async () => {
      const cfg = mustParseRunConfig({
        dataset: { name: 'synthetic', trainSubset: 256, valSplit: 0.25 },
        model: { name: 'cnn3', width: 8 },
        optimizer,
        epochs: 4,
        batchSize: 32,
        tricks: { repr: { s1: 1, s2: 2, cycles: 1, pruneRatio: 0.3 } },
      });
      const splits = makeSplits(await loadDataset(cfg.dataset, '/nonexistent'), cfg.dataset);
      const model = buildModel(cfg.model, splits.dataset.shape, 10, cfg.seed);
      const opt = makeOptimizer(cfg.optimizer);
      const saved = new Map<string, unknown>();
      const events: RunEvent[] = [];
      const param = (n: string) => model.params.find((p) => p.name === n)!.variable;
      let pruned: Record<string, number[]> = {};
      let inS2 = false;
      let s2Checks = 0;
      let atReinit: Record<string, { kernel: Float32Array; next: Float32Array }> = {};
      const next: Record<string, string> = { conv2: 'conv3/kernel', conv3: 'head/kernel' };
      const metrics: string[] = [];
      await trainModel(cfg, splits, model, opt, {
        metrics: (pts) => metrics.push(...pts.map((p) => p.key)),
        event: (e) => {
          events.push(e);
          if (e.kind === 'repr.prune') {
            inS2 = true;
            const state = saved.get('repr') as { layers: Record<string, { filters: number[] }> };
            pruned = Object.fromEntries(Object.entries(state.layers).map(([l, v]) => [l, v.filters]));
          }
          if (e.kind === 'repr.reinit') {
            inS2 = false;
            atReinit = Object.fromEntries(Object.keys(pruned).map((l) => [l, { kernel: param(`${l}/kernel`).dataSync().slice() as Float32Array, next: param(next[l]!).dataSync().slice() as Float32Array }]));
          }
        },
        progress: () => {
          if (!inS2) return;
          s2Checks++;
          for (const [l, filters] of Object.entries(pruned)) {
            const k = param(`${l}/kernel`);
            const rows = filterRows(k.dataSync(), k.shape);
            const bias = param(`${l}/bias`).dataSync();
            for (const f of filters) {
              expect(rows[f]!.every((v) => v === 0), `${l} filter ${f} kernel`).toBe(true);
              expect(bias[f] === 0, `${l} filter ${f} bias ${bias[f]}`).toBe(true); // +0 or -0 (a masked negative)
            }
          }
        },
        shouldStop: async () => false,
      }, { trickState: { load: (k) => saved.get(k) ?? null, save: (k, v) => saved.set(k, structuredClone(v)) } });
      expect(s2Checks).toBe(2 * (6 + 1)); // every step of the two S2 epochs, and their evaluations
      expect(events.map((e) => [e.kind, e.epoch])).toEqual([['repr.prune', 1], ['repr.reinit', 3]]);
      expect(pruned.conv1).toBeUndefined(); // the first conv is left out by default
      const total = Object.values(pruned).reduce((a, f) => a + f.length, 0);
      expect(total).toBe(Math.floor(0.3 * 16)); // conv2 + conv3: 16 filters
      const old = (saved.get('repr') as { layers: Record<string, { old: number[][] }> }).layers;
      for (const [l, filters] of Object.entries(pruned)) {
        const shape = param(`${l}/kernel`).shape;
        const rows = filterRows(atReinit[l]!.kernel, shape);
        const D = shape[0]! * shape[1]! * shape[2]!;
        const kept = rows.filter((_, f) => !filters.includes(f));
        for (const f of filters) {
          const v = rows[f]!;
          const norm = Math.sqrt(dot(v, v));
          expect(norm).toBeGreaterThan(0);
          expect(Math.max(...Array.from(v, Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(D) + 1e-7); // the clip bound
          // Orthogonal up to float32 storage of the weights (relative 1e-5 of the norms).
          for (const k of [...kept, ...old[l]!.old.map((r) => Float64Array.from(r))]) expect(Math.abs(dot(v, k)) / (norm * Math.sqrt(dot(k, k)) || 1)).toBeLessThan(1e-5);
        }
        // zeroNextLayer: the next layer does not read the new channels yet.
        const nk = param(next[l]!);
        const out = nk.shape[nk.shape.length - 1]!;
        const C = shape[3]!;
        atReinit[l]!.next.forEach((w, i) => {
          if (filters.includes(Math.floor(i / out) % C)) expect(w).toBe(0);
        });
      }
      const payload = events[1]!.payload as { perLayer: Record<string, { nullSpace: boolean; zeroNextLayer: string }> };
      for (const l of Object.keys(pruned)) expect(payload.perLayer[l]).toMatchObject({ nullSpace: true, zeroNextLayer: `applied to ${next[l]!.split('/')[0]}` });
      for (const l of ['conv1', 'conv2', 'conv3']) expect(metrics.filter((k) => k === `orthogonality/${l}`).length).toBe(4);
      model.dispose();
      opt.dispose();
    });
  }
});
