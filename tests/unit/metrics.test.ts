// The metric table (shared/metrics.ts): every key a real run writes has a declared spec, patterns
// match the tricks' per-layer keys, undeclared keys fall back by name as documented, and the
// table's direction is what the store's summaries and the comparison's verdicts follow.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarize } from '../../src/main/services/compare';
import { defaultRunConfig, mustParseRunConfig } from '../../src/shared/config';
import { planExperiment } from '../../src/shared/experiments';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';
import {
  bestOf,
  better,
  declaredSpec,
  displayName,
  displayScale,
  fallbackSpec,
  isDiagnostic,
  isStepKey,
  isSummaryKey,
  lowerIsBetter,
  METRIC_SPECS,
  metricSpec,
  metricTitle,
  TRICK_METRIC_SPECS,
} from '../../src/shared/metrics';
import { Store } from '../../src/store/store';
import { isAccuracyKey, isLossKey, metric } from '../../src/renderer/src/lib/format';
import { executeRun } from '../../src/trainer/run';
import { tmpDataDir } from '../helpers/tmp';
import { tinyConfig } from '../helpers/trainer';

describe('the metric table', () => {
  it('declares each key once, patterns as prefixes ending in /*, the tricks\' diagnostics as diagnostics', () => {
    const keys = [...METRIC_SPECS, ...TRICK_METRIC_SPECS].map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    for (const s of METRIC_SPECS) expect(s.key.includes('*'), s.key).toBe(false);
    for (const s of TRICK_METRIC_SPECS) {
      expect(s.key.endsWith('/*') && s.key.indexOf('*') === s.key.length - 1, s.key).toBe(true);
      expect(s.diagnostic).toBe(true);
    }
  });

  it('finds exact keys first, then patterns for per-layer keys', () => {
    expect(metricSpec('val/acc')).toMatchObject({ key: 'val/acc', direction: 'higher', granularity: 'epoch', unit: 'fraction', name: 'validation accuracy' });
    expect(metricSpec('grad_norm/conv1/kernel')).toMatchObject({ key: 'grad_norm/*', diagnostic: true });
    expect(metricSpec('weight_norm/dense')).toMatchObject({ key: 'weight_norm/*', direction: 'none' });
    expect(metricSpec('orthogonality/block2.conv')).toMatchObject({ key: 'orthogonality/*', direction: 'lower' });
    // the pattern's prefix alone is not a per-layer key
    expect(declaredSpec('grad_norm/')).toBeNull();
    expect(declaredSpec('grad_norm')).toBeNull();
    expect(isDiagnostic('grad_norm/conv1')).toBe(true);
    expect(isDiagnostic('train/loss')).toBe(false);
  });

  it('undeclared keys (imports, loggers) fall back by name: losses and errors lower, accuracies higher and in %, else no direction', () => {
    expect(declaredSpec('val/top1_error')).toBeNull();
    expect(metricSpec('val/top1_error')).toEqual({ key: 'val/top1_error', direction: 'lower', granularity: 'epoch', unit: '', name: 'val/top1_error' });
    expect(metricSpec('eval/accuracy')).toMatchObject({ direction: 'higher', unit: 'fraction' });
    expect(metricSpec('val/balanced_acc')).toMatchObject({ direction: 'higher', unit: 'fraction' });
    expect(metricSpec('train/kl_loss_step')).toMatchObject({ direction: 'lower', granularity: 'step' });
    expect(metricSpec('time/eval_s')).toMatchObject({ direction: 'lower', unit: 's' });
    expect(metricSpec('throughput/tokens_s')).toMatchObject({ direction: 'higher', unit: 'img/s' });
    expect(metricSpec('momentum')).toMatchObject({ direction: 'none', unit: '' });
    expect(metricSpec('val/acc@1')).toMatchObject({ direction: 'higher', unit: 'fraction' });
    // "acc" inside or at the start of another word is not an accuracy
    expect(fallbackSpec('train/accumulated_steps')).toMatchObject({ direction: 'none', unit: '' });
    expect(fallbackSpec('train/vaccine').unit).toBe('');
    // times and latencies a logger sends: the slower arm is not the better one
    for (const k of ['train/step_time', 'val/latency_s', 'inference_time_ms', 'gpu/time_s', 'val/perplexity']) expect(lowerIsBetter(k), k).toBe(true);
    // the usual scores keep a best (the highest) and compare as gains
    for (const k of ['val/f1', 'val/miou', 'val/auc', 'eval/bleu', 'reward']) expect(fallbackSpec(k).direction, k).toBe('higher');
    expect(fallbackSpec('train/timestamp').direction).toBe('none');
    expect(metricTitle('val/top1_error')).toBe('val/top1_error');
  });

  it('direction, granularity, unit and names of the keys the pages read', () => {
    // throughput ends in _s like the times, but more images per second is better
    expect(lowerIsBetter('throughput/img_s')).toBe(false);
    expect(lowerIsBetter('time/epoch_s')).toBe(true);
    expect(lowerIsBetter('test/loss_best')).toBe(true);
    expect(lowerIsBetter('test/top5')).toBe(false);
    expect(isStepKey('train/loss_step')).toBe(true);
    expect(isStepKey('lr_step')).toBe(true);
    expect(isStepKey('train/lr')).toBe(true);
    expect(isStepKey('lr')).toBe(false);
    expect(isSummaryKey('test/acc')).toBe(true);
    expect(isSummaryKey('lr')).toBe(true);
    expect(isSummaryKey('train/loss_step')).toBe(false);
    expect(isSummaryKey('grad_norm/conv1')).toBe(false);
    expect(displayScale('test/top5')).toBe(100);
    expect(displayScale('val/loss')).toBe(1);
    expect(displayName('lr_step')).toBe('learning rate');
    expect(metricTitle('train/loss_step')).toBe('Training loss per step');
    expect(metricTitle('val/acc')).toBe('Validation accuracy');
  });

  it('the best of a key follows its direction; a key without one has no best', () => {
    expect(bestOf('val/acc', 0.2, 0.9)).toBe(0.9);
    expect(bestOf('val/loss', 0.2, 0.9)).toBe(0.2);
    expect(bestOf('throughput/img_s', 100, 900)).toBe(900);
    expect(bestOf('lr', 0.001, 0.1)).toBeUndefined();
    expect(better('val/loss', 0.5, 0.7)).toBe(0.5);
    expect(better('val/acc', 0.5, 0.7)).toBe(0.7);
    expect(better('val/acc', undefined, 0.7)).toBe(0.7);
    expect(better('lr', 0.1, 0.01)).toBeUndefined();
  });
});

