/** Images held once, as uint8 NHWC, with their labels. */
export interface ImageSet {
  images: Uint8Array; // n * h * w * c
  labels: Uint8Array; // n
  n: number;
}

export interface Dataset {
  name: string;
  shape: [number, number, number]; // h, w, c
  numClasses: number;
  classNames: string[];
  train: ImageSet;
  /** Empty (n = 0) for a dataset without a test set of its own: dataset.testSplit carves one. */
  test: ImageSet;
  /** A validation set of its own (an image folder's val/), used instead of dataset.valSplit. */
  val?: ImageSet;
  /** Where the data came from (file paths or 'generated'), for the run's start event. */
  source: string;
  /** Identifies the exact files read (paths, sizes, modification times), for caches. */
  fingerprint?: string;
}

/** Images to evaluate on at the model's input size, and which of them. */
export interface EvalSet {
  set: ImageSet;
  indices: Int32Array;
}

/** Per-channel mean and standard deviation, in [0, 1] pixel units. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** A dataset as one run uses it: the config's subset and train/val split applied. */
export interface Splits {
  dataset: Dataset;
  /** Inputs are standardised per channel with the statistics of the training split. */
  norm: Normalization;
  train: Int32Array; // indices into dataset.train
  val: Int32Array; // indices into dataset.val when it has one, else dataset.train
  test: Int32Array; // indices into dataset.test, or dataset.train for a carved test split
  /** The model's input shape: the stored images after the augmentation pipeline. */
  inputShape: [number, number, number];
  /** Validation and test images at inputShape (the stored sets themselves when no resize). */
  eval: { val: EvalSet; test: EvalSet };
  /** The training split's mean pixel in [0, 1] (cutout fills with it), when asked for. */
  pixelMean?: number[];
}

/** A data error that names the file at fault (and the offset when known). */
export class DataError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'DataError';
  }
}

/** Image bytes in shared memory: the loader's worker threads read the one copy instead of each
 * holding its own (a dataset is held once, as uint8). */
export function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}
