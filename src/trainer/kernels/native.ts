// Native kernels for the wasm backend: convolutions (forward with bias + ReLU fused, backward data,
// backward filter) on oneDNN and max-pooling's gradient, from the optional addon in native/
// (built by `npm install` where a C++ compiler and libdnnl-dev are present; see native/README.md).
// They run in place on the wasm heap (the addon gets Float32Array views of it), on every core.
//
// The model code does not change: these replace the wasm backend's kernels of the same name, and
// anything they do not cover (NCHW, other activations, other dtypes) goes to the kernel they
// replaced. Set TRICKBENCH_NATIVE=0 to train on wasm alone.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  backend_util,
  BatchMatMul,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  _FusedMatMul,
  getKernel,
  MaxPool,
  MaxPoolGrad,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

interface Addon {
  convForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, y: Float32Array, geom: Int32Array, relu: boolean): void;
  convBackwardData(dy: Float32Array, w: Float32Array, dx: Float32Array, geom: Int32Array): void;
  convBackwardWeights(x: Float32Array, dy: Float32Array, dw: Float32Array, db: Float32Array | null, geom: Int32Array): void;
  convBackward(dy: Float32Array, x: Float32Array, w: Float32Array, y: Float32Array | null, dx: Float32Array | null, dw: Float32Array, db: Float32Array | null, geom: Int32Array): void;
  maxPoolForward(x: Float32Array, y: Float32Array, geom: Int32Array): void;
  maxPoolBackward(dy: Float32Array, x: Float32Array, dx: Float32Array, geom: Int32Array): void;
  bnForward(x: Float32Array, plus: Float32Array | null, z: Float32Array | null, residual: Float32Array | null, gamma: Float32Array, beta: Float32Array, y: Float32Array, mean: Float32Array, variance: Float32Array, inv: Float32Array, m: number, c: number, eps: number, relu: boolean): void;
  bnBackward(dy: Float32Array, y: Float32Array | null, z: Float32Array, mean: Float32Array, inv: Float32Array, gamma: Float32Array, dz: Float32Array, dGamma: Float32Array, dBeta: Float32Array, dResidual: Float32Array | null, m: number, c: number): void;
  matMul(a: Float32Array, b: Float32Array, bias: Float32Array | null, out: Float32Array, geom: Int32Array, relu: boolean): void;
  sgdStep(items: [Float32Array, Float32Array, Float32Array | null, Float32Array, Float32Array | null, number][], lr: number, momentum: number, nesterov: boolean): void;
  info(): { threads: number; onednn: string; lastImpl: string };
  setThreads(n: number): void;
}

export interface NativeStatus {
  loaded: boolean;
  /** e.g. 'oneDNN 2.6.3, 2 threads'; or why the addon is not used. */
  detail: string;
}

const ADDON_FILE = path.join('native', 'build', 'Release', 'trickbench_native.node');

/** The addon's path: TRICKBENCH_NATIVE_ADDON, else native/build/Release above this module. */
export function findAddon(): string | null {
  const explicit = process.env.TRICKBENCH_NATIVE_ADDON;
  if (explicit) return explicit;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, ADDON_FILE);
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

let addon: Addon | null = null;
let status: NativeStatus | null = null;

/** Loads the addon once. Never throws: a missing or broken addon means wasm alone, with the reason. */
export function loadNative(): NativeStatus {
  if (status) return status;
  if (process.env.TRICKBENCH_NATIVE === '0') return (status = { loaded: false, detail: 'disabled by TRICKBENCH_NATIVE=0' });
  const file = findAddon();
  if (!file) return (status = { loaded: false, detail: 'native kernels not built (npm install builds them where libdnnl-dev is installed)' });
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
    const threads = Number(process.env.TRICKBENCH_NATIVE_THREADS);
    if (Number.isInteger(threads) && threads > 0) addon.setThreads(threads);
    const i = addon.info();
    return (status = { loaded: true, detail: `oneDNN ${i.onednn}, ${i.threads} thread${i.threads === 1 ? '' : 's'}` });
  } catch (err) {
    addon = null;
    return (status = { loaded: false, detail: `native kernels failed to load from ${file}: ${(err as Error).message}` });
  }
}

type Args = Parameters<KernelFunc>[0];
type Conv2DInfo = backend_util.Conv2DInfo;

const heap = (backend: BackendWasm, t: TensorInfo) => backend.typedArrayFromHeap(t) as Float32Array;

