// One training batch from uint8 images: each image through the augmentation pipeline (its
// randomness drawn from (run seed, epoch, position in the epoch) only), then standardised into a
// float32 NHWC batch. The same function runs in the loader's worker threads and, with no
// workers, on the training thread: which thread made a batch never changes its contents.
import type { AugmentConfig } from '../shared/augment';
import { sampleRng } from './sample-rng';
import { compilePipeline, type Pipeline } from './transforms';
import type { Normalization } from './types';

export interface BatchContext {
  images: Uint8Array;
  labels: Uint8Array;
  inShape: [number, number, number];
  augment: AugmentConfig;
  norm: Normalization;
  /** The training images' mean pixel per channel in [0, 1] (cutout's fill); default norm.mean. */
  fillMean?: number[];
  seed: number;
}

export interface BatchTask {
  epoch: number;
  /** Position in the epoch of the batch's first image (its rng stream). */
  position: number;
  /** Dataset indices of the batch's images, in order. */
  indices: Int32Array;
}

export interface PreparedBatch {
  x: Float32Array;
  y: Int32Array;
  n: number;
}

export class BatchMaker {
  readonly pipeline: Pipeline | null;
  readonly outShape: [number, number, number];
  /** Per channel, the standardised value of each of the 256 grey levels: one lookup per value. */
  private readonly lut: Float32Array[];
  private readonly scratch: Uint8Array;

  constructor(private readonly ctx: BatchContext) {
    const c = ctx.inShape[2];
    // x' = (v/255 - mean) / std, per channel
    this.lut = ctx.norm.mean.map((m, ch) => Float32Array.from({ length: 256 }, (_, v) => (v / 255 - m) / ctx.norm.std[ch]!));
    // cutout fills with the mean pixel (with dataset normalisation: 0 after it, as in the paper)
    this.pipeline = ctx.augment.length ? compilePipeline(ctx.augment, ctx.inShape, { mean: (ctx.fillMean ?? ctx.norm.mean).map((m) => m * 255) }) : null;
    this.outShape = this.pipeline ? this.pipeline.outShape : ctx.inShape;
    this.scratch = new Uint8Array(this.outShape[0] * this.outShape[1] * c);
  }

  make(t: BatchTask): PreparedBatch {
    const { images, labels, inShape, seed } = this.ctx;
    const inPer = inShape[0] * inShape[1] * inShape[2];
    const c = this.outShape[2];
    const per = this.outShape[0] * this.outShape[1] * c;
    const n = t.indices.length;
    const x = new Float32Array(n * per);
    const y = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const idx = t.indices[b]!;
      let src = images.subarray(idx * inPer, (idx + 1) * inPer);
      if (this.pipeline) {
        this.pipeline.apply(src, this.scratch, sampleRng(seed, t.epoch, t.position + b));
        src = this.scratch;
      }
      const off = b * per;
      if (c === 3) {
        const [l0, l1, l2] = this.lut as [Float32Array, Float32Array, Float32Array];
        for (let k = 0, o = off; k < per; k += 3, o += 3) {
          x[o] = l0[src[k]!]!;
          x[o + 1] = l1[src[k + 1]!]!;
          x[o + 2] = l2[src[k + 2]!]!;
        }
      } else {
        for (let k = 0; k < per; k++) x[off + k] = this.lut[k % c]![src[k]!]!;
      }
      y[b] = labels[idx]!;
    }
    return { x, y, n };
  }
}