describe('the pages format a value by its key\'s unit', () => {
  it('fractions in %, seconds, images per second, losses with 4 digits, the rest as numbers', () => {
    expect(metric('val/acc', 0.91234)).toBe('91.23%');
    expect(metric('test/top5', 0.995)).toBe('99.50%');
    expect(metric('time/epoch_s', 12.345)).toBe('12.35 s');
    expect(metric('throughput/img_s', 812.6)).toBe('813 img/s');
    expect(metric('test/loss_best', 0.123456)).toBe('0.1235');
    expect(metric('lr', 0.05)).toBe('0.05');
    // the charts' y formats (lib/chart.ts yFormatFor) are these two
    const keys = ['val/acc', 'train/acc', 'test/top5', 'val/loss', 'train/loss_step', 'lr_step', 'train/lr', 'time/epoch_s'];
    expect(keys.filter(isAccuracyKey)).toEqual(['val/acc', 'train/acc', 'test/top5']);
    expect(keys.filter(isLossKey)).toEqual(['val/loss', 'train/loss_step']);
  });
});

describe('every key a real run writes', () => {
  const tmp = tmpDataDir();
  let store: Store;
  beforeAll(() => {
    store = new Store(tmp.dir);
  });
  afterAll(() => {
    store.close();
    tmp.cleanup();
  });

  it('has a declared spec (no fallback): a plain run and runs with RIFLE and RePr (their per-layer diagnostics)', async () => {
    const configs = [
      mustParseRunConfig(tinyConfig({ epochs: 1, backend: 'wasm' }), BUILTIN_FACTS),
      mustParseRunConfig({ ...tinyConfig({ epochs: 2, backend: 'wasm' }), tricks: { rifle: { everyEpochs: 1, maxReinits: 1, noReinitLastEpochs: 0 } } }, BUILTIN_FACTS),
      mustParseRunConfig({ ...tinyConfig({ epochs: 2, backend: 'wasm' }), tricks: { repr: { s1: 1, s2: 1, cycles: 1, pruneRatio: 0.3 } } }, BUILTIN_FACTS),
    ];
    const keys = new Set<string>();
    for (const c of configs) {
      const run = store.createRun(c, 'running');
      expect((await executeRun({ store, runId: run.id, dataDir: tmp.dir, isCancelled: () => false })).status).toBe('completed');
      for (const k of Object.keys(store.history(run.id))) keys.add(k);
    }
    const all = [...keys];
    // what the trainer writes, and the tricks' diagnostics by their patterns
    for (const k of ['train/loss_step', 'lr_step', 'train/loss', 'train/acc', 'lr', 'val/loss', 'val/acc', 'time/epoch_s', 'time/cpu_s', 'time/data_wait_s', 'throughput/img_s', 'test/loss', 'test/acc', 'test/acc_best', 'test/loss_best']) {
      expect(all, k).toContain(k);
    }
    for (const p of ['grad_norm/', 'weight_norm/', 'orthogonality/']) expect(all.some((k) => k.startsWith(p)), p).toBe(true);
    expect(all.filter((k) => declaredSpec(k) === null)).toEqual([]);
    // the store's summaries are the table's summary keys: no per-step series, no diagnostics
    const s = store.summaries(1);
    expect(Object.keys(s.final).sort()).toEqual(all.filter((k) => isSummaryKey(k) && store.history(1)[k]).sort());
    for (let id = 1; id <= 3; id++) {
      for (const k of Object.keys(store.summaries(id).final)) expect(isSummaryKey(k), k).toBe(true);
    }
  }, 120_000);
});

