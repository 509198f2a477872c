// Conv2DBackpropFilter (the weight gradient of every convolution) on 'webgpu'.
//
// Why: tfjs-webgpu 4.22 runs one invocation per filter weight, each looping over batch x outH x
// outW alone (K = 131072 multiply-adds in series for a batch of 128 at 32x32): 2304 invocations
// for a 3x3x16x16 filter, a small fraction of one GPU, each a long serial chain of loads. Ours is a tiled implicit GEMM with split-K:
//   dW[m, co] = sum_k A[m, k] * dy[k, co],  m = (kh, kw, ci), k = (n, oh, ow),
//   A[m, k] = x[n, oh*sh + kh*dh - padTop, ow*sw + kw*dw - padLeft, ci]  (0 in the padding).
// M x N (the filter) is small and K huge, so the workgroups of pass 1 each reduce one K-chunk of
// one TM x TN tile (see common.ts) into a slice of a partial-sum buffer [S, M*N]; pass 2 sums the S slices (WGSL
// has no float atomics). NHWC float32 only, any stride, padding and dilation; NCHW and other
// dtypes go to tfjs-webgpu's kernel.
import { Conv2DBackpropFilter, type TensorInfo } from '@tensorflow/tfjs-core';
import { convInfoOf, MAX_DISPATCH, program, sameShape, tileDecls, tileFor, STORE_A, TILE_FMA, withFallback, type Args, type Shape4 } from './common';

/** Workgroups pass 1 aims for: enough to fill a large GPU several times over. */
const TARGET_WORKGROUPS = 2048;
/** The least K one workgroup reduces (so that partial sums stay a small fraction of the work). */
const MIN_CHUNK = 256;

export interface FilterGradPlan {
  M: number;
  N: number;
  K: number;
  /** K-chunks (slices of the partial buffer); 1: pass 1 writes dW itself. */
  splits: number;
  /** TK-deep steps per chunk. */
  steps: number;
}

export function planFilterGrad(M: number, N: number, K: number, forceSplits?: number): FilterGradPlan {
  const t = tileFor(N, M);
  const tiles = Math.ceil(M / t.TM) * Math.ceil(N / t.TN);
  let splits = forceSplits ?? Math.max(1, Math.min(Math.ceil(K / MIN_CHUNK), Math.ceil(TARGET_WORKGROUPS / tiles)));
  const steps = Math.max(1, Math.ceil(K / splits / t.TK));
  splits = Math.max(1, Math.ceil(K / (steps * t.TK)));
  return { M, N, K, splits, steps };
}

function partialShader(info: ReturnType<typeof convInfoOf>, p: FilterGradPlan): string {
  const t = tileFor(p.N, p.M);
  return `
${tileDecls(t)}
${STORE_A}
const M = ${p.M};
const N = ${p.N};
const K = ${p.K};
const STEPS = ${p.steps};
const IN_H = ${info.inHeight};
const IN_W = ${info.inWidth};
const IN_C = ${info.inChannels};
const OUT_H = ${info.outHeight};
const OUT_W = ${info.outWidth};
const FW = ${info.filterWidth};
const SH = ${info.strideHeight};
const SW = ${info.strideWidth};
const DH = ${info.dilationHeight};
const DW = ${info.dilationWidth};
const PT = ${info.padInfo.top};
const PL = ${info.padInfo.left};
const FAR = -268435456; // an out-of-bounds row/column: FAR + FAR still fits an i32
var<workgroup> kInfo : array<vec4<i32>, TK>;
// Dispatch: x = column tiles, y = K-chunks, z = row tiles.

fn main() {
  _ = uniforms.NAN; // a static use, so that the pipeline layout keeps tfjs-webgpu's uniform binding
  let t = i32(localIndex);
  let tx = t % WX;
  let ty = t / WX;
  let col0 = i32(workgroupId.x) * TN;
  let row0 = i32(workgroupId.z) * TM;
  let split = i32(workgroupId.y);
  let kBase = split * STEPS * TK;

  // A tile (TK x TM, m fastest): each invocation stages one row m of the filter, so its
  // (kh, kw, ci) is decoded once; consecutive invocations read consecutive channels of x.
  let am = t % TM;
  let ak0 = t / TM;
  let m = row0 + am;
  let ci = m % IN_C;
  let tap = m / IN_C;
  let offH = (tap / FW) * DH - PT;
  let offW = (tap % FW) * DW - PL;
  // x[n, ih0 + offH, iw0 + offW, ci] = x[base(k) + mOff]; a row past M never passes the bounds.
  let mOff = (offH * IN_W + offW) * IN_C + ci;
  let hOff = select(FAR, offH, m < M);
  // B tile (TK x TN as vec4s): BR vec4s of dy per invocation.
  let bn = col0 + (t % WX) * 4;

  var acc : array<vec4<f32>, 4>;
  for (var it = 0; it < STEPS; it++) {
    let k0 = kBase + it * TK;
    // The TK columns k = (n, oh, ow) of this step, decoded once for the workgroup.
    if (t < TK) {
      let k = k0 + t;
      var ki = vec4<i32>(0, FAR, FAR, 0);
      if (k < K) {
        let ow = k % OUT_W;
        let q = k / OUT_W;
        let oh = q % OUT_H;
        let n = q / OUT_H;
        ki = vec4<i32>(((n * IN_H + oh * SH) * IN_W + ow * SW) * IN_C, oh * SH, ow * SW, 0);
      }
      kInfo[t] = ki;
    }
    workgroupBarrier();
    for (var r = 0; r < TK * TM / T; r++) {
      let kk = ak0 + r * (T / TM);
      let ki = kInfo[kk];
      let ih = ki.y + hOff;
      let iw = ki.z + offW;
      var v = 0.0;
      if (ih >= 0 && ih < IN_H && iw >= 0 && iw < IN_W) {
        v = x[ki.x + mOff];
      }
      storeA(am, kk, v);
    }
    for (var r = 0; r < BR; r++) {
      let e = t + r * T;
      let k = k0 + e / WX;
      var b = vec4<f32>(0.0);
      if (k < K) {
        let base = k * N + bn;
        if (bn < N) { b.x = dy[base]; }
        if (bn + 1 < N) { b.y = dy[base + 1]; }
        if (bn + 2 < N) { b.z = dy[base + 2]; }
        if (bn + 3 < N) { b.w = dy[base + 3]; }
      }
      Bs[e] = b;
    }
    workgroupBarrier();
    // No barrier after the multiply: the next step's tile writes wait at its first barrier, which
    // every invocation reaches only after this multiply, and kInfo is read only before the second.
    ${TILE_FMA}
  }

  let outBase = split * M * N;
  for (var i = 0; i < 4; i++) {
    let row = row0 + ty * 4 + i;
    if (row < M) {
      let col = col0 + tx * 4;
      let o = outBase + row * N + col;
      if (col < N) { result[o] = acc[i].x; }
      if (col + 1 < N) { result[o + 1] = acc[i].y; }
      if (col + 2 < N) { result[o + 2] = acc[i].z; }
      if (col + 3 < N) { result[o + 3] = acc[i].w; }
    }
  }
}
`;
}

