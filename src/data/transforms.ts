// Data augmentation on uint8 HWC images (1 or 3 channels), following torchvision's tensor
// transforms (functional_tensor.py, 0.14) in semantics and parameter sampling. Every op writes
// uint8, rounded to nearest and clamped (torchvision truncates its uint8 colour results, a
// systematic -0.5 bias we do not copy). The dataset stays uint8; normalisation comes later.
// Hot loops avoid closures and allocation: a pipeline owns its scratch buffers and is used by one
// thread at a time (each worker thread compiles its own).
import { type AugmentConfig, type AugmentStep, pipelineOutputShape, stepOutputShape } from '../shared/augment';
import type { Rng } from '../shared/rng';
import { clampRound, colorJitter, newJitterParams, newJitterScratch, sampleJitter } from './color';

export type Shape = readonly [number, number, number];

/** A crop window, filled in by the samplers (a reused object, not a new one per image). */
export interface Box {
  top: number;
  left: number;
  height: number;
  width: number;
}

export const newBox = (): Box => ({ top: 0, left: 0, height: 0, width: 0 });

function checkSize(buf: Uint8Array, shape: Shape, what: string): void {
  const n = shape[0] * shape[1] * shape[2];
  if (buf.length < n) throw new RangeError(`${what} has ${buf.length} bytes, expected ${shape[0]}x${shape[1]}x${shape[2]} = ${n}`);
}

// ---------------------------------------------------------------------------------------------
// Geometric ops

/** Pad by `padding` on every side (constant `fill`, or reflect without repeating the edge, as
 * torch.nn.functional.pad), then crop outH x outW at (top, left) of the padded image. */
export function padCrop(
  src: Uint8Array,
  shape: Shape,
  top: number,
  left: number,
  outH: number,
  outW: number,
  padding: number,
  padMode: 'constant' | 'reflect',
  fill: number,
  dst: Uint8Array,
): void {
  const [h, w, c] = shape;
  if (top < 0 || left < 0 || top + outH > h + 2 * padding || left + outW > w + 2 * padding) {
    throw new RangeError(`crop ${outH}x${outW} at (${top}, ${left}) is outside the padded image ${h + 2 * padding}x${w + 2 * padding}`);
  }
  const reflect = padMode === 'reflect';
  if (reflect && padding >= Math.min(h, w)) throw new RangeError(`reflect padding ${padding} must be less than the image side (${h}x${w})`);
  const dy = top - padding; // source row of output row 0
  const dx = left - padding;
  if (!reflect && outW === w) {
    // The CIFAR case: output and source rows have the same stride, so the source block shifted
    // by (dy, dx) is one contiguous copy; then the padded rows and columns get the fill.
    const rowBytes = w * c;
    const y0 = Math.max(0, -dy);
    const y1 = Math.min(outH, h - dy);
    if (y1 > y0) {
      const shift = (dy * w + dx) * c;
      const a = Math.max(y0 * rowBytes, -shift);
      const b = Math.min(y1 * rowBytes, h * rowBytes - shift);
      dst.set(src.subarray(a + shift, b + shift), a);
      if (dx > 0) for (let y = y0; y < y1; y++) dst.fill(fill, (y * w + w - dx) * c, (y + 1) * rowBytes);
      else if (dx < 0) for (let y = y0; y < y1; y++) dst.fill(fill, y * rowBytes, (y * w - dx) * c);
    }
    dst.fill(fill, 0, Math.min(y0, outH) * rowBytes);
    dst.fill(fill, Math.max(y1, 0) * rowBytes, outH * rowBytes);
    return;
  }
  const rowBytes = w * c;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    let sy = dy + y;
    if (sy < 0 || sy >= h) {
      if (!reflect) {
        dst.fill(fill, o, o + outW * c);
        o += outW * c;
        continue;
      }
      sy = sy < 0 ? -sy : 2 * (h - 1) - sy;
    }
    const row = sy * rowBytes;
    for (let x = 0; x < outW; x++) {
      let sx = dx + x;
      if (sx < 0 || sx >= w) {
        if (!reflect) {
          for (let k = 0; k < c; k++) dst[o++] = fill;
          continue;
        }
        sx = sx < 0 ? -sx : 2 * (w - 1) - sx;
      }
      const s = row + sx * c;
      for (let k = 0; k < c; k++) dst[o++] = src[s + k]!;
    }
  }
}

/** Mirror left-right. */
export function hflip(src: Uint8Array, shape: Shape, dst: Uint8Array): void {
  const [h, w, c] = shape;
  const rowBytes = w * c;
  for (let y = 0; y < h; y++) {
    const row = y * rowBytes;
    let o = row;
    if (c === 3) {
      for (let s = row + rowBytes - 3; s >= row; s -= 3) {
        dst[o] = src[s]!;
        dst[o + 1] = src[s + 1]!;
        dst[o + 2] = src[s + 2]!;
        o += 3;
      }
    } else {
      for (let x = w - 1; x >= 0; x--) {
        const s = row + x * c;
        for (let k = 0; k < c; k++) dst[o++] = src[s + k]!;
      }
    }
  }
}

