// Shared pieces of our WebGPU kernels: the program object tfjs-webgpu's runWebGPUProgram takes,
// the register-with-fallback wrapper, and the tiled GEMM core both convolution gradients use.
//
// Our shaders bake every shape parameter in as a WGSL `const` (and into the shader key): the index
// arithmetic of an implicit GEMM is then divisions by constants, which compilers turn into
// multiplications, and the tile loops have constant trip counts. A model has a handful of distinct
// convolution shapes, so the pipelines compiled per shape are few and cached by tfjs-webgpu.
import { backend_util, getKernel, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
// Types only: importing tfjs-backend-webgpu's module here would run it before navigator.gpu exists.
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

export type { WebGPUBackend, WebGPUProgram };

export interface Args {
  inputs: Record<string, TensorInfo | undefined>;
  backend: WebGPUBackend;
  attrs: NamedAttrMap;
}

export type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
export type Shape4 = [number, number, number, number];

/**
 * Wraps our implementation of `name` on 'webgpu': `run` returns null for arguments it does not
 * handle (NCHW, other dtypes), and then the kernel we replaced (tfjs-webgpu's, looked up now,
 * before ours is registered) runs.
 */
export function withFallback(name: string, run: (args: Args) => TensorInfo | null): KernelConfig & { previous: KernelConfig | undefined } {
  const previous = getKernel(name, 'webgpu');
  return {
    kernelName: name,
    backendName: 'webgpu',
    previous,
    kernelFunc: ((args: Args) => {
      const out = run(args);
      if (out) return out;
      if (!previous) throw new Error(`${name} (webgpu): no kernel for these arguments`);
      return previous.kernelFunc(args as unknown as Parameters<KernelFunc>[0]);
    }) as unknown as KernelFunc,
  };
}

/** The most workgroups one dispatch dimension may have (WebGPU's guaranteed minimum limit). */
export const MAX_DISPATCH = 65535;

/**
 * A program for backend.runWebGPUProgram whose WGSL we write ourselves: tfjs-webgpu adds its
 * preamble (bindings `result`, one `array<f32>` per input name, `uniforms` with the shapes) and
 * calls our `fn main()`. The dispatch layout is given a rank that matches no output, so that
 * tfjs-webgpu neither derives output coordinates for us nor passes main a flat index: our shaders
 * read `workgroupId` and `localIndex` themselves and the dispatch is ours.
 */
export function program(o: {
  key: string;
  inputs: string[];
  outputShape: number[];
  workgroupSize: number;
  dispatch: [number, number, number];
  code: string;
}): WebGPUProgram {
  if (o.dispatch.some((d) => d > MAX_DISPATCH || d < 1)) throw new Error(`${o.key}: dispatch ${o.dispatch} out of range`);
  return {
    variableNames: o.inputs,
    outputShape: o.outputShape,
    shaderKey: `trickbench_${o.key}`,
    dispatchLayout: { x: [], y: Array.from({ length: o.outputShape.length + 1 }, (_, i) => i) },
    dispatch: o.dispatch,
    workgroupSize: [o.workgroupSize, 1, 1],
    getUserCode: () => o.code,
  };
}

/**
 * An elementwise program over `shape` in tfjs-webgpu's own convention: a flat dispatch, `main`
 * gets the element index, the `uniforms` struct has `size` and the fields declared in `uniforms`
 * (e.g. 'lr : f32,'), whose values runWebGPUProgram takes in the same order; a dispatch wider than
 * the per-dimension limit is folded into y and z by tfjs-webgpu.
 */
export function elementwise(o: { key: string; inputs: string[]; shape: readonly number[]; body: string; uniforms?: string; workgroupSize: number }): WebGPUProgram {
  const size = o.shape.reduce((a, b) => a * b, 1);
  return {
    variableNames: o.inputs,
    outputShape: [...o.shape],
    shaderKey: `trickbench_${o.key}`,
    dispatchLayout: { x: o.shape.map((_, i) => i) },
    dispatch: [Math.ceil(size / o.workgroupSize), 1, 1],
    workgroupSize: [o.workgroupSize, 1, 1],
    size: true,
    ...(o.uniforms ? { uniforms: o.uniforms } : {}),
    getUserCode: () => `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${o.body}
        }
      }`,
  } as WebGPUProgram;
}

/** Splits `tiles` workgroups over dispatch y and z (y first), within the per-dimension limit. */
export function split2(tiles: number): [number, number] {
  const y = Math.min(tiles, MAX_DISPATCH);
  return [y, Math.ceil(tiles / y)];
}

/**
 * Tile geometry of the GEMM core: C[M, N] (+)= A[M, K] * B[K, N], one workgroup per TM x TN
 * tile, TK = 16 deep in shared memory; each invocation holds a 4 x 4 block of C (rows 4 ty ..
 * 4 ty + 3, columns 4 tx .. 4 tx + 3), so the workgroup is TM/4 x TN/4 invocations (32 to 256)
 * and each step of the inner loop is two vec4 reads of shared memory for 16 multiply-adds.
 * TN follows N (16, 32 or 64) and TM is 32 where M is at most 32 (a 1x1 filter's or the first
 * layer's weight gradient), else 64: less of the tile multiplies padding.
 */
export interface Tile {
  TM: number;
  TN: number;
  TK: number;
  /** Invocations along N (TN / 4). */
  WX: number;
  /** Invocations per workgroup (TM/4 x WX: a multiple of TM and of TK). */
  T: number;
  /** vec4s of B each invocation stages per step (TK x TN/4 over T invocations). */
  BR: number;
}

export function tileFor(n: number, m = Infinity): Tile {
  const TN = n <= 16 ? 16 : n <= 32 ? 32 : 64;
  const TM = m <= 32 ? 32 : 64;
  const TK = 16;
  const WX = TN / 4;
  const T = (TM / 4) * WX;
  return { TM, TN, TK, WX, T, BR: (TK * WX) / T };
}

/** WGSL constants of a tile (As: TK x (TM/4 + 1) vec4s, Bs: TK x TN/4 vec4s: < 9 KiB). */
export function tileDecls(t: Tile): string {
  return `
const TM = ${t.TM};
const TN = ${t.TN};
const TK = ${t.TK};
const WX = ${t.WX};
const T = ${t.T};
const BR = ${t.BR};
// A's rows of one kk are padded by a vec4 (AS_ROW = TM/4 + 1): kernels that stage A with kk
// fastest across invocations then write 2-way instead of 16-way bank-conflicted.
const AS_ROW = ${t.TM / 4 + 1};
var<workgroup> As : array<vec4<f32>, ${t.TK * (t.TM / 4 + 1)}>;
var<workgroup> Bs : array<vec4<f32>, ${(t.TK * t.TN) / 4}>;
`;
}

/** Stores A[m][kk] of the tile (m, kk local). */
export const STORE_A = `
fn storeA(m : i32, kk : i32, v : f32) {
  As[kk * AS_ROW + m / 4][m % 4] = v;
}`;

/** The multiply of one staged tile: acc[i] += A[4 ty + i][kk] * B[kk][4 tx .. 4 tx + 3]. */
export const TILE_FMA = `
    for (var kk = 0; kk < TK; kk++) {
      let a = As[kk * AS_ROW + ty];
      let b = Bs[kk * WX + tx];
      acc[0] = fma(vec4<f32>(a.x), b, acc[0]);
      acc[1] = fma(vec4<f32>(a.y), b, acc[1]);
      acc[2] = fma(vec4<f32>(a.z), b, acc[2]);
      acc[3] = fma(vec4<f32>(a.w), b, acc[3]);
    }`;

/** Reads the convolution attributes every conv kernel takes, and its 2-D geometry. */
export function convInfoOf(
  inShape: Shape4,
  filterShape: Shape4,
  attrs: NamedAttrMap,
): backend_util.Conv2DInfo {
  const a = attrs as unknown as {
    strides: number | [number, number];
    pad: Pad;
    dilations?: number | [number, number];
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    dataFormat?: 'NHWC' | 'NCHW';
  };
  return backend_util.computeConv2DInfo(
    inShape,
    filterShape,
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(a.dataFormat ?? 'NHWC'),
  );
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
