import type { DatasetConfig } from '../shared/config';
import { makeRng, permutation } from '../shared/rng';
import { locateDataset, type DatasetLocation } from './locate';
import { readDataset } from './formats/read';
import { loadSynthetic } from './synthetic';
import { resizeImage } from './transforms';
import { sharedBytes, type Dataset, type EvalSet, type ImageSet, type Normalization, type Splits } from './types';

// The last generated synthetic set (about 3 s and 37 MB to make): a process that trains several
// runs in a row (tests, in-process sweeps) makes it once. Datasets are never modified.
let lastSynthetic: { seed: number; data: Dataset } | null = null;

export interface LoadOptions {
  /** Imported datasets (the store's dataset table), by name. */
  imported?: (name: string) => { path: string; format: string; options: Record<string, unknown> } | null;
  /** Where system-wide datasets are (Debian's /usr/share/datasets). */
  systemDir?: string;
  /** Refuse a folder with an undecodable image instead of skipping it. */
  strict?: boolean;
}

/** A run's dataset: found by name, read, resized to dataset.imageSize and reduced to its classes. */
export async function loadDataset(cfg: DatasetConfig, dataDir: string, opts: LoadOptions = {}): Promise<Dataset> {
  let full: Dataset;
  if (cfg.name === 'synthetic') {
    if (lastSynthetic?.seed !== cfg.splitSeed) lastSynthetic = { seed: cfg.splitSeed, data: loadSynthetic(cfg.splitSeed) };
    full = lastSynthetic.data;
  } else {
    const loc = await locateDataset(cfg.name, dataDir, opts);
    full = await readLocated(loc, cfg, opts.strict ?? false);
  }
  if (cfg.imageSize && (full.shape[0] !== cfg.imageSize || full.shape[1] !== cfg.imageSize)) full = resizeDataset(full, cfg.imageSize);
  return cfg.classes ? selectClasses(full, cfg.classes) : full;
}

async function readLocated(loc: DatasetLocation, cfg: DatasetConfig, strict: boolean): Promise<Dataset> {
  const r = await readDataset(loc.path, {
    labels: cfg.labels,
    // image folders are decoded straight to the configured size
    imageSize: cfg.imageSize ?? (loc.options.imageSize as number | undefined) ?? null,
    strict: strict || loc.options.strict === true,
  });
  const d = r.dataset;
  return { ...d, name: cfg.name, fingerprint: loc.fingerprint, source: `${d.source}${r.skipped.length ? ` (${r.skipped.length} undecodable images skipped)` : ''}` };
}

/** Every image resized (bilinear) to size x size, held once again as uint8. */
export function resizeDataset(d: Dataset, size: number): Dataset {
  const shape: [number, number, number] = [size, size, d.shape[2]];
  const set = (s: ImageSet): ImageSet => resizeSet(s, d.shape, shape);
  return { ...d, shape, train: set(d.train), test: set(d.test), val: d.val ? set(d.val) : undefined, source: `${d.source}, resized to ${size}x${size}` };
}

function resizeSet(s: ImageSet, from: readonly number[], to: readonly number[], indices?: Int32Array): ImageSet {
  const inPer = from[0]! * from[1]! * from[2]!;
  const outPer = to[0]! * to[1]! * to[2]!;
  const n = indices ? indices.length : s.n;
  const images = sharedBytes(n * outPer);
  const labels = new Uint8Array(n);
  const shape = [from[0]!, from[1]!, from[2]!] as [number, number, number];
  for (let i = 0; i < n; i++) {
    const k = indices ? indices[i]! : i;
    resizeImage(s.images.subarray(k * inPer, (k + 1) * inPer), shape, images.subarray(i * outPer, (i + 1) * outPer), to[0]!, to[1]!);
    labels[i] = s.labels[k]!;
  }
  return { images, labels, n };
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
    const images = sharedBytes(keep.length * per);
    const labels = new Uint8Array(keep.length);
    keep.forEach((i, j) => {
      images.set(set.images.subarray(i * per, (i + 1) * per), j * per);
      labels[j] = map[set.labels[i]!]!;
    });
    return { images, labels, n: keep.length };
  };
  const out: Dataset = {
    ...d,
    numClasses: classes.length,
    classNames: classes.map((k) => d.classNames[k]!),
    train: pick(d.train),
    test: pick(d.test),
    val: d.val ? pick(d.val) : undefined,
    source: `${d.source} (classes ${classes.join(', ')})`,
  };
  // A test or val set of its own that has none of these classes would silently be replaced by a
  // carved split: refuse instead.
  for (const split of ['train', 'test', 'val'] as const) {
    if ((d[split]?.n ?? 0) > 0 && out[split]!.n === 0) {
      throw new Error(`dataset.classes: ${d.name}'s ${split} set has no images of classes ${classes.join(', ')}`);
    }
  }
  return out;
}

