// Data augmentation on uint8 HWC images (1 or 3 channels), following torchvision's tensor
// transforms (functional_tensor.py, 0.14) in semantics and parameter sampling. Every op writes
// uint8, rounded to nearest and clamped (torchvision truncates its uint8 colour results, a
// systematic -0.5 bias we do not copy). The dataset stays uint8; normalisation comes later.
// Hot loops avoid closures and allocation: a pipeline owns its scratch buffers and is used by one
// thread at a time (each worker thread compiles its own).
import { type AugmentConfig, type AugmentStep, pipelineOutputShape, stepOutputShape } from '../../shared/augment';
import type { Rng } from '../rng';

export type Shape = readonly [number, number, number];

/** A crop window, filled in by the samplers (a reused object, not a new one per image). */
export interface Box {
  top: number;
  left: number;
  height: number;
  width: number;
}

export const newBox = (): Box => ({ top: 0, left: 0, height: 0, width: 0 });

// ITU-R 601-2 luma weights, as torchvision's rgb_to_grayscale.
const LUMA_R = 0.2989;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

const clampRound = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0);

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
// Colour ops. Each may run in place (src === dst): every output byte depends only on its own
// pixel (and, for contrast, on a mean taken before writing).

const lut = new Uint8Array(256);

function applyLut(src: Uint8Array, n: number, dst: Uint8Array, table: Uint8Array = lut): void {
  for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
}

/** v * factor (torchvision: blend with black). */
export function adjustBrightness(src: Uint8Array, shape: Shape, factor: number, dst: Uint8Array): void {
  for (let v = 0; v < 256; v++) lut[v] = clampRound(v * factor);
  applyLut(src, shape[0] * shape[1] * shape[2], dst);
}

/** Mean of the greyscale image (luma of RGB; the single channel of a greyscale image). */
export function greyMean(src: Uint8Array, shape: Shape): number {
  const [h, w, c] = shape;
  const n = h * w;
  let sum = 0;
  if (c === 3) for (let i = 0; i < 3 * n; i += 3) sum += LUMA_R * src[i]! + LUMA_G * src[i + 1]! + LUMA_B * src[i + 2]!;
  else for (let i = 0; i < n; i++) sum += src[i]!;
  return sum / n;
}

/** Blend with the mean of the greyscale image: factor * v + (1 - factor) * mean. */
export function adjustContrast(src: Uint8Array, shape: Shape, factor: number, dst: Uint8Array): void {
  if (shape[2] !== 1 && shape[2] !== 3) throw new RangeError(`contrast needs 1 or 3 channels, got ${shape[2]}`);
  const base = (1 - factor) * greyMean(src, shape);
  for (let v = 0; v < 256; v++) lut[v] = clampRound(factor * v + base);
  applyLut(src, shape[0] * shape[1] * shape[2], dst);
}

/** Blend each pixel with its grey level; a greyscale image is returned as is (as torchvision). */
export function adjustSaturation(src: Uint8Array, shape: Shape, factor: number, dst: Uint8Array): void {
  const n = shape[0] * shape[1] * shape[2];
  if (shape[2] !== 3) {
    if (src !== dst) dst.set(src.subarray(0, n));
    return;
  }
  saturationPass(src, n, factor, IDENTITY, dst, null);
}

/** Shift the hue by hueFactor turns (in [-0.5, 0.5]) in HSV space, saturation and value kept;
 * a greyscale image is returned as is. */
export function adjustHue(src: Uint8Array, shape: Shape, hueFactor: number, dst: Uint8Array): void {
  if (!(hueFactor >= -0.5 && hueFactor <= 0.5)) throw new RangeError(`hue factor ${hueFactor} is not in [-0.5, 0.5]`);
  const n = shape[0] * shape[1] * shape[2];
  if (shape[2] !== 3) {
    if (src !== dst) dst.set(src.subarray(0, n));
    return;
  }
  huePass(src, n, hueFactor, IDENTITY, dst, null);
}

const IDENTITY = Uint8Array.from({ length: 256 }, (_, v) => v);

// The per-pixel passes of RGB images read each byte through a lookup table `lut` (the pending
// brightness/contrast of a colour jitter) and, when `hist` is given, count the output values per
// channel (a following contrast needs the mean of this output).

