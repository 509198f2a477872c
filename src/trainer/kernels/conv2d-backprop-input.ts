// Conv2DBackpropInput (the gradient of conv2d w.r.t. its input) for the wasm backend. It replaces
// tfjs-backend-wasm 4.22's own kernel, a scalar C++ loop nest ~10x slower than the forward conv it
// differentiates, which dominated a training step.
//
// The transposed convolution is lowered onto the wasm backend's forward Conv2D kernel (XNNPACK).
// Along an axis, input position i = o*stride + k*dilation - padBefore. Taps whose offsets
// k*dilation share a residue modulo the stride feed exactly the input positions of that residue
// (a "phase"); within a phase they form a stride-1 correlation of dy with a sub-filter made of
// every (stride/g)-th tap (g = gcd(stride, dilation)), spatially flipped, in/out channels swapped,
// dilated by dilation/g. The phases together do the transposed convolution's GEMM work once:
//   - stride 1: one convolution whose output tensor is dx itself, no copy;
//   - stride 2, 3x3: four (2x2, 2x1, 1x2, 1x1 sub-filters), interleaved into dx;
//   - stride 2, 1x1: one 1x1 convolution spread onto the even positions, the rest 0.
// Measured on dy [64,16,16,32] 3x3 stride 1, this is as fast as the forward conv (~22-25 ms),
// while GEMM (dy x W^T on the wasm BatchMatMul/XNNPACK) + col2im took ~70 ms: its JS scatter-add
// over the 9x larger column matrix costs more than the GEMM itself. At stride 2 the only extra is
// copying the phases into dx (~1/5 of the time for dy [128,16,16,64] -> dx [128,32,32,32]);
// GEMM + col2im was 1.2-1.7x slower there too.
import {
  backend_util,
  Conv2D,
  Conv2DBackpropInput,
  getKernel,
  util,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

// Cap on the intermediates of one batch chunk, in floats (32 MiB): bounds wasm heap growth for
// big batches. XNNPACK's indirection buffer (one 4-byte pointer per output pixel and tap) counts
// too: it lives in the wasm Conv2D's cached operator until the sub-filter is disposed.
const MAX_CHUNK_ELEMENTS = 8 * 1024 * 1024;

// tfjs' op does not pass dilations (its conv2d gradient rejects dilation > 1), but the attr is
// honoured when present so that a direct runKernel call with dilations is correct (the old wasm
// kernel, like cpu's, silently used 1).
type Attrs = Conv2DBackpropInputAttrs & { dilations?: number | [number, number] };

/** One residue class ("phase") of input positions along an axis, and the correlation filling it. */
interface Phase {
  /** Filter taps of the sub-filter, in its (flipped) order. */
  taps: number[];
  dilation: number;
  /** The positions filled are stride*(first + q) + residue - padBefore, for q < count. */
  first: number;
  count: number;
  residue: number;
  /** Padding of dy for the sub-convolution, clamped at 0 (XNNPACK takes no negative padding)... */
  padBefore: number;
  padAfter: number;
  /** ...so it computes `skip` extra leading positions, dropped when copying into dx. */
  skip: number;
  /** Output extent of the sub-convolution along this axis. */
  size: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Splits one spatial axis of the transposed convolution into stride-1 correlations. */
function axisPhases(inSize: number, outSize: number, filterSize: number, stride: number, dilation: number, padBefore: number): Phase[] {
  const g = gcd(stride, dilation);
  const tapStep = stride / g; // taps tapStep apart have offsets a whole number of strides apart...
  const subDilation = dilation / g; // ...namely subDilation strides
  const phases: Phase[] = [];
  for (let k0 = 0; k0 < Math.min(filterSize, tapStep); k0++) {
    const numTaps = Math.ceil((filterSize - k0) / tapStep);
    const residue = (k0 * dilation) % stride;
    const shift = (k0 * dilation - residue) / stride; // tap k0's offset in whole strides
    const first = Math.ceil((padBefore - residue) / stride);
    const last = Math.floor((inSize - 1 + padBefore - residue) / stride);
    if (last < first) continue;
    // Position j gets sum_t dy[j - shift - t*subDilation] * w[k0 + t*tapStep]; with t flipped,
    // output q = j - first of the correlation starts reading dy at q + first - shift - span.
    const span = (numTaps - 1) * subDilation;
    const before = shift + span - first;
    const after = last - shift - (outSize - 1);
    const taps: number[] = [];
    for (let t = numTaps - 1; t >= 0; t--) taps.push(k0 + t * tapStep);
    const count = last - first + 1;
    phases.push({
      taps,
      dilation: numTaps > 1 ? subDilation : 1,
      first,
      count,
      residue,
      padBefore: Math.max(0, before),
      padAfter: Math.max(0, after),
      skip: Math.max(0, -before),
      size: count + Math.max(0, -before) + Math.max(0, -after),
    });
  }
  return phases;
}

/** Where dx's elements are, for either layout: element strides of an image, row, pixel, channel. */
interface DxLayout {
  image: number;
  row: number;
  pixel: number;
  channel: number;
  channels: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/**
 * Conv2DBackpropInput on wasm. maxChunkElements is exposed for tests, to exercise batch chunking
 * on small inputs.
 */
export function conv2dBackpropInputWasm(args: Parameters<KernelFunc>[0], maxChunkElements = MAX_CHUNK_ELEMENTS): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy?: TensorInfo; filter?: TensorInfo };
  const { strides, pad, dataFormat = 'NHWC', dimRoundingMode, inputShape, dilations = 1 } = args.attrs as unknown as Attrs;
  if (!dy || !filter) throw new Error('Conv2DBackpropInput (wasm): inputs dy and filter are required');
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    throw new Error(`Conv2DBackpropInput (wasm): float32 only, got dy ${dy.dtype}, filter ${filter.dtype}`);
  }
  if (dy.shape.length !== 4 || filter.shape.length !== 4 || inputShape?.length !== 4) {
    throw new Error(`Conv2DBackpropInput (wasm): dy, filter and inputShape must be rank 4, got [${dy.shape}], [${filter.shape}], [${inputShape}]`);
  }
  const channelsLast = dataFormat === 'NHWC';
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(dataFormat),
  );
  if (!util.arraysEqual(dy.shape, info.outShape)) {
    throw new Error(
      `Conv2DBackpropInput (wasm): dy has shape [${dy.shape}] but the convolution of an input [${inputShape}] ` +
        `with filter [${filter.shape}] produces [${info.outShape}]`,
    );
  }

  if (util.sizeFromShape(info.inShape) === 0) return backend.makeOutput([...info.inShape], 'float32');
  const conv2d = getKernel(Conv2D, 'wasm');
  if (!conv2d) throw new Error('Conv2DBackpropInput (wasm): the wasm Conv2D kernel is not registered');
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterWidth: fw } = info;
  const rows = axisPhases(inHeight, outHeight, info.filterHeight, info.strideHeight, info.dilationHeight, info.padInfo.top);
  const cols = axisPhases(inWidth, outWidth, fw, info.strideWidth, info.dilationWidth, info.padInfo.left);
  const phases = rows.flatMap((r) => cols.map((c) => ({ r, c })));
  const dyPixels = outHeight * outWidth;
  const nothingToAdd = phases.length === 0 || outChannels === 0 || batchSize * dyPixels === 0;

  // XNNPACK's indirection buffer, per image, for the largest sub-convolution.
  const indirection = Math.max(0, ...phases.map(({ r, c }) => r.size * c.size * r.taps.length * c.taps.length));
  // A single phase (stride 1) landing exactly on dx: its output tensor becomes the result.
  const only = phases.length === 1 ? phases[0]! : null;
  const direct =
    !nothingToAdd && channelsLast && only !== null && only.r.size === inHeight && only.c.size === inWidth &&
    batchSize * indirection <= maxChunkElements;
  const perImage = dyPixels * outChannels + Math.max(0, ...phases.map(({ r, c }) => r.size * c.size)) * inChannels + indirection;
  const imagesPerChunk = direct ? batchSize : Math.max(1, Math.floor(maxChunkElements / perImage));
  // dy is read in place unless it has to be sliced into chunks or transposed from NCHW.
  const copyDy = !channelsLast || imagesPerChunk < batchSize;

  const dx = direct ? null : backend.makeOutput([...info.inShape], 'float32');
  // Positions no tap reaches (e.g. the odd ones of a 1x1 stride-2 conv) must read 0; elsewhere
  // every element is written exactly once by the phases.
  const covered = (ps: Phase[], size: number) => ps.reduce((a, p) => a + p.count, 0) === size;
  if (dx && (nothingToAdd || !covered(rows, inHeight) || !covered(cols, inWidth))) backend.typedArrayFromHeap(dx).fill(0);
  if (dx && nothingToAdd) return dx;

  const layout: DxLayout = {
    image: inHeight * inWidth * inChannels,
    row: channelsLast ? inWidth * inChannels : inWidth,
    pixel: channelsLast ? inChannels : 1,
    channel: channelsLast ? 1 : inHeight * inWidth,
    channels: inChannels,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };

  const subFilters: TensorInfo[] = [];
  let chunk: TensorInfo | null = null;
  try {
    // Sub-filters [taps_y, taps_x, outC, inC]: flipped taps, channels swapped (dy's channels are
    // the sub-convolution's inputs). Written once per call; disposing them also frees the XNNPACK
    // operators that the wasm Conv2D caches by filter id.
    for (const { r, c } of phases) {
      subFilters.push(backend.makeOutput([r.taps.length, c.taps.length, outChannels, inChannels], 'float32'));
    }
    // Views are taken only after allocating: growing the wasm heap detaches earlier ones.
    const w = backend.typedArrayFromHeap(filter) as Float32Array;
    for (const [p, { r, c }] of phases.entries()) {
      const sub = backend.typedArrayFromHeap(subFilters[p]!) as Float32Array;
      let o = 0;
      for (const ky of r.taps) {
        for (const kx of c.taps) {
          const tap = (ky * fw + kx) * inChannels * outChannels;
          for (let oc = 0; oc < outChannels; oc++) {
            for (let ic = 0, src = tap + oc; ic < inChannels; ic++, src += outChannels) sub[o++] = w[src]!;
          }
        }
      }
    }

    for (let n0 = 0; n0 < batchSize; n0 += imagesPerChunk) {
      const images = Math.min(imagesPerChunk, batchSize - n0);
      let input = dy;
      if (copyDy) {
        chunk = backend.makeOutput([images, outHeight, outWidth, outChannels], 'float32');
        input = chunk;
        copyDyChunk(backend, dy, chunk, n0, images, dyPixels, outChannels, channelsLast);
      }
      for (const [p, { r, c }] of phases.entries()) {
        const out = conv2d.kernelFunc({
          inputs: { x: input, filter: subFilters[p]! },
          backend,
          attrs: {
            strides: [1, 1],
            dilations: [r.dilation, c.dilation],
            pad: [[0, 0], [r.padBefore, r.padAfter], [c.padBefore, c.padAfter], [0, 0]],
            dataFormat: 'NHWC',
          },
        }) as TensorInfo;
        if (!dx) return { dataId: out.dataId, shape: [...info.inShape], dtype: 'float32' };
        try {
          copyPhase(backend, out, dx, r, c, images, n0, layout);
        } finally {
          backend.disposeData(out.dataId);
        }
      }
      if (chunk) backend.disposeData(chunk.dataId);
      chunk = null;
    }
    return dx!;
  } catch (err) {
    if (dx) backend.disposeData(dx.dataId);
    throw err;
  } finally {
    for (const t of subFilters) backend.disposeData(t.dataId);
    if (chunk) backend.disposeData(chunk.dataId);
  }
}

