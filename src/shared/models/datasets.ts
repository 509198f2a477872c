// What the renderer (and the model summary) needs to know about each dataset without loading it.
// The trainer's loaders produce exactly these shapes (tests/unit/models.test.ts checks it).
import type { DatasetName } from '../config';

export interface DatasetInfo {
  /** One image, [h, w, c]. */
  shape: [number, number, number];
  classes: number;
}

export const DATASET_INFO: Record<DatasetName, DatasetInfo> = {
  synthetic: { shape: [32, 32, 3], classes: 10 },
  'fashion-mnist': { shape: [28, 28, 1], classes: 10 },
};