describe('the direction in a comparison', () => {
  const tmp = tmpDataDir();
  let store: Store;
  beforeAll(() => {
    store = new Store(tmp.dir);
  });
  afterAll(() => {
    store.close();
    tmp.cleanup();
  });

  /** An experiment of a baseline and one arm, finished, with per-epoch values of `key` (the arm's
   * larger by `gain` in every seed, with seed-to-seed noise so that a t-test decides). */
  function experiment(key: string, base: number[], gain: number[]): number {
    const cfg = { ...defaultRunConfig(), name: 'x' } as unknown as Record<string, unknown>;
    delete cfg.seed;
    const seeds = base.map((_, i) => i + 1);
    const r = planExperiment({ name: key, baseline: cfg, arms: [{ name: 'trick', set: { 'optimizer.lr': 0.02 } }], seeds }, BUILTIN_FACTS);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const info = store.experiments.create(r.plan);
    for (const [i, seed] of seeds.entries()) {
      for (const arm of info.arms) {
        const run = store.createRun({ ...defaultRunConfig(), seed }, 'running', `${arm.name} ${seed}`);
        store.experiments.link(run.id, info.id, arm.id);
        const value = base[i]! + (arm.role === 'baseline' ? 0 : gain[i]!);
        store.addMetrics(run.id, [{ key, step: 10, epoch: 1, value, time: 0 }]);
        store.finishRun(run.id, 'completed');
      }
    }
    return info.id;
  }
  const gain = [30, 35, 22, 41, 28];
  const base = [400, 410, 395, 420, 405];

  it('more images per second is better (throughput/img_s ends in _s but is not a time)', () => {
    const s = summarize(store, { experimentId: experiment('throughput/img_s', base, gain), metric: 'throughput/img_s', rule: 'last' });
    expect(s.higherIsBetter).toBe(true);
    expect(s.arms[1]!.paired!.delta).toBeGreaterThan(0);
    expect(s.arms[1]!.paired!.betterIn).toBe(5);
    expect(s.arms[1]!.verdict!.kind).toBe('better');
  });

  it('the same differences on a lower-is-better key (seconds per epoch) are a worse arm', () => {
    const s = summarize(store, { experimentId: experiment('time/epoch_s', base, gain), metric: 'time/epoch_s', rule: 'last' });
    expect(s.higherIsBetter).toBe(false);
    expect(s.arms[1]!.paired!.delta).toBeGreaterThan(0);
    expect(s.arms[1]!.paired!.worseIn).toBe(5);
    expect(s.arms[1]!.verdict!.kind).toBe('worse');
  });
});
