// Conv2DBackpropInput (the input gradient of every convolution but the first) on 'webgpu'.
//
// Why: tfjs-webgpu 4.22 defaults to a naive transposed convolution (WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE
// is true): each invocation loops over every tap and output channel on its own, nothing shared
// between invocations. Its matmul variant, behind the flag, tests every tap of every pixel with
// float divisions and multiplies the zeros that a stride > 1 leaves.
//
// Ours is a tiled implicit GEMM per residue class of the stride: the pixels (ih, iw) with
// ih = ihq*sh + rh, iw = iwq*sw + rw are reached by the same taps, those with
// (rh + padTop - kh*dh) divisible by sh (an arithmetic progression of kh) and likewise kw, and
// for them oh = ihq + (rh + padTop - kh*dh)/sh exactly. So per class:
//   dx[(n, ihq, iwq), ci] = sum_{(kh, kw) valid, co} dy[n, oh, ow, co] * w[kh, kw, ci, co],
// a GEMM with M = batch x pixels of the class, N = inC, K = valid taps x outC and no wasted
// multiply. One program per class (sh*sw of them), all writing into one output; a class that no
// tap reaches gets its zeros from a K = 0 program. NHWC float32, any stride, padding, dilation and
// rounding mode; NCHW and other dtypes go to tfjs-webgpu's kernel.
import { Conv2DBackpropInput, type TensorInfo } from '@tensorflow/tfjs-core';
import { convInfoOf, program, sameShape, split2, tileDecls, tileFor, STORE_A, TILE_FMA, withFallback, type Args, type Shape4 } from './common';

/** The taps of one dimension that reach residue r: k0, k0 + step, ... (n of them). */
interface Taps {
  k0: number;
  step: number;
  n: number;
  /** (r + pad - k0*d) / s: the output offset of the first tap... */
  off0: number;
  /** ...and how much each next tap lowers it (step*d/s). */
  offStep: number;
}

export function tapsFor(r: number, pad: number, f: number, d: number, s: number): Taps {
  const ks: number[] = [];
  for (let k = 0; k < f; k++) if ((r + pad - k * d) % s === 0) ks.push(k);
  const k0 = ks[0] ?? 0;
  const step = ks.length > 1 ? ks[1]! - k0 : 0; // a single tap (or none) needs no step
  // The solutions of k*d = r + pad (mod s) form one residue class mod s/gcd(d, s).
  if (ks.some((k, i) => k !== k0 + i * step)) throw new Error(`taps of residue ${r} are not a progression: ${ks}`);
  if (ks.length === 0) return { k0: 0, step: 0, n: 0, off0: 0, offStep: 0 }; // K = 0: only zeros written
  return { k0, step, n: ks.length, off0: (r + pad - k0 * d) / s, offStep: (step * d) / s };
}

