import type { RunConfig } from '../../shared/config';
import { makeRng, permutation } from '../rng';
import { loadFashionMnist } from './fashion-mnist';
import { loadSynthetic } from './synthetic';
import type { Dataset, ImageSet, Normalization, Splits } from './types';

// The last generated synthetic set (about 3 s and 37 MB to make): a process that trains several
// runs in a row (tests, in-process sweeps) makes it once. Datasets are never modified.
let lastSynthetic: { seed: number; data: Dataset } | null = null;

export function loadDataset(cfg: RunConfig['dataset'], dataDir: string): Dataset {
  let full: Dataset;
  switch (cfg.name) {
    case 'synthetic':
      if (lastSynthetic?.seed !== cfg.splitSeed) lastSynthetic = { seed: cfg.splitSeed, data: loadSynthetic(cfg.splitSeed) };
      full = lastSynthetic.data;
      break;
    case 'fashion-mnist':
      full = loadFashionMnist(dataDir);
      break;
  }
  return cfg.classes ? selectClasses(full, cfg.classes) : full;
}

/** The images of some classes only, labels renumbered 0..k-1 in the order given (a copy of
 * those images, still uint8). */
export function selectClasses(d: Dataset, classes: readonly number[]): Dataset {
  const bad = classes.find((k) => !Number.isInteger(k) || k < 0 || k >= d.numClasses);
  if (bad !== undefined) throw new Error(`dataset.classes: class ${bad} does not exist in ${d.name} (0..${d.numClasses - 1})`);
  const map = new Int16Array(d.numClasses).fill(-1);
  classes.forEach((k, i) => (map[k] = i));
  const per = d.shape[0] * d.shape[1] * d.shape[2];
  const pick = (set: ImageSet): ImageSet => {
    const keep: number[] = [];
    for (let i = 0; i < set.n; i++) if (map[set.labels[i]!]! >= 0) keep.push(i);
    const images = new Uint8Array(keep.length * per);
    const labels = new Uint8Array(keep.length);
    keep.forEach((i, j) => {
      images.set(set.images.subarray(i * per, (i + 1) * per), j * per);
      labels[j] = map[set.labels[i]!]!;
    });
    return { images, labels, n: keep.length };
  };
  return {
    ...d,
    numClasses: classes.length,
    classNames: classes.map((k) => d.classNames[k]!),
    train: pick(d.train),
    test: pick(d.test),
    source: `${d.source} (classes ${classes.join(', ')})`,
  };
}

/** Apply the config's subset and validation split; both seeded by dataset.splitSeed, not the run
 * seed, so every run of a comparison trains and validates on the same images. */
export function makeSplits(dataset: Dataset, cfg: RunConfig['dataset']): Splits {
  const order = permutation(makeRng(cfg.splitSeed, 'split'), dataset.train.n);
  const total = cfg.trainSubset === null ? dataset.train.n : Math.min(cfg.trainSubset, dataset.train.n);
  const nVal = Math.round(total * cfg.valSplit);
  if (total - nVal < 1) throw new Error(`dataset.trainSubset: ${total} images leave none for training after the validation split`);
  const train = order.slice(nVal, total).sort();
  return {
    dataset,
    norm: channelStats(dataset.train, dataset.shape, train),
    val: order.slice(0, nVal).sort(),
    train,
    test: Int32Array.from({ length: dataset.test.n }, (_, i) => i),
  };
}

/** Mean and standard deviation of each channel over the given images (training split only, so
 * nothing about validation or test images leaks into the inputs). */
export function channelStats(set: ImageSet, shape: readonly number[], indices: Int32Array): Normalization {
  const c = shape[2]!;
  const per = shape[0]! * shape[1]! * c;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  for (const idx of indices) {
    const img = set.images.subarray(idx * per, (idx + 1) * per);
    for (let k = 0; k < per; k++) {
      const v = img[k]!;
      const ch = k % c;
      sum[ch] = sum[ch]! + v;
      sq[ch] = sq[ch]! + v * v;
    }
  }
  const n = (indices.length * per) / c;
  const mean = Array.from(sum, (s) => s / n);
  // A constant channel would divide by zero: leave it unscaled.
  const std = Array.from(sq, (q, ch) => Math.sqrt(Math.max(q / n - mean[ch]! ** 2, 0)) || 255);
  return { mean: mean.map((m) => m / 255), std: std.map((s) => s / 255) };
}

/** Gather images into a float32 NHWC batch, standardised per channel, and their labels. */
export function gatherBatch(set: ImageSet, shape: readonly number[], norm: Normalization, indices: ArrayLike<number>, start: number, end: number) {
  const c = shape[2]!;
  const per = shape[0]! * shape[1]! * c;
  // x' = (v/255 - mean) / std = v * scale + shift, per channel
  const scale = norm.std.map((s) => 1 / (255 * s));
  const shift = norm.mean.map((m, ch) => -m / norm.std[ch]!);
  const n = end - start;
  const x = new Float32Array(n * per);
  const y = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const idx = indices[start + b]!;
    const src = set.images.subarray(idx * per, (idx + 1) * per);
    const off = b * per;
    for (let k = 0; k < per; k++) x[off + k] = src[k]! * scale[k % c]! + shift[k % c]!;
    y[b] = set.labels[idx]!;
  }
  return { x, y, n };
}
