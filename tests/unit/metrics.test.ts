// The metric table (shared/metrics.ts): every key a real run writes has a declared spec, patterns
// match the tricks' per-layer keys, undeclared keys fall back by name as documented, and the
// table's direction is what the store's summaries and the comparison's verdicts follow.
import { describe, expect, it } from 'vitest';
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
    expect(metricSpec('throughput/tokens_s')).toMatchObject({ direction: 'none', unit: 'img/s' });
    expect(metricSpec('momentum')).toMatchObject({ direction: 'none', unit: '' });
    expect(metricSpec('val/acc@1')).toMatchObject({ direction: 'higher', unit: 'fraction' });
    // "acc" inside or at the start of another word is not an accuracy
    expect(fallbackSpec('train/accumulated_steps')).toMatchObject({ direction: 'none', unit: '' });
    expect(fallbackSpec('train/vaccine').unit).toBe('');
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
