import type { RunConfig } from '../../shared/config';
import { makeRng, permutation } from '../rng';
import { loadFashionMnist } from './fashion-mnist';
import { loadSynthetic } from './synthetic';
import type { Dataset, ImageSet, Splits } from './types';

export function loadDataset(cfg: RunConfig['dataset'], dataDir: string): Dataset {
  switch (cfg.name) {
    case 'synthetic':
      return loadSynthetic(cfg.splitSeed);
    case 'fashion-mnist':
      return loadFashionMnist(dataDir);
  }
}

/** Apply the config's subset and validation split; both seeded by dataset.splitSeed, not the run
 * seed, so every run of a comparison trains and validates on the same images. */
export function makeSplits(dataset: Dataset, cfg: RunConfig['dataset']): Splits {
  const order = permutation(makeRng(cfg.splitSeed, 'split'), dataset.train.n);
  const total = cfg.trainSubset === null ? dataset.train.n : Math.min(cfg.trainSubset, dataset.train.n);
  const nVal = Math.round(total * cfg.valSplit);
  if (total - nVal < 1) throw new Error(`dataset.trainSubset: ${total} images leave none for training after the validation split`);
  return {
    dataset,
    val: order.slice(0, nVal).sort(),
    train: order.slice(nVal, total).sort(),
    test: Int32Array.from({ length: dataset.test.n }, (_, i) => i),
  };
}

/** Gather images into a float32 NHWC batch scaled to [0, 1], and their labels. */
export function gatherBatch(set: ImageSet, shape: readonly number[], indices: ArrayLike<number>, start: number, end: number) {
  const per = shape[0]! * shape[1]! * shape[2]!;
  const n = end - start;
  const x = new Float32Array(n * per);
  const y = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const idx = indices[start + b]!;
    const src = set.images.subarray(idx * per, (idx + 1) * per);
    const off = b * per;
    for (let k = 0; k < per; k++) x[off + k] = src[k]! / 255;
    y[b] = set.labels[idx]!;
  }
  return { x, y, n };
}
