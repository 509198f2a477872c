// Colour ops on uint8 HWC images (torchvision's adjust_brightness/contrast/saturation/hue and
// ColorJitter), with ColorJitter's parameter draws and the scratch that colorJitter reuses.
import type { Rng } from '../shared/rng';
import type { Shape } from './transforms';

// ITU-R 601-2 luma weights, as torchvision's rgb_to_grayscale.
const LUMA_R = 0.2989;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

/** Round to nearest and clamp to 0-255: how every op writes uint8. */
export const clampRound = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0);

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
// ColorJitter's parameter sampler (torchvision's get_params, drawing from our Rng)

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