/** The 17 numbers the addon's convolutions take, or null for what it does not do (NCHW). */
function convGeom(info: Conv2DInfo): Int32Array | null {
  if (info.dataFormat !== 'channelsLast') return null;
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  // oneDNN checks out = floor((in + padNear + padFar - effectiveFilter) / stride) + 1. tfjs'
  // far-side pads can exceed what the last window reads ('same' with stride 2), or a 'valid' conv
  // can leave input rows unread: pass the far pad the last window really reads, at least 0.
  const bottom = Math.max(0, (outHeight - 1) * strideHeight + (filterHeight - 1) * dilationHeight + 1 - inHeight - top);
  const right = Math.max(0, (outWidth - 1) * strideWidth + (filterWidth - 1) * dilationWidth + 1 - inWidth - left);
  const fits = (inSize: number, near: number, far: number, eff: number, stride: number, out: number) =>
    Math.floor((inSize + near + far - eff) / stride) + 1 === out;
  if (top < 0 || left < 0) return null;
  if (!fits(inHeight, top, bottom, (filterHeight - 1) * dilationHeight + 1, strideHeight, outHeight)) return null;
  if (!fits(inWidth, left, right, (filterWidth - 1) * dilationWidth + 1, strideWidth, outWidth)) return null;
  return Int32Array.from([
    batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth,
    top, left, bottom, right,
  ]);
}

function checkDy(kernel: string, dy: TensorInfo, info: Conv2DInfo, xShape: readonly number[], filterShape: readonly number[]): void {
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== info.outShape[i])) {
    throw new Error(
      `${kernel} (wasm, native): dy has shape [${dy.shape}] but the convolution of x [${xShape}] ` +
        `with filter [${filterShape}] produces [${info.outShape}]`,
    );
  }
}

const allFloat = (...ts: (TensorInfo | undefined)[]) => ts.every((t) => t === undefined || t.dtype === 'float32');

/** Wraps a native implementation: `run` returns null when it does not apply, then `fallback` runs. */
function withFallback(name: string, run: (args: Args) => TensorInfo | null): KernelConfig {
  const previous = getKernel(name, 'wasm');
  return {
    kernelName: name,
    backendName: 'wasm',
    // The wasm kernel's setup (binding its wasm functions) must still run for the fallback.
    ...(previous?.setupFunc ? { setupFunc: previous.setupFunc } : {}),
    kernelFunc: ((args: Args) => {
      const out = run(args);
      if (out) return out;
      if (!previous) throw new Error(`${name} (wasm): no kernel for these arguments`);
      return previous.kernelFunc(args);
    }) as KernelFunc,
  };
}

function convForward(args: Args, fused: boolean): TensorInfo | null {
  const backend = args.backend as BackendWasm;
  const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const a = args.attrs as unknown as { strides: number; pad: 'valid' | 'same' | number | backend_util.ExplicitPadding; dilations: number; dimRoundingMode?: 'floor' | 'round' | 'ceil'; dataFormat: 'NHWC' | 'NCHW'; activation?: string };
  const activation = fused ? (a.activation ?? 'linear') : 'linear';
  if (!x || !filter || !allFloat(x, filter, bias) || preluActivationWeights) return null;
  if (activation !== 'linear' && activation !== 'relu') return null;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    a.strides, a.dilations, a.pad, a.dimRoundingMode, false, backend_util.convertConv2DDataFormat(a.dataFormat),
  );
  const geom = convGeom(info);
  // A bias must be one value per output channel (tfjs also allows a broadcastable bias).
  if (!geom || (bias && bias.shape.reduce((p, d) => p * d, 1) !== info.outChannels)) return null;
  const out = backend.makeOutput(info.outShape, 'float32');
  addon!.convForward(heap(backend, x), heap(backend, filter), bias ? heap(backend, bias) : null, heap(backend, out), geom, activation === 'relu');
  return out;
}

function convBackpropInput(args: Args): TensorInfo | null {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as Record<string, TensorInfo | undefined>;
  const a = args.attrs as unknown as { strides: number; pad: 'valid' | 'same' | number; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape: [number, number, number, number]; dilations?: number };
  if (!dy || !filter || !allFloat(dy, filter)) return null;
  const info = backend_util.computeConv2DInfo(
    a.inputShape, filter.shape as [number, number, number, number], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode,
    false, backend_util.convertConv2DDataFormat(a.dataFormat),
  );
  const geom = convGeom(info);
  if (!geom) return null;
  checkDy(Conv2DBackpropInput, dy, info, a.inputShape, filter.shape);
  const dx = backend.makeOutput([...a.inputShape], 'float32');
  addon!.convBackwardData(heap(backend, dy), heap(backend, filter), heap(backend, dx), geom);
  return dx;
}