const REDUCE_WG = 256;

function reduceShader(size: number, splits: number): string {
  return `
const SIZE = ${size};
const SPLITS = ${splits};
fn main() {
  _ = uniforms.NAN; // a static use, so that the pipeline layout keeps tfjs-webgpu's uniform binding
  let i = (i32(workgroupId.y) * i32(numWorkgroups.x) + i32(workgroupId.x)) * ${REDUCE_WG} + i32(localIndex);
  if (i < SIZE) {
    var s = 0.0;
    for (var j = 0; j < SPLITS; j++) {
      s += partial[j * SIZE + i];
    }
    result[i] = s;
  }
}
`;
}

/** Pass 2 of a split reduction: out[i] = sum_j partial[j, i] over `splits` slices of `size`. */
export function reduceSlices(backend: Args['backend'], partial: TensorInfo, splits: number, size: number, outShape: number[]): TensorInfo {
  const groups = Math.ceil(size / REDUCE_WG);
  const gx = Math.min(groups, MAX_DISPATCH);
  const p = program({
    key: `reduceSlices_${size}_${splits}`,
    inputs: ['partial'],
    outputShape: outShape,
    workgroupSize: REDUCE_WG,
    dispatch: [gx, Math.ceil(groups / gx), 1],
    code: reduceShader(size, splits),
  });
  return backend.runWebGPUProgram(p, [partial], 'float32');
}

/**
 * dW through our two passes. Exported for tests (forceSplits: chunking on a small K) and the
 * benchmark; returns null where it does not apply (the caller falls back).
 */
export function conv2dBackpropFilterWebgpu(args: Args, forceSplits?: number): TensorInfo | null {
  const { x, dy } = args.inputs;
  const a = args.attrs as unknown as { filterShape: Shape4; dataFormat?: string };
  if (!x || !dy || x.dtype !== 'float32' || dy.dtype !== 'float32') return null;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || x.shape.length !== 4) return null;
  const info = convInfoOf(x.shape as Shape4, a.filterShape, args.attrs);
  if (!sameShape(dy.shape, info.outShape)) {
    throw new Error(`Conv2DBackpropFilter: dy has shape [${dy.shape}] but the convolution's output has shape [${info.outShape}]`);
  }
  const backend = args.backend;
  const M = info.filterHeight * info.filterWidth * info.inChannels;
  const N = info.outChannels;
  const K = info.batchSize * info.outHeight * info.outWidth;
  if (M * N === 0) return backend.makeTensorInfo(a.filterShape, 'float32');
  if (K === 0) return null; // an empty batch: tfjs-webgpu's kernel writes the zeros
  const p = planFilterGrad(M, N, K, forceSplits);
  const t = tileFor(N, M);
  const key = [p.M, p.N, p.K, p.steps, p.splits, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterWidth,
    info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left].join('_');
  const direct = p.splits === 1;
  // Never beyond the dispatch limits for a real filter (TARGET_WORKGROUPS bounds the chunks, a
  // 64-row tile per 65535 would need M = kh*kw*inC > 4M); checked all the same.
  if (p.splits > MAX_DISPATCH || Math.ceil(M / t.TM) > MAX_DISPATCH || Math.ceil(N / t.TN) > MAX_DISPATCH) return null;
  const pass1 = program({
    key: `conv2dBackpropFilter_partial_${key}`,
    inputs: ['x', 'dy'],
    outputShape: direct ? a.filterShape : [p.splits, M * N],
    workgroupSize: t.T,
    dispatch: [Math.ceil(N / t.TN), p.splits, Math.ceil(M / t.TM)],
    code: partialShader(info, p),
  });
  const partial = backend.runWebGPUProgram(pass1, [x, dy], 'float32');
  if (direct) return partial;
  const out = reduceSlices(backend, partial, p.splits, M * N, a.filterShape);
  backend.disposeData(partial.dataId);
  return out;
}

/** Built when registered (the fallback is whatever 'webgpu' had then). */
export function conv2dBackpropFilterConfig() {
  return withFallback(Conv2DBackpropFilter, (args) => conv2dBackpropFilterWebgpu(args));
}
