// Conv2DBackpropInput (the gradient of conv2d w.r.t. its input) for the wasm backend, replacing
// tfjs-backend-wasm 4.22's own kernel: that one is a scalar C++ loop nest, ~15x slower than the
// forward convolution it differentiates, and it dominated a training step.
//
// The transposed convolution is lowered onto the wasm backend's forward Conv2D kernel (XNNPACK).
// Along each spatial axis, input position i = o*stride + k*dilation - padBefore. Filter taps whose
// offsets k*dilation fall in the same residue class modulo the stride feed the input positions
// of one residue class ("phase"), and within a phase they form a plain stride-1 correlation of
// dy with a sub-filter of every (stride/g)-th tap (g = gcd(stride, dilation)), spatially flipped,
// with in/out channels swapped and dilation dilation/g. So dx is assembled from
// ceil-ish(filter/stride)^2 stride-1 convolutions that together do exactly the GEMM work of the
// transposed convolution, with no im2col buffer:
//   - stride 1: one convolution whose output is dx itself (no copy at all);
//   - stride 2, 3x3: four convolutions (2x2, 2x1, 1x2, 1x1 sub-filters), interleaved into dx;
//   - stride 2, 1x1: one 1x1 convolution (a GEMM) spread onto the even positions, the rest 0.
// Measured against im2col-free alternatives (GEMM dy x W^T + col2im): the scatter-add over the
// 9x larger column matrix cost more in JS than this approach's single copy of dx.
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
// big batches. XNNPACK's indirection buffer (one 4-byte pointer per output pixel and tap) is
// counted too, as it lives in the cached operator until the sub-filter is disposed.
const MAX_CHUNK_ELEMENTS = 8 * 1024 * 1024;

// tfjs' op does not pass dilations (its conv2d gradient rejects dilation > 1), but the attr is
// honoured when present so that a direct runKernel call with dilations is correct; the old wasm
// kernel (and cpu's) silently used 1.
type Attrs = Conv2DBackpropInputAttrs & { dilations?: number | [number, number] };