// Column tables of the bilinear resize, grown on demand (module state: one per thread).
let colA = new Int32Array(256);
let colB = new Int32Array(256);
let colW = new Float64Array(256);

/** Crop h x w at (top, left) and resize it to outH x outW, bilinear with half-pixel centres and
 * edge clamping (torch's interpolate, align_corners=False, no antialias), as torchvision's
 * resized_crop; samples never reach outside the crop window. */
export function resizedCrop(src: Uint8Array, inShape: Shape, top: number, left: number, h: number, w: number, dst: Uint8Array, outH: number, outW: number): void {
  const [H, W, c] = inShape;
  if (top < 0 || left < 0 || h < 1 || w < 1 || top + h > H || left + w > W) {
    throw new RangeError(`crop ${h}x${w} at (${top}, ${left}) is outside the image ${H}x${W}`);
  }
  if (colA.length < outW) {
    colA = new Int32Array(outW);
    colB = new Int32Array(outW);
    colW = new Float64Array(outW);
  }
  const sx = w / outW;
  for (let x = 0; x < outW; x++) {
    let fx = (x + 0.5) * sx - 0.5;
    if (fx < 0) fx = 0;
    let x0 = fx | 0;
    if (x0 > w - 1) x0 = w - 1;
    colA[x] = (left + x0) * c;
    colB[x] = (left + (x0 < w - 1 ? x0 + 1 : x0)) * c;
    colW[x] = fx - x0;
  }
  // Separable: each source row the output needs is interpolated horizontally once (consecutive
  // output rows share source rows), then pairs of those rows vertically; same arithmetic as
  // the direct 2x2 form, so the same rounding.
  const rowLen = outW * c;
  if (rowA.length < rowLen) {
    rowA = new Float64Array(rowLen);
    rowB = new Float64Array(rowLen);
  }
  let lo = rowA; // horizontal interpolation of source row loY
  let hi = rowB; // ... of source row hiY
  let loY = -1;
  let hiY = -1;
  const rowBytes = W * c;
  const sy = h / outH;
  let o = 0;
  for (let y = 0; y < outH; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    let y0 = fy | 0;
    if (y0 > h - 1) y0 = h - 1;
    const y1 = y0 < h - 1 ? y0 + 1 : y0;
    const ly = fy - y0;
    if (y0 !== loY) {
      if (y0 === hiY) {
        const t = lo;
        lo = hi;
        hi = t;
        loY = hiY;
        hiY = -1;
      } else {
        hInterp(src, (top + y0) * rowBytes, outW, c, lo);
        loY = y0;
      }
    }
    if (y1 !== hiY) {
      hInterp(src, (top + y1) * rowBytes, outW, c, hi);
      hiY = y1;
    }
    // a convex combination of uint8 values: in [0, 255], no clamp needed before rounding
    for (let i = 0; i < rowLen; i++) {
      const p0 = lo[i]!;
      dst[o++] = (p0 + (hi[i]! - p0) * ly + 0.5) | 0;
    }
  }
}

let rowA = new Float64Array(256 * 3);
let rowB = new Float64Array(256 * 3);

/** One source row (starting at byte `row`) interpolated at the columns of colA/colB/colW. */
function hInterp(src: Uint8Array, row: number, outW: number, c: number, out: Float64Array): void {
  const ca = colA;
  const cb = colB;
  const cw = colW;
  let o = 0;
  if (c === 3) {
    for (let x = 0; x < outW; x++) {
      const a = row + ca[x]!;
      const b = row + cb[x]!;
      const lx = cw[x]!;
      const p0 = src[a]!;
      const p1 = src[a + 1]!;
      const p2 = src[a + 2]!;
      out[o] = p0 + (src[b]! - p0) * lx;
      out[o + 1] = p1 + (src[b + 1]! - p1) * lx;
      out[o + 2] = p2 + (src[b + 2]! - p2) * lx;
      o += 3;
    }
  } else {
    for (let x = 0; x < outW; x++) {
      const a = row + ca[x]!;
      const b = row + cb[x]!;
      const lx = cw[x]!;
      for (let k = 0; k < c; k++) {
        const p = src[a + k]!;
        out[o++] = p + (src[b + k]! - p) * lx;
      }
    }
  }
}

/** Bilinear resize of the whole image (torchvision's resize, antialias=False). */
export function resize(src: Uint8Array, inShape: Shape, dst: Uint8Array, outH: number, outW: number): void {
  resizedCrop(src, inShape, 0, 0, inShape[0], inShape[1], dst, outH, outW);
}