function convBackpropFilter(args: Args): TensorInfo | null {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as Record<string, TensorInfo | undefined>;
  const a = args.attrs as unknown as { strides: number; pad: 'valid' | 'same' | number; dataFormat: 'NHWC' | 'NCHW'; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: [number, number, number, number]; dilations?: number };
  if (!x || !dy || !allFloat(x, dy)) return null;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], a.filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode,
    false, backend_util.convertConv2DDataFormat(a.dataFormat),
  );
  const geom = convGeom(info);
  if (!geom) return null;
  checkDy(Conv2DBackpropFilter, dy, info, x.shape, a.filterShape);
  const dw = backend.makeOutput([...a.filterShape], 'float32');
  addon!.convBackwardWeights(heap(backend, x), heap(backend, dy), heap(backend, dw), null, geom);
  return dw;
}

type PoolAttrs = { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil' };

function poolGeom(shape: readonly number[], a: PoolAttrs): [Int32Array, number[]] {
  const info = backend_util.computePool2DInfo(shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const geom = Int32Array.from([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    info.padInfo.top, info.padInfo.left,
  ]);
  return [geom, info.outShape];
}

function maxPool(args: Args): TensorInfo | null {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as Record<string, TensorInfo | undefined>;
  if (!x || !allFloat(x) || x.shape.length !== 4) return null;
  const [geom, outShape] = poolGeom(x.shape, args.attrs as unknown as PoolAttrs);
  const y = backend.makeOutput(outShape, 'float32');
  addon!.maxPoolForward(heap(backend, x), heap(backend, y), geom);
  return y;
}

function maxPoolGrad(args: Args): TensorInfo | null {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as Record<string, TensorInfo | undefined>;
  if (!dy || !input || !allFloat(dy, input) || input.shape.length !== 4) return null;
  const [geom] = poolGeom(input.shape, args.attrs as unknown as PoolAttrs);
  const dx = backend.makeOutput([...input.shape], 'float32');
  addon!.maxPoolBackward(heap(backend, dy), heap(backend, input), heap(backend, dx), geom);
  return dx;
}

/** BatchMatMul and _FusedMatMul (bias, ReLU) on oneDNN. Leading dims are flattened into one batch;
 * the two batches must be equal or one of them 1 (else the wasm kernel, which broadcasts more). */
function matMul(args: Args, fused: boolean): TensorInfo | null {
  const backend = args.backend as BackendWasm;
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const { transposeA, transposeB, activation } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string };
  const act = fused ? (activation ?? 'linear') : 'linear';
  if (!a || !b || !allFloat(a, b, bias) || preluActivationWeights || (act !== 'linear' && act !== 'relu')) return null;
  if (a.shape.length < 2 || b.shape.length < 2) return null;
  const [ra, rb] = [a.shape.length, b.shape.length];
  const M = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const Kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (K !== Kb) return null;
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
  const [BA, BB] = [size(outerA), size(outerB)];
  const same = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  if (!same && BA !== 1 && BB !== 1) return null;
  if (bias && size(bias.shape) !== N) return null;
  const outer = backend_util.assertAndGetBroadcastShape(outerA, outerB);
  if (size(outer) !== Math.max(BA, BB)) return null;
  if (M * N * K === 0) return null; // empty products: the wasm kernel's business
  const out = backend.makeOutput([...outer, M, N], 'float32');
  const geom = Int32Array.from([BA, BB, M, K, N, transposeA ? 1 : 0, transposeB ? 1 : 0]);
  addon!.matMul(heap(backend, a), heap(backend, b), bias ? heap(backend, bias) : null, heap(backend, out), geom, act === 'relu');
  return out;
}

/** SGD with momentum for all of a model's parameters in one call (see optim/optimizers.ts).
 * Inputs p<i>, g<i> and, after the first step, b<i> (momentum buffer); outputs, per parameter,
 * the new value and (with momentum) the new buffer. */
export const NATIVE_SGD = 'TrickbenchSgd';

export interface NativeSgdAttrs {
  count: number;
  lr: number;
  momentum: number;
  nesterov: boolean;
  /** Per parameter: its weight decay, and whether b<i> is given. */
  weightDecay: number[];
  hasBuffer: boolean[];
}

function nativeSgd(args: Args): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const inputs = args.inputs as Record<string, TensorInfo | undefined>;
  const a = args.attrs as unknown as NativeSgdAttrs;
  const params: [TensorInfo, TensorInfo, TensorInfo | undefined, TensorInfo, TensorInfo | null][] = [];
  const outs: TensorInfo[] = [];
  for (let i = 0; i < a.count; i++) {
    const [p, g, b] = [inputs[`p${i}`], inputs[`g${i}`], a.hasBuffer[i] ? inputs[`b${i}`] : undefined];
    if (!p || !g || (a.hasBuffer[i] && !b) || !allFloat(p, g, b)) throw new Error(`${NATIVE_SGD}: parameter ${i}: float32 p, g${a.hasBuffer[i] ? ' and b' : ''} are required`);
    const pOut = backend.makeOutput([...p.shape], 'float32');
    const bOut = a.momentum !== 0 ? backend.makeOutput([...p.shape], 'float32') : null;
    outs.push(pOut, ...(bOut ? [bOut] : []));
    params.push([p, g, b, pOut, bOut]);
  }
  // Views only after every allocation: growing the heap detaches the earlier ones.
  const items = params.map(([p, g, b, pOut, bOut], i): Parameters<Addon['sgdStep']>[0][number] => [
    heap(backend, p), heap(backend, g), b ? heap(backend, b) : null, heap(backend, pOut), bOut ? heap(backend, bOut) : null, a.weightDecay[i] ?? 0,
  ]);
  addon!.sgdStep(items, a.lr, a.momentum, a.nesterov);
  return outs;
}