function classShader(info: ReturnType<typeof convInfoOf>, c: { rh: number; rw: number; hq: number; wq: number; th: Taps; tw: Taps; steps: number }): string {
  const t = tileFor(info.inChannels);
  return `
${tileDecls(t)}
${STORE_A}
const ROWS = ${info.batchSize * c.hq * c.wq};
const HQ = ${c.hq};
const WQ = ${c.wq};
const RH = ${c.rh};
const RW = ${c.rw};
const SH = ${info.strideHeight};
const SW = ${info.strideWidth};
const IN_H = ${info.inHeight};
const IN_W = ${info.inWidth};
const IN_C = ${info.inChannels};
const OUT_H = ${info.outHeight};
const OUT_W = ${info.outWidth};
const OUT_C = ${info.outChannels};
const FW = ${info.filterWidth};
const KH0 = ${c.th.k0};
const STEP_H = ${c.th.step};
const OH0 = ${c.th.off0};
const DOH = ${c.th.offStep};
const KW0 = ${c.tw.k0};
const STEP_W = ${c.tw.step};
const NKW = ${Math.max(1, c.tw.n)}; // (K = 0 where it is 0)
const OW0 = ${c.tw.off0};
const DOW = ${c.tw.offStep};
const K = ${c.th.n * c.tw.n * info.outChannels};
const STEPS = ${c.steps};
const FAR = -1073741824;

// Per row of the tile: (n*OUT_H, the dy row and column of the first tap); FAR marks rows past
// the end, which every bounds check then rejects.
var<workgroup> rowInfo : array<vec3<i32>, TM>;

fn main() {
  _ = uniforms.NAN; // a static use, so that the pipeline layout keeps tfjs-webgpu's uniform binding
  let t = i32(localIndex);
  let tx = t % WX;
  let ty = t / WX;
  let col0 = i32(workgroupId.x) * TN;
  let row0 = (i32(workgroupId.z) * i32(numWorkgroups.y) + i32(workgroupId.y)) * TM;

  if (t < TM) {
    let m = row0 + t;
    var ri0 = vec3<i32>(0, FAR, FAR);
    if (m < ROWS) {
      let n = m / (HQ * WQ);
      let rem = m - n * (HQ * WQ);
      let ihq = rem / WQ;
      ri0 = vec3<i32>(n * OUT_H, ihq + OH0, rem - ihq * WQ + OW0);
    }
    rowInfo[t] = ri0;
  }
  workgroupBarrier();

  // A tile (TK x TM, k fastest: consecutive invocations read consecutive channels of dy): each
  // invocation stages one k of every tile, decoded once per tile.
  let ak = t % TK;
  let am0 = t / TK;
  // B tile: BR vec4s (4 input channels each) of w per invocation.
  let bn = col0 + (t % WX) * 4;

  var acc : array<vec4<f32>, 4>;
  for (var it = 0; it < STEPS; it++) {
    let k0 = it * TK;
    {
      let k = k0 + ak;
      let co = k % OUT_C;
      let tap = k / OUT_C;
      let jh = tap / NKW;
      let jw = tap - jh * NKW;
      let kOk = k < K;
      for (var r = 0; r < TK * TM / T; r++) {
        let ml = am0 + r * (T / TK);
        let ri = rowInfo[ml];
        let oh = ri.y - jh * DOH;
        let ow = ri.z - jw * DOW;
        var v = 0.0;
        if (kOk && oh >= 0 && oh < OUT_H && ow >= 0 && ow < OUT_W) {
          v = dy[((ri.x + oh) * OUT_W + ow) * OUT_C + co];
        }
        storeA(ml, ak, v);
      }
    }
    for (var r = 0; r < BR; r++) {
      let e = t + r * T;
      let k = k0 + e / WX;
      var b = vec4<f32>(0.0);
      if (k < K) {
        let co = k % OUT_C;
        let tap = k / OUT_C;
        let jh = tap / NKW;
        let jw = tap - jh * NKW;
        let base = (((KH0 + jh * STEP_H) * FW + KW0 + jw * STEP_W) * IN_C + bn) * OUT_C + co;
        if (bn < IN_C) { b.x = W[base]; }
        if (bn + 1 < IN_C) { b.y = W[base + OUT_C]; }
        if (bn + 2 < IN_C) { b.z = W[base + 2 * OUT_C]; }
        if (bn + 3 < IN_C) { b.w = W[base + 3 * OUT_C]; }
      }
      Bs[e] = b;
    }
    workgroupBarrier();
    ${TILE_FMA}
    workgroupBarrier();
  }

  for (var i = 0; i < 4; i++) {
    let m = row0 + ty * 4 + i;
    if (m < ROWS) {
      let n = m / (HQ * WQ);
      let rem = m - n * (HQ * WQ);
      let ihq = rem / WQ;
      let iwq = rem - ihq * WQ;
      let col = col0 + tx * 4;
      let o = ((n * IN_H + ihq * SH + RH) * IN_W + iwq * SW + RW) * IN_C + col;
      if (col < IN_C) { result[o] = acc[i].x; }
      if (col + 1 < IN_C) { result[o + 1] = acc[i].y; }
      if (col + 2 < IN_C) { result[o + 2] = acc[i].z; }
      if (col + 3 < IN_C) { result[o + 3] = acc[i].w; }
    }
  }
}
`;
}

/** dx through our per-class GEMMs; null where it does not apply (the caller falls back). */
export function conv2dBackpropInputWebgpu(args: Args): TensorInfo | null {
  const { dy, filter } = args.inputs;
  const a = args.attrs as unknown as { inputShape: Shape4; dataFormat?: string };
  if (!dy || !filter || dy.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  if ((a.dataFormat ?? 'NHWC') !== 'NHWC' || filter.shape.length !== 4) return null;
  const info = convInfoOf(a.inputShape, filter.shape as Shape4, args.attrs);
  if (!sameShape(dy.shape, info.outShape)) {
    throw new Error(`Conv2DBackpropInput: dy has shape [${dy.shape}] but the convolution's output has shape [${info.outShape}]`);
  }
  const backend = args.backend;
  const out = backend.makeTensorInfo(a.inputShape, 'float32');
  if (info.batchSize * info.inHeight * info.inWidth * info.inChannels === 0) return out;
  const t = tileFor(info.inChannels);
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  try {
    for (let rh = 0; rh < sh; rh++) {
      for (let rw = 0; rw < sw; rw++) {
        const hq = rh < info.inHeight ? Math.ceil((info.inHeight - rh) / sh) : 0;
        const wq = rw < info.inWidth ? Math.ceil((info.inWidth - rw) / sw) : 0;
        const rows = info.batchSize * hq * wq;
        if (rows === 0) continue;
        const th = tapsFor(rh, info.padInfo.top, info.filterHeight, info.dilationHeight, sh);
        const tw = tapsFor(rw, info.padInfo.left, info.filterWidth, info.dilationWidth, sw);
        const steps = Math.ceil((th.n * tw.n * info.outChannels) / t.TK);
        const c = { rh, rw, hq, wq, th, tw, steps };
        const [dyTiles, dzTiles] = split2(Math.ceil(rows / t.TM));
        const key = [info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels, info.filterWidth,
          sh, sw, rh, rw, hq, wq, th.k0, th.step, th.n, th.off0, th.offStep, tw.k0, tw.step, tw.n, tw.off0, tw.offStep].join('_');
        const p = program({
          key: `conv2dBackpropInput_${key}`,
          inputs: ['dy', 'W'],
          outputShape: a.inputShape,
          workgroupSize: t.T,
          dispatch: [Math.ceil(info.inChannels / t.TN), dyTiles, dzTiles],
          code: classShader(info, c),
        });
        backend.runWebGPUProgram(p, [dy, filter], 'float32', undefined, out);
      }
    }
  } catch (err) {
    backend.disposeData(out.dataId);
    throw err;
  }
  return out;
}

export function conv2dBackpropInputConfig() {
  return withFallback(Conv2DBackpropInput, (args) => conv2dBackpropInputWebgpu(args));
}