/** resize under the name the dataset loader uses (stored images brought to dataset.imageSize). */
export const resizeImage = resize;

/** Rotate by angleDeg (counter-clockwise as displayed) about the image centre, same size,
 * nearest neighbour; pixels whose source falls outside the image get `fill` (torchvision's
 * rotate: output pixel centres mapped through the inverse rotation onto the input grid). */
export function rotate(src: Uint8Array, shape: Shape, angleDeg: number, fill: number, dst: Uint8Array): void {
  const [h, w, c] = shape;
  const rad = (angleDeg * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const rowBytes = w * c;
  const x0 = -w / 2 + 0.5; // centred x of column 0
  let o = 0;
  for (let i = 0; i < h; i++) {
    const y = i - h / 2 + 0.5;
    // input pixel coordinates (0-based, pixel centres at integers) of column 0
    const xs0 = cos * x0 - sin * y + w / 2 - 0.5 + 0.5; // + 0.5: floor below rounds to nearest
    const ys0 = sin * x0 + cos * y + h / 2 - 0.5 + 0.5;
    for (let j = 0; j < w; j++) {
      // floor(fx) lies in [0, w) exactly when fx does; there floor is truncation
      const fx = xs0 + cos * j;
      const fy = ys0 + sin * j;
      if (!(fx >= 0 && fy >= 0 && fx < w && fy < h)) {
        for (let k = 0; k < c; k++) dst[o++] = fill;
        continue;
      }
      const ix = fx | 0;
      const iy = fy | 0;
      if (c === 3) {
        const s = iy * rowBytes + ix * 3;
        dst[o] = src[s]!;
        dst[o + 1] = src[s + 1]!;
        dst[o + 2] = src[s + 2]!;
        o += 3;
      } else {
        const s = iy * rowBytes + ix * c;
        for (let k = 0; k < c; k++) dst[o++] = src[s + k]!;
      }
    }
  }
}

/** Set a window to per-channel values, in place (cutout's hole). */
export function erase(img: Uint8Array, shape: Shape, top: number, left: number, height: number, width: number, values: ArrayLike<number>): void {
  const [, w, c] = shape;
  for (let y = top; y < top + height; y++) {
    let o = (y * w + left) * c;
    for (let x = 0; x < width; x++) for (let k = 0; k < c; k++) img[o++] = values[k]!;
  }
}

// ---------------------------------------------------------------------------------------------
// Parameter samplers (torchvision's get_params, drawing from our Rng)

/** Python's round(): half to even (torchvision's int(round(...)) in RandomResizedCrop). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** RandomCrop.get_params: a uniform offset of an outH x outW window in an inH x inW image. */
export function sampleCropOffset(rng: Rng, inH: number, inW: number, outH: number, outW: number, out: Box): Box {
  out.height = outH;
  out.width = outW;
  if (inH === outH && inW === outW) {
    out.top = 0;
    out.left = 0;
  } else {
    out.top = rng.int(inH - outH + 1);
    out.left = rng.int(inW - outW + 1);
  }
  return out;
}

/** RandomResizedCrop.get_params: up to 10 tries of an area fraction uniform in scale and a
 * log-uniform aspect ratio (w / h) in ratio, then the centre crop clamped to ratio. */
export function sampleResizedCrop(rng: Rng, height: number, width: number, scale: readonly [number, number], ratio: readonly [number, number], out: Box): Box {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(target * aspect));
    const h = roundHalfEven(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      out.top = rng.int(height - h + 1);
      out.left = rng.int(width - w + 1);
      out.height = h;
      out.width = w;
      return out;
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(ratio[0], ratio[1])) h = roundHalfEven(w / Math.min(ratio[0], ratio[1]));
  else if (inRatio > Math.max(ratio[0], ratio[1])) w = roundHalfEven(h * Math.max(ratio[0], ratio[1]));
  out.top = Math.floor((height - h) / 2);
  out.left = Math.floor((width - w) / 2);
  out.height = h;
  out.width = w;
  return out;
}