function saturationPass(src: Uint8Array, n: number, factor: number, lut: Uint8Array, dst: Uint8Array, hist: Int32Array | null): void {
  const f1 = 1 - factor;
  for (let i = 0; i < n; i += 3) {
    const r = lut[src[i]!]!;
    const g = lut[src[i + 1]!]!;
    const b = lut[src[i + 2]!]!;
    const grey = f1 * (LUMA_R * r + LUMA_G * g + LUMA_B * b);
    const r2 = clampRound(factor * r + grey);
    const g2 = clampRound(factor * g + grey);
    const b2 = clampRound(factor * b + grey);
    dst[i] = r2;
    dst[i + 1] = g2;
    dst[i + 2] = b2;
    if (hist) {
      hist[r2]!++;
      hist[256 + g2]!++;
      hist[512 + b2]!++;
    }
  }
}

// HSV as torchvision's _rgb2hsv/_hsv2rgb, worked on 0-255 values directly: v = max, and the
// p, q, t of hsv2rgb reduce to min, max - d f and min + d f (d = max - min).
function huePass(src: Uint8Array, n: number, hueFactor: number, lut: Uint8Array, dst: Uint8Array, hist: Int32Array | null): void {
  for (let i = 0; i < n; i += 3) {
    const r = lut[src[i]!]!;
    const g = lut[src[i + 1]!]!;
    const b = lut[src[i + 2]!]!;
    const max = r > g ? (r > b ? r : b) : g > b ? g : b;
    const min = r < g ? (r < b ? r : b) : g < b ? g : b;
    let r2 = r;
    let g2 = g;
    let b2 = b;
    if (max !== min) {
      const d = max - min;
      let h6 = max === r ? (g - b) / d : max === g ? 2 + (b - r) / d : 4 + (r - g) / d; // in [-1, 5)
      h6 += hueFactor * 6;
      h6 -= 6 * Math.floor(h6 / 6); // into [0, 6]
      if (h6 >= 6) h6 = 0; // -1e-17 + 6 rounds to 6: that is hue 0
      const sector = h6 | 0;
      const f = h6 - sector;
      const q = (max - d * f + 0.5) | 0;
      const t = (min + d * f + 0.5) | 0;
      if (sector === 0) {
        r2 = max;
        g2 = t;
        b2 = min;
      } else if (sector === 1) {
        r2 = q;
        g2 = max;
        b2 = min;
      } else if (sector === 2) {
        r2 = min;
        g2 = max;
        b2 = t;
      } else if (sector === 3) {
        r2 = min;
        g2 = q;
        b2 = max;
      } else if (sector === 4) {
        r2 = t;
        g2 = min;
        b2 = max;
      } else {
        r2 = max;
        g2 = min;
        b2 = q;
      }
    }
    dst[i] = r2;
    dst[i + 1] = g2;
    dst[i + 2] = b2;
    if (hist) {
      hist[r2]!++;
      hist[256 + g2]!++;
      hist[512 + b2]!++;
    }
  }
}

/** Per-channel counts of the byte values (channel k at hist[256 k + v]). */
function histogram(img: Uint8Array, n: number, c: number, hist: Int32Array): void {
  hist.fill(0);
  if (c === 3) {
    for (let i = 0; i < n; i += 3) {
      hist[img[i]!]!++;
      hist[256 + img[i + 1]!]!++;
      hist[512 + img[i + 2]!]!++;
    }
  } else for (let i = 0; i < n; i++) hist[img[i]!]!++;
}

/** Mean grey level of the image with these histograms after mapping its bytes through lut. */
function greyMeanThrough(hist: Int32Array, c: number, lut: Uint8Array, px: number): number {
  let sum = 0;
  if (c === 3) for (let v = 0; v < 256; v++) sum += (LUMA_R * hist[v]! + LUMA_G * hist[256 + v]! + LUMA_B * hist[512 + v]!) * lut[v]!;
  else for (let v = 0; v < 256; v++) sum += hist[v]! * lut[v]!;
  return sum / px;
}

/** Scratch of colorJitter: lookup table and per-channel histograms. */
export interface JitterScratch {
  lut: Uint8Array;
  hist: Int32Array;
}
export const newJitterScratch = (): JitterScratch => ({ lut: new Uint8Array(256), hist: new Int32Array(768) });
const sharedJitterScratch = newJitterScratch();

/** ColorJitter at drawn parameters: the adjustments in params.order, each rounded to uint8 as
 * the separate ops (and torchvision) do, so the result equals applying them one after another.
 * Faster, though: brightness and contrast map each byte through a table, so consecutive ones
 * compose into one table applied once, and contrast takes the mean of the image it would see
 * from per-channel histograms pushed through that table. Greyscale images: brightness and
 * contrast only. src and dst may be the same buffer. */
