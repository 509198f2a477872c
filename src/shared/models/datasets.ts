// What the config schema, the renderer and the model summary need to know about a dataset without
// loading it: one image's shape as stored and the number of classes. The built-in datasets are
// known here; datasets found on disk or imported by the user are known to whoever lists them (the
// main process from its dataset service, the renderer from `datasets:list`, the trainer from the
// files it located and inspected), which passes them explicitly as DatasetFacts to parseRunConfig
// and the shape helpers: there is no registry here. The trainer's readers produce exactly these
// shapes (tests/unit/models.test.ts checks it for the built-ins).

export interface DatasetInfo {
  /** One image as stored, [h, w, c] (before the config's imageSize and augmentation). */
  shape: [number, number, number];
  classes: number;
  /** CIFAR-100's 20 superclasses (dataset.labels = 'coarse'). */
  coarseClasses?: number;
  /** The dataset has no test set of its own (one image folder): dataset.testSplit carves one. */
  noTestSet?: boolean;
  /** Images in its training set as stored (before the class subset and the splits), when known. */
  trainImages?: number;
  /** It has a validation set of its own (an image folder's val/): dataset.valSplit is unused. */
  ownVal?: boolean;
}

/** Datasets every installation knows by name (the public ones can be downloaded). */
export const BUILTIN_DATASETS = ['synthetic', 'mnist', 'fashion-mnist', 'kmnist', 'cifar10', 'cifar100'] as const;
export type BuiltinDataset = (typeof BUILTIN_DATASETS)[number];

const BUILTIN_INFO: Record<BuiltinDataset, DatasetInfo> = {
  synthetic: { shape: [32, 32, 3], classes: 10 },
  mnist: { shape: [28, 28, 1], classes: 10 },
  'fashion-mnist': { shape: [28, 28, 1], classes: 10 },
  kmnist: { shape: [28, 28, 1], classes: 10 },
  cifar10: { shape: [32, 32, 3], classes: 10 },
  cifar100: { shape: [32, 32, 3], classes: 100, coarseClasses: 20 },
};

/** The built-ins' training set sizes (synthetic: SYNTHETIC_TRAIN in src/data/synthetic.ts). */
const BUILTIN_TRAIN_IMAGES: Record<BuiltinDataset, number> = {
  synthetic: 10000,
  mnist: 60000,
  'fashion-mnist': 60000,
  kmnist: 60000,
  cifar10: 50000,
  cifar100: 50000,
};

/** Kept for the built-ins' fixed shapes (tests compare the loaders against it). */
export const DATASET_INFO: Readonly<Record<BuiltinDataset, DatasetInfo>> = BUILTIN_INFO;

export function isBuiltinDataset(name: string): name is BuiltinDataset {
  return (BUILTIN_DATASETS as readonly string[]).includes(name);
}

/** What one caller knows of the datasets a config may name: the built-ins always, and the datasets
 * that caller found (on disk, imported, listed by the host). Immutable; build a new one when the
 * list changes. Validation uses nothing else (parseRunConfig(input, facts)). */
export interface DatasetFacts {
  /** The dataset's shape and classes, or undefined when these facts do not know it. */
  info(name: string): DatasetInfo | undefined;
  /** Its training set size as stored and whether it has a validation set of its own, when known
   * without reading it (the built-ins; a dataset that was inspected); else null. */
  trainSetSize(name: string): { images: number; ownVal: boolean } | null;
}

/** Facts of the built-ins plus `extra` (name -> info; a built-in's name keeps its own info). */
export function datasetFacts(extra: Iterable<readonly [string, DatasetInfo]> = []): DatasetFacts {
  const found = new Map<string, DatasetInfo>();
  for (const [name, info] of extra) if (!isBuiltinDataset(name)) found.set(name, info);
  return Object.freeze({
    info: (name: string) => (isBuiltinDataset(name) ? BUILTIN_INFO[name] : found.get(name)),
    trainSetSize(name: string) {
      if (isBuiltinDataset(name)) return { images: BUILTIN_TRAIN_IMAGES[name], ownVal: false };
      const info = found.get(name);
      return info?.trainImages !== undefined ? { images: info.trainImages, ownVal: info.ownVal === true } : null;
    },
  });
}

/** The facts of a caller that knows only the built-in datasets (tests, the store's old rows, a
 * config file checked without a data dir). A dataset not built in is then unknown: see
 * parseRunConfig for what that skips. */
export const BUILTIN_FACTS: DatasetFacts = datasetFacts();

/** Names a dataset may have: what fits a folder name and a URL path. */
export const DATASET_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