/** The backward pass of relu?(conv(x, filter) + bias) in one call (see models/native-conv.ts):
 * inputs dy, x, filter and, for a ReLU block, its output y; outputs [dx, dFilter, dBias?]. */
export const NATIVE_CONV_BACKWARD = 'TrickbenchConvBackward';

export interface NativeConvBackwardAttrs {
  strides: number;
  pad: 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
  hasBias: boolean;
  /** false: dx is all zeros, not computed (x is data). */
  inputGradient: boolean;
}

function nativeConvBackward(args: Args): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { dy, x, filter, y } = args.inputs as Record<string, TensorInfo | undefined>;
  const a = args.attrs as unknown as NativeConvBackwardAttrs;
  if (!dy || !x || !filter || !allFloat(dy, x, filter, y)) throw new Error(`${NATIVE_CONV_BACKWARD}: float32 dy, x and filter are required`);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number], a.strides, 1,
    a.pad as backend_util.ExplicitPadding, undefined, false, 'channelsLast',
  );
  const geom = convGeom(info);
  if (!geom) throw new Error(`${NATIVE_CONV_BACKWARD}: unsupported padding ${JSON.stringify(a.pad)}`);
  const dx = backend.makeOutput([...x.shape], 'float32');
  if (!a.inputGradient) heap(backend, dx).fill(0);
  const dw = backend.makeOutput([...filter.shape], 'float32');
  const db = a.hasBias ? backend.makeOutput([info.outChannels], 'float32') : null;
  addon!.convBackward(
    heap(backend, dy), heap(backend, x), heap(backend, filter), y ? heap(backend, y) : null,
    a.inputGradient ? heap(backend, dx) : null, heap(backend, dw), db ? heap(backend, db) : null, geom,
  );
  return db ? [dx, dw, db] : [dx, dw];
}

/** Training-mode BatchNorm, relu?(BN(x + plus) + residual) over every axis but the last (see
 * models/batch-norm.ts). Inputs x, gamma, beta, plus?, residual?; outputs [y, mean, biased
 * variance, inv = 1/sqrt(var + eps), z = x + plus (only with plus)]. */
export const NATIVE_BATCH_NORM = 'TrickbenchBatchNorm';
/** Its gradient. Inputs dy, z (x, or x + plus), mean, inv, gamma, and y for a ReLU block;
 * outputs [dz, dGamma, dBeta, dResidual (only with hasResidual)]. */
export const NATIVE_BATCH_NORM_GRAD = 'TrickbenchBatchNormGrad';

function nativeBatchNorm(args: Args): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x, gamma, beta, plus, residual } = args.inputs as Record<string, TensorInfo | undefined>;
  const { epsilon, relu } = args.attrs as unknown as { epsilon: number; relu: boolean };
  if (!x || !gamma || !beta || !allFloat(x, gamma, beta, plus, residual)) throw new Error(`${NATIVE_BATCH_NORM}: float32 x, gamma and beta are required`);
  const c = x.shape[x.shape.length - 1]!;
  const m = x.shape.reduce((p, d) => p * d, 1) / c;
  const y = backend.makeOutput([...x.shape], 'float32');
  const [mean, variance, inv] = [0, 1, 2].map(() => backend.makeOutput([c], 'float32'));
  const z = plus ? backend.makeOutput([...x.shape], 'float32') : null;
  addon!.bnForward(
    heap(backend, x), plus ? heap(backend, plus) : null, z ? heap(backend, z) : null, residual ? heap(backend, residual) : null,
    heap(backend, gamma), heap(backend, beta), heap(backend, y), heap(backend, mean!), heap(backend, variance!), heap(backend, inv!),
    m, c, epsilon, relu,
  );
  return z ? [y, mean!, variance!, inv!, z] : [y, mean!, variance!, inv!];
}