export function colorJitter(src: Uint8Array, shape: Shape, params: JitterParams, dst: Uint8Array, scratch: JitterScratch = sharedJitterScratch): void {
  const [h, w, c] = shape;
  if (c !== 1 && c !== 3) throw new RangeError(`colour jitter needs 1 or 3 channels, got ${c}`);
  const px = h * w;
  const n = px * c;
  const { lut, hist } = scratch;
  const { order, factors } = params;
  for (let v = 0; v < 256; v++) lut[v] = v;
  let identity = true;
  let from = src; // the image the pending table applies to
  let histValid = false; // hist counts the values of `from`
  for (let k = 0; k < 4; k++) {
    const op = order[k]!;
    const f = factors[op]!;
    if (Number.isNaN(f)) continue;
    if (op === 0) {
      for (let v = 0; v < 256; v++) lut[v] = clampRound(lut[v]! * f);
      identity = false;
    } else if (op === 1) {
      if (!histValid) histogram(from, n, c, hist);
      histValid = true;
      const base = (1 - f) * greyMeanThrough(hist, c, lut, px);
      for (let v = 0; v < 256; v++) lut[v] = clampRound(f * lut[v]! + base);
      identity = false;
    } else if (c === 3) {
      // a later contrast needs the histogram of this pass's output
      let later = false;
      for (let j = k + 1; j < 4; j++) if (order[j] === 1 && !Number.isNaN(factors[1]!)) later = true;
      if (later) hist.fill(0);
      if (op === 2) saturationPass(from, n, f, lut, dst, later ? hist : null);
      else huePass(from, n, f, lut, dst, later ? hist : null);
      from = dst;
      histValid = later;
      for (let v = 0; v < 256; v++) lut[v] = v;
      identity = true;
    }
  }
  if (!identity) applyLut(from, n, dst, lut);
  else if (from !== dst) dst.set(from.subarray(0, n));
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

/** ColorJitter's draws: the order of the four adjustments (0 brightness, 1 contrast,
 * 2 saturation, 3 hue) and each factor; NaN = that adjustment is off. */
export interface JitterParams {
  order: Int32Array;
  factors: Float64Array;
}

export const newJitterParams = (): JitterParams => ({ order: new Int32Array(4), factors: new Float64Array(4) });

/** ColorJitter.get_params: a random permutation, then brightness, contrast, saturation uniform
 * in [max(0, 1 - x), 1 + x] and hue in [-hue, hue]; a 0 option is off (draws nothing). */
export function sampleJitter(rng: Rng, o: { brightness: number; contrast: number; saturation: number; hue: number }, out: JitterParams): JitterParams {
  const order = out.order;
  for (let i = 0; i < 4; i++) order[i] = i;
  for (let i = 3; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const f = out.factors;
  f[0] = o.brightness > 0 ? rng.uniform(Math.max(0, 1 - o.brightness), 1 + o.brightness) : NaN;
  f[1] = o.contrast > 0 ? rng.uniform(Math.max(0, 1 - o.contrast), 1 + o.contrast) : NaN;
  f[2] = o.saturation > 0 ? rng.uniform(Math.max(0, 1 - o.saturation), 1 + o.saturation) : NaN;
  f[3] = o.hue > 0 ? rng.uniform(-o.hue, o.hue) : NaN;
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

// One small generator per sample: seeding seedrandom's alea from a string costs several
// microseconds, as much as augmenting a CIFAR image, so samples get their own counter-seeded
// generator instead: Chris Doty-Humphrey's sfc32, its 128-bit state set from (seed, epoch, index)
// each scrambled by murmur3's 32-bit finaliser (a bijection: distinct triples give distinct
// states, so distinct streams), then 15 rounds discarded (the author's advice for seeding).
const fmix32 = (x: number) => {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) | 0;
};

export class SampleRng implements Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private spare = NaN;

  constructor(seed: number, epoch: number, index: number) {
    this.reseed(seed, epoch, index);
  }

  /** Start the stream of another sample (no allocation). */
  reseed(seed: number, epoch: number, index: number): this {
    this.a = fmix32(seed ^ 0x243f6a88);
    this.b = fmix32(epoch ^ 0x6a09e667);
    this.c = fmix32(index ^ 0x3c6ef372);
    this.d = 1;
    this.spare = NaN;
    for (let i = 0; i < 15; i++) this.u32();
    return this;
  }

  private u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const v = this.next();
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

/** The rng of one sample: a pure function of (run seed, epoch, position in the epoch), so that
 * worker threads, resumed runs and the arms of a matched pair augment identically. Pass `reuse`
 * to reseed an existing one instead of allocating. */
export function sampleRng(seed: number, epoch: number, index: number, reuse?: SampleRng): SampleRng {
  return reuse ? reuse.reseed(seed, epoch, index) : new SampleRng(seed, epoch, index);
}