/** One residue class of input positions along an axis, and the stride-1 correlation filling it. */
interface Phase {
  /** Filter taps used, first to last in the sub-filter's (flipped) order. */
  taps: number[];
  /** Dilation of the sub-filter over dy. */
  dilation: number;
  /** Input positions filled: stride*(first + q) + residue - padBefore for q < count. */
  first: number;
  count: number;
  residue: number;
  /** Padding of dy for the sub-convolution, clamped at 0 ... */
  padBefore: number;
  padAfter: number;
  /** ... and the leading output positions that clamping adds (computed, then skipped). */
  skip: number;
  /** Output extent of the sub-convolution (count plus positions that clamping adds). */
  convSize: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Splits one spatial axis of the transposed convolution into stride-1 correlations. */
function axisPhases(inSize: number, outSize: number, filterSize: number, stride: number, dilation: number, padBefore: number): Phase[] {
  const g = gcd(stride, dilation);
  const tapStep = stride / g; // taps k and k + tapStep have offsets differing by a multiple of stride
  const subDilation = dilation / g; // ... namely by subDilation strides
  const phases: Phase[] = [];
  for (let k0 = 0; k0 < Math.min(filterSize, tapStep); k0++) {
    const count0 = Math.ceil((filterSize - k0) / tapStep);
    const residue = (k0 * dilation) % stride;
    const shift = (k0 * dilation - residue) / stride; // tap k0's offset in whole strides
    // Input positions of this residue inside [0, inSize): i = stride*j + residue - padBefore.
    const first = Math.ceil((padBefore - residue) / stride);
    const last = Math.floor((inSize - 1 + padBefore - residue) / stride);
    const count = last - first + 1;
    if (count <= 0) continue;
    // Position j sums dy[j - shift - t*subDilation] * w[k0 + t*tapStep] over t; flipping t gives
    // a correlation whose output q = j - first starts reading dy at q + first - shift - span.
    const span = (count0 - 1) * subDilation;
    const before = shift + span - first;
    const after = last - shift - (outSize - 1);
    const taps: number[] = [];
    for (let t = count0 - 1; t >= 0; t--) taps.push(k0 + t * tapStep);
    const skip = Math.max(0, -before);
    phases.push({
      taps,
      dilation: count0 > 1 ? subDilation : 1,
      first,
      count,
      residue,
      padBefore: Math.max(0, before),
      padAfter: Math.max(0, after),
      skip,
      convSize: count + skip + Math.max(0, -after),
    });
  }
  return phases;
}

function conv2dBackpropInput(args: Parameters<KernelFunc>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy?: TensorInfo; filter?: TensorInfo };
  const { strides, pad, dataFormat = 'NHWC', dimRoundingMode, inputShape, dilations = 1 } = args.attrs as unknown as Attrs;
  if (!dy || !filter) throw new Error('Conv2DBackpropInput (wasm): inputs dy and filter are required');
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    throw new Error(`Conv2DBackpropInput (wasm): float32 only, got dy ${dy.dtype}, filter ${filter.dtype}`);
  }
  if (dy.shape.length !== 4 || filter.shape.length !== 4 || inputShape.length !== 4) {
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

  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight: fh, filterWidth: fw } = info;
  const dx = backend.makeOutput([...info.inShape], 'float32');
  const rows = axisPhases(inHeight, outHeight, fh, info.strideHeight, info.dilationHeight, info.padInfo.top);
  const cols = axisPhases(inWidth, outWidth, fw, info.strideWidth, info.dilationWidth, info.padInfo.left);
  const coveredRows = rows.reduce((a, p) => a + p.count, 0);
  const coveredCols = cols.reduce((a, p) => a + p.count, 0);
  if (util.sizeFromShape(info.inShape) === 0) return dx;
  // Positions that no tap reaches (e.g. the odd ones of a 1x1 stride-2 conv) get 0.
  if (outChannels === 0 || batchSize * outHeight * outWidth === 0 || coveredRows < inHeight || coveredCols < inWidth) {
    backend.typedArrayFromHeap(dx).fill(0);
  }
  if (outChannels === 0 || batchSize * outHeight * outWidth === 0 || rows.length === 0 || cols.length === 0) return dx;

  const conv2d = getKernel(Conv2D, 'wasm');
  if (!conv2d) throw new Error('Conv2DBackpropInput (wasm): the wasm Conv2D kernel is not registered');

  const phases = rows.flatMap((r) => cols.map((c) => ({ r, c })));
  const perImage = (p: { r: Phase; c: Phase }) => p.r.convSize * p.c.convSize;
  const indirection = Math.max(...phases.map((p) => perImage(p) * p.r.taps.length * p.c.taps.length));
  // One phase whose sub-convolution lands exactly on dx: its output tensor becomes the result.
  const direct =
    channelsLast && phases.length === 1 && phases[0]!.r.convSize === inHeight && phases[0]!.c.convSize === inWidth &&
    batchSize * indirection <= MAX_CHUNK_ELEMENTS;
  const chunkPerImage = outHeight * outWidth * outChannels + Math.max(...phases.map(perImage)) * inChannels + indirection;
  const imagesPerChunk = direct ? batchSize : Math.max(1, Math.floor(MAX_CHUNK_ELEMENTS / chunkPerImage));
  // dy is read in place unless it must be sliced into chunks or transposed from NCHW.
  const copyDy = !channelsLast || imagesPerChunk < batchSize;

  // Element strides of dx and dy for either layout.
  const dxImage = inHeight * inWidth * inChannels;
  const dxRow = channelsLast ? inWidth * inChannels : inWidth;
  const dxPix = channelsLast ? inChannels : 1;
  const dxChan = channelsLast ? 1 : inHeight * inWidth;
  const dyPixels = outHeight * outWidth;

  // Sub-filters [taps_y, taps_x, outC, inC]: flipped taps, channels swapped (dy's outC are the
  // sub-convolution's inputs). Written once per call; disposing them frees XNNPACK's operators,
  // which the wasm Conv2D caches by filter id.
  const subFilters: TensorInfo[] = [];
  const chunkData: TensorInfo[] = [];
  try {
    for (const { r, c } of phases) {
      subFilters.push(backend.makeOutput([r.taps.length, c.taps.length, outChannels, inChannels], 'float32'));
    }
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
        input = backend.makeOutput([images, outHeight, outWidth, outChannels], 'float32');
        chunkData.push(input);
        const src = backend.typedArrayFromHeap(dy) as Float32Array;
        const dst = backend.typedArrayFromHeap(input) as Float32Array;
        if (channelsLast) {
          dst.set(src.subarray(n0 * dyPixels * outChannels, (n0 + images) * dyPixels * outChannels));
        } else {
          // NCHW dy is [outC, pixels] per image: transpose it to NHWC while copying.
          for (let n = 0; n < images; n++) {
            for (let oc = 0; oc < outChannels; oc++) {
              const from = ((n0 + n) * outChannels + oc) * dyPixels;
              let to = n * dyPixels * outChannels + oc;
              for (let q = 0; q < dyPixels; q++, to += outChannels) dst[to] = src[from + q]!;
            }
          }
        }
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
        if (direct) {
          // The sub-convolution's output is dx; the preallocated one is dropped.
          backend.disposeData(dx.dataId);
          return { dataId: out.dataId, shape: [...info.inShape], dtype: 'float32' };
        }
        try {
          scatter(backend, out, dx, r, c, images, n0, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, inChannels, dxImage, dxRow, dxPix, dxChan);
        } finally {
          backend.disposeData(out.dataId);
        }
      }
      if (copyDy) backend.disposeData(chunkData.pop()!.dataId);
    }
    return dx;
  } catch (err) {
    backend.disposeData(dx.dataId);
    throw err;
  } finally {
    for (const t of [...subFilters, ...chunkData]) backend.disposeData(t.dataId);
  }
}

/** Copies one phase's sub-convolution output [images, convH, convW, inC] into its places in dx. */
function scatter(
  backend: BackendWasm,
  out: TensorInfo,
  dx: TensorInfo,
  r: Phase,
  c: Phase,
  images: number,
  n0: number,
  strideH: number,
  strideW: number,
  padTop: number,
  padLeft: number,
  inChannels: number,
  dxImage: number,
  dxRow: number,
  dxPix: number,
  dxChan: number,
): void {
  const src = backend.typedArrayFromHeap(out) as Float32Array;
  const dst = backend.typedArrayFromHeap(dx) as Float32Array;
  // With stride 1 in NHWC a whole output row is one contiguous run of dx.
  const rowRun = strideW === 1 && dxChan === 1 ? c.count * inChannels : 0;
  const pixStep = strideW * dxPix;
  for (let n = 0; n < images; n++) {
    for (let q = 0; q < r.count; q++) {
      const iy = strideH * (r.first + q) + r.residue - padTop;
      let from = ((n * r.convSize + q + r.skip) * c.convSize + c.skip) * inChannels;
      let to = (n0 + n) * dxImage + iy * dxRow + (strideW * c.first + c.residue - padLeft) * dxPix;
      if (rowRun > 0) {
        dst.set(src.subarray(from, from + rowRun), to);
        continue;
      }
      for (let p = 0; p < c.count; p++, from += inChannels, to += pixStep) {
        for (let ic = 0, d = to; ic < inChannels; ic++, d += dxChan) dst[d] = src[from + ic]!;
      }
    }
  }
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as KernelFunc,
};
