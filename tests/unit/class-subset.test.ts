// dataset.classes: train and test on some classes only (RIFLE's "pre-train on half the classes,
// fine-tune on the other half"), labels renumbered in the order given.
import { describe, expect, it } from 'vitest';
import { mustParseRunConfig, parseRunConfig } from '../../src/shared/config';
import { loadDataset, makeSplits } from '../../src/data/index';
import { BUILTIN_FACTS } from '../../src/shared/models/datasets';

describe('dataset.classes', () => {
  it('keeps only those classes, renumbered 0..k-1 in the order given, images unchanged', async () => {
    const all = await loadDataset(mustParseRunConfig({}, BUILTIN_FACTS).dataset, '/nonexistent');
    const sub = await loadDataset(mustParseRunConfig({ dataset: { classes: [7, 2, 9] } }, BUILTIN_FACTS).dataset, '/nonexistent');
    expect(sub.numClasses).toBe(3);
    expect(sub.classNames).toEqual([all.classNames[7], all.classNames[2], all.classNames[9]]);
    for (const split of ['train', 'test'] as const) {
      const want = [7, 2, 9].map((k) => all[split].labels.filter((l) => l === k).length);
      expect([0, 1, 2].map((k) => sub[split].labels.filter((l) => l === k).length), split).toEqual(want);
      expect(sub[split].n).toBe(want.reduce((a, b) => a + b, 0));
    }
    // The first image of class 2 in the subset is the first image of class 2 in the full set.
    const per = 32 * 32 * 3;
    const i = all.train.labels.indexOf(2);
    const j = sub.train.labels.indexOf(1);
    expect(Array.from(sub.train.images.subarray(j * per, (j + 1) * per))).toEqual(Array.from(all.train.images.subarray(i * per, (i + 1) * per)));
    expect(makeSplits(sub, mustParseRunConfig({ dataset: { classes: [7, 2, 9], valSplit: 0.2 } }, BUILTIN_FACTS).dataset).val.length).toBe(Math.round(sub.train.n * 0.2));
  });

  it('refuses a class the dataset lacks, a repeated one, or fewer than two, at the item', () => {
    const r = parseRunConfig({ dataset: { classes: [1, 12, 1] } }, BUILTIN_FACTS);
    expect(!r.ok && r.errors).toEqual([
      { field: 'dataset.classes.1', message: 'class 12 does not exist: synthetic has classes 0..9' },
      { field: 'dataset.classes.2', message: 'class 1 is listed twice' },
    ]);
    expect(parseRunConfig({ dataset: { classes: [3] } }, BUILTIN_FACTS).ok).toBe(false);
  });
});
