// How a run's dataset is split: a test split carved (before any subset) for a dataset without a
// test set, a val/ set of its own used as validation, evaluation images resized to the model's
// input, class subsets that would empty a set of its own refused, normalisation modes and the
// cached statistics.
import { describe, expect, it } from 'vitest';
import { mustParseRunConfig } from '../../src/shared/config';
import { makeSplits, selectClasses, type NormCache } from '../../src/data/index';
import { resizeImage } from '../../src/data/transforms';
import { sharedBytes, type Dataset, type ImageSet, type Normalization } from '../../src/data/types';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

function set(n: number, size: number, labelOf: (i: number) => number, value: (i: number) => number): ImageSet {
  const per = size * size * 3;
  const images = sharedBytes(n * per);
  for (let i = 0; i < n; i++) images.fill(value(i), i * per, (i + 1) * per);
  return { images, labels: Uint8Array.from({ length: n }, (_, i) => labelOf(i)), n };
}

function dataset(o: { train: number; test: number; val?: number; size?: number }): Dataset {
  const size = o.size ?? 8;
  return {
    name: 'toy',
    shape: [size, size, 3],
    numClasses: 4,
    classNames: ['a', 'b', 'c', 'd'],
    train: set(o.train, size, (i) => i % 4, (i) => i % 256),
    test: set(o.test, size, (i) => i % 2, (i) => (100 + i) % 256), // classes 0 and 1 only
    val: o.val ? set(o.val, size, (i) => i % 4, (i) => (200 + i) % 256) : undefined,
    source: 'generated for a test',
    fingerprint: 'toy-1',
  };
}

const cfg = (d: Record<string, unknown> = {}) => mustParseRunConfig({ dataset: { name: 'synthetic', ...d }, batchSize: 1 }, BUILTIN_FACTS).dataset;

describe('makeSplits', () => {
  it('carves a seeded test split before the subset, so every subset size is tested on the same images', () => {
    const d = dataset({ train: 200, test: 0 });
    const a = makeSplits(d, cfg({ testSplit: 0.25, valSplit: 0.1 }));
    const b = makeSplits(d, cfg({ testSplit: 0.25, valSplit: 0.1, trainSubset: 50 }));
    expect(a.test).toHaveLength(50);
    expect(Array.from(b.test)).toEqual(Array.from(a.test));
    expect(a.eval.test.set).toBe(d.train); // test images come from the one folder
    expect([a.train.length, a.val.length]).toEqual([135, 15]);
    expect([b.train.length, b.val.length]).toEqual([45, 5]);
    const test = new Set(a.test);
    expect([...a.train, ...a.val].some((i) => test.has(i))).toBe(false);
    expect(() => makeSplits(dataset({ train: 3, test: 0 }), cfg({ testSplit: 0.1 }))).toThrow(/dataset.testSplit: 0.1 of 3 images leaves no test/);
  });

  it('uses a val set of its own instead of valSplit, and keeps every training image for training', () => {
    const d = dataset({ train: 40, test: 10, val: 12 });
    const s = makeSplits(d, cfg({ valSplit: 0.5 }));
    expect(s.val).toHaveLength(12);
    expect(s.train).toHaveLength(40);
    expect(s.eval.val.set).toBe(d.val);
  });

  it('resizes evaluation images to the model input when the pipeline changes the size', () => {
    const d = dataset({ train: 20, test: 6, size: 8 });
    const s = makeSplits(d, cfg({ valSplit: 0.25 }), { inputShape: [4, 4, 3] });
    expect(s.eval.test.set.n).toBe(6);
    expect(s.eval.test.set.images).toHaveLength(6 * 4 * 4 * 3);
    expect(Array.from(s.eval.test.indices)).toEqual([0, 1, 2, 3, 4, 5]);
    // The k-th resized val image is the resize of the k-th val image.
    const k = s.val[2]!;
    const want = new Uint8Array(48);
    resizeImage(d.train.images.subarray(k * 192, (k + 1) * 192), [8, 8, 3], want, 4, 4);
    expect(Array.from(s.eval.val.set.images.subarray(2 * 48, 3 * 48))).toEqual(Array.from(want));
    expect(s.eval.val.set.labels[2]).toBe(d.train.labels[k]);
    // Same size: the stored set itself, no copy.
    expect(makeSplits(d, cfg()).eval.test.set).toBe(d.test);
  });

  it('normalises with the training split, ImageNet statistics or not at all; the split statistics come from the cache when there', () => {
    const d = dataset({ train: 40, test: 4 });
    expect(makeSplits(d, cfg({ normalize: 'none' })).norm).toEqual({ mean: [0, 0, 0], std: [1, 1, 1] });
    expect(makeSplits(d, cfg({ normalize: 'imagenet' })).norm).toEqual({ mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    const store = new Map<string, Normalization>();
    const cache: NormCache = { get: (k) => store.get(k) ?? null, put: (k, v) => void store.set(k, v) };
    const first = makeSplits(d, cfg(), { normCache: cache }).norm;
    expect(store.size).toBe(1);
    const [key] = [...store.keys()];
    expect(key).toContain('toy-1');
    store.set(key!, { mean: [0.1, 0.2, 0.3], std: [0.5, 0.5, 0.5] });
    expect(makeSplits(d, cfg(), { normCache: cache }).norm.mean).toEqual([0.1, 0.2, 0.3]);
    expect(first.mean[0]).toBeGreaterThan(0);
    // Cutout's fill under ImageNet normalisation is still the data's mean pixel.
    expect(makeSplits(d, cfg({ normalize: 'imagenet' }), { pixelMean: true, normCache: cache }).pixelMean).toEqual([0.1, 0.2, 0.3]);
  });
});

describe('selectClasses', () => {
  it('refuses a class subset that leaves a test set of its own empty, rather than carving another', () => {
    const d = dataset({ train: 40, test: 10 });
    expect(selectClasses(d, [1, 0]).test.n).toBe(10);
    expect(() => selectClasses(d, [2, 3])).toThrow("dataset.classes: toy's test set has no images of classes 2, 3");
  });
});