const IMAGENET: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export interface NormCache {
  get(key: string): Normalization | null;
  put(key: string, v: Normalization): void;
}

/** Apply the config's subset, validation and (for a dataset without one) test split; all seeded
 * by dataset.splitSeed, not the run seed, so every run of a comparison trains and validates on the
 * same images. inputShape is the model's input (the augmentation pipeline's output): evaluation
 * images are resized to it when it differs from the stored size, as a torchvision test transform
 * Resize(32) does for a pipeline that crops to 32. */
export function makeSplits(
  dataset: Dataset,
  cfg: DatasetConfig,
  opts: { inputShape?: [number, number, number]; normCache?: NormCache; pixelMean?: boolean } = {},
): Splits {
  const inputShape = opts.inputShape ?? dataset.shape;
  let order = permutation(makeRng(cfg.splitSeed, 'split'), dataset.train.n);
  let test: Int32Array;
  let testSet: ImageSet;
  if (dataset.test.n === 0) {
    // No test set of its own: the first testSplit of the seeded order is the test set, taken
    // before any subset so that every subset size is tested on the same images.
    const nTest = Math.round(dataset.train.n * cfg.testSplit);
    if (nTest < 1 || nTest >= dataset.train.n) throw new Error(`dataset.testSplit: ${cfg.testSplit} of ${dataset.train.n} images leaves no test or no training images`);
    test = order.slice(0, nTest).sort();
    order = order.slice(nTest);
    testSet = dataset.train;
  } else {
    test = Int32Array.from({ length: dataset.test.n }, (_, i) => i);
    testSet = dataset.test;
  }
  const total = cfg.trainSubset === null ? order.length : Math.min(cfg.trainSubset, order.length);
  const ownVal = dataset.val && dataset.val.n > 0 ? dataset.val : null;
  const nVal = ownVal ? 0 : Math.round(total * cfg.valSplit);
  if (total - nVal < 1) throw new Error(`dataset.trainSubset: ${total} images leave none for training after the validation split`);
  const train = order.slice(nVal, total).sort();
  const val = ownVal ? Int32Array.from({ length: ownVal.n }, (_, i) => i) : order.slice(0, nVal).sort();
  const valSet = ownVal ?? dataset.train;
  const norm = normalization(dataset, cfg, train, opts.normCache);
  // Cutout fills with the mean pixel whatever the normalisation: the dataset's, as in the paper.
  const pixelMean = !opts.pixelMean ? undefined : cfg.normalize === 'dataset' ? norm.mean : normalization(dataset, { ...cfg, normalize: 'dataset' }, train, opts.normCache).mean;
  return {
    dataset,
    norm,
    pixelMean,
    val,
    train,
    test,
    inputShape,
    eval: { val: evalSet(valSet, val, dataset.shape, inputShape), test: evalSet(testSet, test, dataset.shape, inputShape) },
  };
}

function evalSet(set: ImageSet, indices: Int32Array, stored: readonly number[], input: readonly number[]): EvalSet {
  if (stored[0] === input[0] && stored[1] === input[1]) return { set, indices };
  return { set: resizeSet(set, stored, input, indices), indices: Int32Array.from({ length: indices.length }, (_, i) => i) };
}

function normalization(dataset: Dataset, cfg: DatasetConfig, train: Int32Array, cache?: NormCache): Normalization {
  const c = dataset.shape[2];
  if (cfg.normalize === 'none') return { mean: new Array<number>(c).fill(0), std: new Array<number>(c).fill(1) };
  if (cfg.normalize === 'imagenet') {
    // A greyscale image under ImageNet statistics: the channels' average.
    if (c === 3) return IMAGENET;
    const avg = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    return { mean: [avg(IMAGENET.mean)], std: [avg(IMAGENET.std)] };
  }
  // The training split's statistics depend on the data and on which images are in the split.
  const key = dataset.fingerprint
    ? `norm:${dataset.fingerprint}|${dataset.shape.join('x')}|${cfg.labels}|${cfg.classes?.join(',') ?? 'all'}|${cfg.trainSubset}|${cfg.valSplit}|${cfg.testSplit}|${cfg.splitSeed}`
    : null;
  const hit = key ? cache?.get(key) : null;
  if (hit) return hit;
  const v = channelStats(dataset.train, dataset.shape, train);
  if (key) cache?.put(key, v);
  return v;
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
