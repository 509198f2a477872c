// BatchMatMul on 'webgpu' for one shape: a few rows times a tall matrix, C[M, N] = A[M, K] B[K, N]
// with M <= 8 and K in the thousands. That is how our BatchNorm (models/batch-norm.ts) takes its
// per-channel sums, ones[1, m] x X[m, C], four times per layer and step (mean, variance, and the
// gradients of beta and gamma), m = batch x H x W (131072 for ResNet-20 at batch 128).
//
// Why: tfjs-webgpu 4.22 sends such a product (few workgroups by its 32x32 count) to
// MatMulReduceProgram, one workgroup per output element, each reading its whole column of X with a
// stride of C floats: C = 16 workgroups for a whole GPU. Ours splits K: the workgroups of pass 1
// each sum a chunk of rows for a block of columns (consecutive invocations read consecutive
// columns, coalesced), reduce their row lanes in shared memory and write one partial row per
// chunk; pass 2 sums the chunks (WGSL has no float atomics). Every other product (transposes,
// batches, bias/activation, more rows or a short K) goes to tfjs-webgpu's kernel.
import { BatchMatMul, type TensorInfo } from '@tensorflow/tfjs-core';
import { MAX_DISPATCH, program, withFallback, type Args } from './common';
import { reduceSlices } from './conv2d-backprop-filter';

/** The most rows of A (M) we take; BatchNorm has 1. */
const MAX_ROWS = 8;
/** The least K worth splitting (below it tfjs-webgpu's kernels have enough parallel work). */
const MIN_K = 4096;
const WG = 256;
const TARGET_WORKGROUPS = 2048;

export interface TallPlan {
  M: number;
  N: number;
  K: number;
  /** Columns per workgroup (one per invocation of a lane) and row lanes (WG / CW). */
  CW: number;
  RL: number;
  /** Rows of B each workgroup sums (a multiple of RL), and the number of such chunks. */
  chunk: number;
  splits: number;
}

export function planTall(M: number, N: number, K: number): TallPlan {
  const CW = N <= 16 ? 16 : N <= 32 ? 32 : 64;
  const RL = WG / CW;
  const colTiles = Math.ceil(N / CW);
  // At least 16 rows per invocation, and enough chunks to fill a large GPU.
  let chunk = Math.max(RL * 16, Math.ceil(K / Math.max(1, Math.floor(TARGET_WORKGROUPS / colTiles))));
  chunk = Math.ceil(chunk / RL) * RL;
  return { M, N, K, CW, RL, chunk, splits: Math.ceil(K / chunk) };
}

function tallShader(p: TallPlan): string {
  return `
const M = ${p.M};
const N = ${p.N};
const K = ${p.K};
const CW = ${p.CW};
const RL = ${p.RL};
const CHUNK = ${p.chunk};
var<workgroup> red : array<f32, ${WG * p.M}>;

fn main() {
  _ = uniforms.NAN; // a static use, so that the pipeline layout keeps tfjs-webgpu's uniform binding
  let t = i32(localIndex);
  let c = i32(workgroupId.x) * CW + t % CW;
  let lane = t / CW;
  let split = i32(workgroupId.y);
  let k0 = split * CHUNK;
  var acc : array<f32, M>;
  if (c < N) {
    for (var r = lane; r < CHUNK; r += RL) {
      let k = k0 + r;
      if (k < K) {
        let bv = B[k * N + c];
        for (var i = 0; i < M; i++) {
          acc[i] = fma(A[i * K + k], bv, acc[i]);
        }
      }
    }
  }
  for (var i = 0; i < M; i++) {
    red[i * ${WG} + t] = acc[i];
  }
  workgroupBarrier();
  for (var s = RL / 2; s > 0; s = s / 2) {
    if (lane < s) {
      for (var i = 0; i < M; i++) {
        red[i * ${WG} + t] += red[i * ${WG} + t + s * CW];
      }
    }
    workgroupBarrier();
  }
  if (lane == 0 && c < N) {
    for (var i = 0; i < M; i++) {
      result[(split * M + i) * N + c] = red[i * ${WG} + t];
    }
  }
}
`;
}

/** The tall product through our two passes, or null where it does not apply. */
export function batchMatMulTallWebgpu(args: Args): TensorInfo | null {
  const { a, b } = args.inputs;
  const attrs = args.attrs as unknown as { transposeA?: boolean; transposeB?: boolean };
  if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  if (attrs.transposeA || attrs.transposeB) return null;
  if (a.shape.length !== b.shape.length || a.shape.length < 2 || a.shape.length > 3) return null;
  if (a.shape.length === 3 && (a.shape[0] !== 1 || b.shape[0] !== 1)) return null;
  const r = a.shape.length;
  const M = a.shape[r - 2]!;
  const K = a.shape[r - 1]!;
  const N = b.shape[r - 1]!;
  if (b.shape[r - 2] !== K || M < 1 || M > MAX_ROWS || K < MIN_K || N < 1) return null;
  const p = planTall(M, N, K);
  const colTiles = Math.ceil(N / p.CW);
  if (colTiles > MAX_DISPATCH || p.splits > MAX_DISPATCH) return null;
  const outShape = [...a.shape.slice(0, r - 2), M, N];
  const backend = args.backend;
  const pass1 = program({
    key: `batchMatMulTall_${M}_${N}_${K}_${p.CW}_${p.chunk}`,
    inputs: ['A', 'B'],
    outputShape: p.splits === 1 ? outShape : [p.splits, M * N],
    workgroupSize: WG,
    dispatch: [colTiles, p.splits, 1],
    code: tallShader(p),
  });
  const partial = backend.runWebGPUProgram(pass1, [a, b], 'float32');
  if (p.splits === 1) return partial;
  const out = reduceSlices(backend, partial, p.splits, M * N, outShape);
  backend.disposeData(partial.dataId);
  return out;
}

export function batchMatMulConfig() {
  return withFallback(BatchMatMul, (args) => batchMatMulTallWebgpu(args));
}
