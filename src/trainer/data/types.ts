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
  test: ImageSet;
  /** Where the data came from (file paths or 'generated'), for the run's start event. */
  source: string;
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
  val: Int32Array; // indices into dataset.train
  test: Int32Array; // indices into dataset.test
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