/** Copies images [n0, n0 + images) of dy into an NHWC chunk, transposing from NCHW if need be. */
function copyDyChunk(
  backend: BackendWasm,
  dy: TensorInfo,
  chunk: TensorInfo,
  n0: number,
  images: number,
  pixels: number,
  channels: number,
  channelsLast: boolean,
): void {
  const src = backend.typedArrayFromHeap(dy) as Float32Array;
  const dst = backend.typedArrayFromHeap(chunk) as Float32Array;
  if (channelsLast) {
    dst.set(src.subarray(n0 * pixels * channels, (n0 + images) * pixels * channels));
    return;
  }
  for (let n = 0; n < images; n++) {
    for (let ch = 0; ch < channels; ch++) {
      const from = ((n0 + n) * channels + ch) * pixels;
      let to = n * pixels * channels + ch;
      for (let q = 0; q < pixels; q++, to += channels) dst[to] = src[from + q]!;
    }
  }
}

/** Copies one phase's sub-convolution output [images, r.size, c.size, inC] into its places in dx. */
function copyPhase(backend: BackendWasm, out: TensorInfo, dx: TensorInfo, r: Phase, c: Phase, images: number, n0: number, l: DxLayout): void {
  const src = backend.typedArrayFromHeap(out) as Float32Array;
  const dst = backend.typedArrayFromHeap(dx) as Float32Array;
  const C = l.channels;
  const pixStep = l.strideW * l.pixel;
  const x0 = (l.strideW * c.first + c.residue - l.padLeft) * l.pixel;
  // NHWC: a pixel's channels are contiguous in both, and with stride 1 so is a whole row. Long
  // runs go through copyWithin (a memmove) on one view of the heap holding both tensors; short
  // ones are cheaper element by element (measured: crossover around 20 floats).
  const nhwc = l.channel === 1;
  const run = nhwc ? (l.strideW === 1 ? c.count * C : C) : 0;
  const heap = run >= 24 ? new Float32Array(src.buffer) : null;
  const srcBase = src.byteOffset / 4;
  const dstBase = dst.byteOffset / 4;
  for (let n = 0; n < images; n++) {
    for (let q = 0; q < r.count; q++) {
      const iy = l.strideH * (r.first + q) + r.residue - l.padTop;
      let from = ((n * r.size + q + r.skip) * c.size + c.skip) * C;
      let to = (n0 + n) * l.image + iy * l.row + x0;
      if (heap && run > C) {
        heap.copyWithin(dstBase + to, srcBase + from, srcBase + from + run);
      } else if (heap) {
        for (let p = 0; p < c.count; p++, from += C, to += pixStep) heap.copyWithin(dstBase + to, srcBase + from, srcBase + from + C);
      } else {
        for (let p = 0; p < c.count; p++, from += C, to += pixStep) {
          for (let ic = 0, d = to; ic < C; ic++, d += l.channel) dst[d] = src[from + ic]!;
        }
      }
    }
  }
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: ((args) => conv2dBackpropInputWasm(args)) as KernelFunc,
};
