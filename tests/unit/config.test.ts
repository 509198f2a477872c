import { describe, expect, it } from 'vitest';
import { defaultRunConfig, flattenConfig, parseRunConfig } from '../../src/shared/config';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

function errorsOf(input: unknown) {
  const r = parseRunConfig(input, BUILTIN_FACTS);
  if (r.ok) throw new Error('expected the config to be rejected');
  return r.errors;
}

describe('run config schema', () => {
  it('fills every default from an empty object', () => {
    const c = defaultRunConfig();
    expect(c.dataset).toEqual({ name: 'synthetic', labels: 'fine', imageSize: null, trainSubset: null, valSplit: 0.1, testSplit: 0.2, splitSeed: 0, classes: null, normalize: 'dataset' });
    expect(c.augment).toEqual([]);
    expect(c.model).toEqual({ name: 'cnn3', width: 32, batchNorm: false, dropout: 0 });
    expect(c.optimizer).toEqual({ name: 'sgd', lr: 0.01, momentum: 0.9, nesterov: false, weightDecay: 0, noBiasDecay: false, linearScaling: false });
    expect(c.backend).toBe('auto');
    expect(c.tricks).toEqual({ labelSmoothing: null, mixup: null, cutmix: null, rdrop: null, rifle: null, repr: null, distill: null });
  });

  it('fills the defaults of the chosen model and optimizer kind', () => {
    const r = parseRunConfig({ model: { name: 'mlp' }, optimizer: { name: 'adam', lr: 0.01 } }, BUILTIN_FACTS);
    expect(r.ok && r.config.model).toEqual({ name: 'mlp', hidden: [256, 128], dropout: 0 });
    expect(r.ok && r.config.optimizer).toEqual({ name: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, noBiasDecay: false, linearScaling: false });
  });

  it('rejects negative epochs naming the field', () => {
    expect(errorsOf({ epochs: -1 })).toEqual([{ field: 'epochs', message: 'must be >= 1, got -1' }]);
  });

  it('rejects an unknown model naming model.name and listing the known ones', () => {
    const [e] = errorsOf({ model: { name: 'vgg' } });
    expect(e!.field).toBe('model.name');
    expect(e!.message).toMatch(/unknown model "vgg".*cnn3, mlp/);
  });

  it('rejects lr=abc naming optimizer.lr', () => {
    expect(errorsOf({ optimizer: { name: 'sgd', lr: 'abc' } })).toEqual([{ field: 'optimizer.lr', message: 'expected a number, got "abc"' }]);
  });

  it('rejects options that belong to no field, and cross-field mistakes', () => {
    expect(errorsOf({ model: { name: 'mlp', width: 3 } })[0]).toMatchObject({ field: 'model', message: "unknown option 'width'" });
    expect(errorsOf({ lr: 0.1 })[0]).toMatchObject({ field: 'lr' });
    expect(errorsOf({ epochs: 5, schedule: { name: 'step', milestones: [5] } })[0]!.field).toBe('schedule.milestones');
    expect(errorsOf({ epochs: 1.5 })[0]).toMatchObject({ field: 'epochs', message: 'expected an integer, got 1.5' });
    expect(errorsOf({ dataset: { name: 'CIFAR 10' } })[0]!.field).toBe('dataset.name');
  });

  it('checks data options against the dataset: coarse labels, classes, the augmentation pipeline against the image size', () => {
    expect(errorsOf({ dataset: { name: 'cifar10', labels: 'coarse' } })).toEqual([{ field: 'dataset.labels', message: 'cifar10 has no coarse labels (CIFAR-100 has)' }]);
    expect(errorsOf({ dataset: { name: 'cifar100', labels: 'coarse', classes: [3, 20] } })).toEqual([
      { field: 'dataset.classes.1', message: 'class 20 does not exist: cifar100 has classes 0..19' },
    ]);
    expect(parseRunConfig({ dataset: { name: 'cifar100', classes: [3, 99] } }, BUILTIN_FACTS).ok).toBe(true);
    // stored at 32x32: a 40-pixel crop needs padding; at imageSize 48 it fits
    expect(errorsOf({ dataset: { name: 'cifar10' }, augment: [{ name: 'hflip' }, { name: 'randomCrop', size: 40, padding: 0 }] })).toEqual([
      { field: 'augment.1.size', message: 'crop 40x40 is larger than the padded image 32x32' },
    ]);
    expect(parseRunConfig({ dataset: { name: 'cifar10', imageSize: 48 }, augment: [{ name: 'randomCrop', size: 40, padding: 0 }] }, BUILTIN_FACTS).ok).toBe(true);
    expect(errorsOf({ augment: [{ name: 'blur' }] })[0]!.field).toBe('augment.0.name');
    // A dataset this process does not know yet (imported elsewhere) is checked when a run starts.
    expect(parseRunConfig({ dataset: { name: 'my-photos', classes: [0, 7] } }, BUILTIN_FACTS).ok).toBe(true);
  });

  it('flattens to dotted keys for tables and CSV columns', () => {
    const f = flattenConfig(defaultRunConfig());
    expect(f['optimizer.lr']).toBe(0.01);
    expect(f['schedule.milestones']).toBe('[]');
    expect(f['dataset.trainSubset']).toBeNull();
  });
});

describe('partial sections', () => {
  it('a model or optimizer section without a name is of the default kind', () => {
    const r = parseRunConfig({ optimizer: { lr: 0.2 }, model: { width: 8 } }, BUILTIN_FACTS);
    expect(r.ok && r.config.optimizer).toMatchObject({ name: 'sgd', lr: 0.2, momentum: 0.9 });
    expect(r.ok && r.config.model).toEqual({ name: 'cnn3', width: 8, batchNorm: false, dropout: 0 });
  });
});