function nativeBatchNormGrad(args: Args): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { dy, z, mean, inv, gamma, y } = args.inputs as Record<string, TensorInfo | undefined>;
  const { hasResidual } = args.attrs as unknown as { hasResidual: boolean };
  if (!dy || !z || !mean || !inv || !gamma || !allFloat(dy, z, mean, inv, gamma, y)) throw new Error(`${NATIVE_BATCH_NORM_GRAD}: missing or non-float32 input`);
  const c = z.shape[z.shape.length - 1]!;
  const m = z.shape.reduce((p, d) => p * d, 1) / c;
  const dz = backend.makeOutput([...z.shape], 'float32');
  const dGamma = backend.makeOutput([c], 'float32');
  const dBeta = backend.makeOutput([c], 'float32');
  const dRes = hasResidual ? backend.makeOutput([...z.shape], 'float32') : null;
  addon!.bnBackward(
    heap(backend, dy), y ? heap(backend, y) : null, heap(backend, z), heap(backend, mean), heap(backend, inv), heap(backend, gamma),
    heap(backend, dz), heap(backend, dGamma), heap(backend, dBeta), dRes ? heap(backend, dRes) : null, m, c,
  );
  return dRes ? [dz, dGamma, dBeta, dRes] : [dz, dGamma, dBeta];
}

/** Whether the native ops (fused conv, BatchNorm) can run now: wasm is the backend and the addon
 * is loaded. */
export function nativeConvActive(backendName: string): boolean {
  return backendName === 'wasm' && addon !== null && getKernel(NATIVE_CONV_BACKWARD, 'wasm') !== undefined;
}

/** Whether the fused SGD kernel can run now. */
export function nativeSgdActive(backendName: string): boolean {
  return backendName === 'wasm' && addon !== null && getKernel(NATIVE_SGD, 'wasm') !== undefined;
}

const registered = new Map<string, KernelFunc>();

/** Whether fn is one of our native kernels (which keep the kernel they replaced as fallback). */
export function isNativeKernel(fn: KernelFunc): boolean {
  return [...registered.values()].includes(fn);
}

/**
 * Puts the native kernels in place of the wasm ones (after registerWasmTrainingKernels, whose
 * kernels become the fallbacks). Returns the addon's status; safe to call repeatedly.
 */
export function registerNativeKernels(): NativeStatus {
  const s = loadNative();
  if (!s.loaded) return s;
  const configs: [string, (args: Args) => TensorInfo | null][] = [
    [Conv2D, (a) => convForward(a, false)],
    [FusedConv2D, (a) => convForward(a, true)],
    [Conv2DBackpropInput, convBackpropInput],
    [Conv2DBackpropFilter, convBackpropFilter],
    [MaxPool, maxPool],
    [MaxPoolGrad, maxPoolGrad],
    [BatchMatMul, (a) => matMul(a, false)],
    [_FusedMatMul, (a) => matMul(a, true)],
  ];
  for (const [name, run] of configs) {
    const existing = getKernel(name, 'wasm');
    if (existing && registered.get(name) === existing.kernelFunc) continue; // ours already
    const config = withFallback(name, run);
    if (existing) unregisterKernel(name, 'wasm');
    registerKernel(config);
    registered.set(name, config.kernelFunc);
  }
  const own: [string, (args: Args) => TensorInfo[]][] = [
    [NATIVE_CONV_BACKWARD, nativeConvBackward],
    [NATIVE_BATCH_NORM, nativeBatchNorm],
    [NATIVE_BATCH_NORM_GRAD, nativeBatchNormGrad],
    [NATIVE_SGD, nativeSgd],
  ];
  for (const [kernelName, kernelFunc] of own) {
    if (!getKernel(kernelName, 'wasm')) registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as KernelFunc });
  }
  return s;
}

/** The addon's description of the implementation oneDNN chose last (for the bench's report). */
export function nativeLastImpl(): string {
  return addon?.info().lastImpl ?? '';
}