/** Cutout's square: centre uniform over the pixels, side `size`, clipped at the border. */
export function sampleCutout(rng: Rng, height: number, width: number, size: number, out: Box): Box {
  const cy = rng.int(height);
  const cx = rng.int(width);
  const y0 = cy - (size >> 1);
  const x0 = cx - (size >> 1);
  out.top = Math.max(0, y0);
  out.left = Math.max(0, x0);
  out.height = Math.min(height, y0 + size) - out.top;
  out.width = Math.min(width, x0 + size) - out.left;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pipelines

export interface Pipeline {
  inShape: [number, number, number];
  outShape: [number, number, number];
  /** Augment one image: src has inShape, dst has outShape; all randomness from rng. No
   * allocation per call (scratch buffers are the pipeline's: use one pipeline per thread). */
  apply(src: Uint8Array, dst: Uint8Array, rng: Rng): void;
}

type Stage = (src: Uint8Array, dst: Uint8Array, rng: Rng) => void;

function compileStep(step: AugmentStep, inShape: Shape, outShape: Shape, mean: readonly number[] | undefined): Stage {
  const box = newBox();
  const n = inShape[0] * inShape[1] * inShape[2];
  switch (step.name) {
    case 'randomCrop': {
      const { padding, padMode, fill } = step;
      const [oh, ow] = outShape;
      const ph = inShape[0] + 2 * padding;
      const pw = inShape[1] + 2 * padding;
      return (src, dst, rng) => {
        sampleCropOffset(rng, ph, pw, oh, ow, box);
        padCrop(src, inShape, box.top, box.left, oh, ow, padding, padMode, fill, dst);
      };
    }
    case 'hflip': {
      const p = step.p;
      return (src, dst, rng) => {
        if (rng.next() < p) hflip(src, inShape, dst);
        else dst.set(src.subarray(0, n));
      };
    }
    case 'randomResizedCrop': {
      const { scale, ratio, size } = step;
      return (src, dst, rng) => {
        sampleResizedCrop(rng, inShape[0], inShape[1], scale, ratio, box);
        resizedCrop(src, inShape, box.top, box.left, box.height, box.width, dst, size, size);
      };
    }
    case 'resize': {
      const [oh, ow] = outShape;
      return (src, dst) => resize(src, inShape, dst, oh, ow);
    }
    case 'rotation': {
      const { degrees, fill } = step;
      return (src, dst, rng) => rotate(src, inShape, rng.uniform(-degrees, degrees), fill, dst);
    }
    case 'colorJitter': {
      const params = newJitterParams();
      const scratch = newJitterScratch();
      return (src, dst, rng) => colorJitter(src, inShape, sampleJitter(rng, step, params), dst, scratch);
    }
    case 'cutout': {
      const c = inShape[2];
      if (!mean || mean.length !== c) {
        throw new Error(`cutout fills its hole with the dataset mean: compilePipeline needs opts.mean with ${c} value(s), got ${mean ? mean.length : 'none'}`);
      }
      const fill = Uint8Array.from(mean, (m) => clampRound(m));
      const { size, p } = step;
      return (src, dst, rng) => {
        dst.set(src.subarray(0, n));
        if (rng.next() < p) {
          sampleCutout(rng, inShape[0], inShape[1], size, box);
          erase(dst, inShape, box.top, box.left, box.height, box.width, fill);
        }
      };
    }
  }
}

/** Compile an augment list for images of inShape. opts.mean: the per-channel dataset mean in
 * 0-255 units (cutout fills with it, so its hole is 0 after normalisation, as in the paper). */
export function compilePipeline(augment: AugmentConfig, inShape: [number, number, number], opts: { mean?: number[] } = {}): Pipeline {
  if (inShape[2] !== 1 && inShape[2] !== 3) throw new RangeError(`augmentation works on 1- or 3-channel images, got ${inShape[2]} channels`);
  const outShape = pipelineOutputShape(inShape, augment); // throws AugmentShapeError naming the step
  const stages: Stage[] = [];
  let shape: [number, number, number] = [...inShape];
  let scratchSize = 0;
  augment.forEach((step, i) => {
    const next = stepOutputShape(step, i, shape);
    stages.push(compileStep(step, shape, next, opts.mean));
    if (i < augment.length - 1) scratchSize = Math.max(scratchSize, next[0] * next[1] * next[2]);
    shape = next;
  });
  // Intermediate results alternate between two buffers; the last stage writes dst.
  const buf0 = new Uint8Array(scratchSize);
  const buf1 = new Uint8Array(scratchSize);
  const inSize = inShape[0] * inShape[1] * inShape[2];
  const outSize = outShape[0] * outShape[1] * outShape[2];
  return {
    inShape: [...inShape],
    outShape,
    apply(src, dst, rng) {
      if (src.length !== inSize) throw new RangeError(`augment input has ${src.length} bytes, expected ${inShape.join('x')} = ${inSize}`);
      if (dst.length !== outSize) throw new RangeError(`augment output has ${dst.length} bytes, expected ${outShape.join('x')} = ${outSize}`);
      if (stages.length === 0) {
        dst.set(src);
        return;
      }
      let cur = src;
      for (let k = 0; k < stages.length; k++) {
        const out = k === stages.length - 1 ? dst : k & 1 ? buf1 : buf0;
        stages[k]!(cur, out, rng);
        cur = out;
      }
    },
  };
}
