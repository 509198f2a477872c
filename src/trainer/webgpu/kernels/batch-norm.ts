// BatchNorm in training mode on 'webgpu' (models/batch-norm.ts calls these inside its custom op):
// relu?(BN(x + plus) + residual) over the rows of a channel-last [M, C] view, M = N*H*W.
//
// Why: the tf-op path is 17-20 dispatches forward and ~15 backward per BatchNorm (adds, the
// ones x X channel sums with their split-K passes, rsqrt, the moving statistics, the mask, ...;
// 953 dispatches in a ResNet-20 step, 462 with these), and small models on a GPU are
// launch-bound. Here, per BatchNorm:
//   forward  1. statsPartial: per chunk of rows and channel, (count, mean, M2) [S, 3, C]
//            2. statsFinal:   per channel, Chan-combines the S chunks: [4, C] = mean, 1/sigma,
//                             gamma/sigma, biased variance (the backward keeps this tensor)
//            3. output:       y = relu?(((x + plus) - mean) / sigma * gamma + beta + residual)
//            4, 5. the moving mean and the moving variance ([C] each, tiny)
//   backward 1. gradPartial:  per chunk and channel, (sum dz, sum dz * xhat) [S, 2, C], dz = dy
//                             masked by y > 0 for a ReLU block, xhat recomputed from x (+ plus)
//            2, 3. dBeta, dGamma ([C] each: sums of the S chunks)
//            4. dx = gamma/sigma * (dz - dBeta/M - xhat * dGamma/M)  (= d plus)
//            (5. d residual = dz, only for a ReLU block with a residual; without ReLU it is dy)
// A tfjs-webgpu program writes exactly one output and cannot write its inputs, and the
// gradients of gamma and beta and the two moving statistics are separate [C] tensors: so each is
// a dispatch of its own (the alternative, recombining the chunk partials inside every workgroup
// of the elementwise kernels, would trade a ~C-thread dispatch for re-reading S x C partials per
// workgroup). Slicing one [2, C] result would cost a dispatch per slice as well.
//
// Numerics: the per-channel variance is Welford's update per invocation (each invocation walks a
// strided subset of one chunk's rows of one channel) and Chan et al.'s pairwise combination of
// (count, mean, M2) across invocations (a tree in shared memory) and chunks. Both only ever
// accumulate squared deviations from a running mean, so the result is accurate to a few ulp of
// the variance itself whatever the mean: E[z^2] - E[z]^2 in float32 cancels catastrophically
// when |mean| >> sigma (x = 100 +- 0.1: E[z^2] = 10000.003, whose float32 rounding alone is
// ~5e-4, a sixth of the variance), and a two-pass (mean, then squared deviations) method would
// read x twice and take another pair of dispatches. The cost, a division per element, is hidden
// behind the memory reads on a GPU.
//
// The numbers are those of the tf-op path: the same normalisation with the biased variance, the
// same rounding of 1/M, eps and the momenta (float32 constants), the same order of the elementwise
// arithmetic; only the summation order differs. Float32, any rank >= 2 (the last axis the
// channels); models/batch-norm.ts uses the tf-op path for anything else.
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { elementwise as elementwiseProgram, MAX_DISPATCH, program, type WebGPUBackend, type WebGPUProgram } from './common';

/** Invocations of a reduction workgroup (columns x row lanes) and of an elementwise one. */
const WG = 256;
/** Invocations of the per-channel combination (one workgroup per channel). */
const FINAL_WG = 64;
/** Workgroups the chunked reductions aim for: enough to fill a large GPU several times over. */
const TARGET_WORKGROUPS = 2048;

export interface BatchNormPlan {
  /** Rows (N*H*W) and channels. */
  M: number;
  C: number;
  /** Columns per workgroup (one per invocation of a row lane) and row lanes (WG / CW). */
  CW: number;
  RL: number;
  /** Rows each workgroup reduces (a multiple of RL), and the number of such chunks. */
  chunk: number;
  splits: number;
}

export function planBatchNorm(M: number, C: number, forceChunk?: number): BatchNormPlan {
  const CW = C <= 16 ? 16 : C <= 32 ? 32 : 64;
  const RL = WG / CW;
  const colTiles = Math.ceil(C / CW);
  // At least 16 rows per invocation, and enough chunks to fill a large GPU.
  let chunk = forceChunk ?? Math.max(RL * 16, Math.ceil(M / Math.max(1, Math.floor(TARGET_WORKGROUPS / colTiles))));
  chunk = Math.ceil(chunk / RL) * RL;
  return { M, C, CW, RL, chunk, splits: Math.ceil(M / chunk) };
}

/** Whether these kernels take a BatchNorm of x (else the caller uses the tf-op path). */
export function batchNormWebgpuApplies(x: tf.Tensor, ...others: (tf.Tensor | undefined)[]): boolean {
  if (x.rank < 2 || x.dtype !== 'float32' || others.some((t) => t !== undefined && t.dtype !== 'float32')) return false;
  const C = x.shape[x.rank - 1]!;
  const M = x.size / C;
  if (C < 1 || M < 1 || x.size >= 2 ** 31) return false;
  const p = planBatchNorm(M, C);
  return C <= MAX_DISPATCH && p.splits <= MAX_DISPATCH && Math.ceil(C / p.CW) <= MAX_DISPATCH;
}

const f32 = (v: number) => {
  const s = Math.fround(v).toString();
  return /[.eE]/.test(s) ? s : `${s}.0`;
};

/** (count, mean, M2) combination of Chan, Golub & LeVeque; a side with count 0 changes nothing. */
const CHAN = `
fn chan(a : vec3<f32>, b : vec3<f32>) -> vec3<f32> {
  if (b.x == 0.0) { return a; }
  let n = a.x + b.x;
  let d = b.y - a.y;
  let f = b.x / n;
  return vec3<f32>(n, a.y + d * f, a.z + b.z + d * d * a.x * f);
}`;

/** The head of a chunked reduction: invocation t sums column c over rows k0 + lane + j*RL. */
function chunkHead(p: BatchNormPlan): string {
  return `
const C = ${p.C};
const M = ${p.M};
const CW = ${p.CW};
const RL = ${p.RL};
const CHUNK = ${p.chunk};`;
}

function statsPartialShader(p: BatchNormPlan, plus: boolean): string {
  return `${chunkHead(p)}
${CHAN}
var<workgroup> red : array<vec3<f32>, ${WG}>;

fn main() {
  _ = uniforms.NAN; // a static use, so that the pipeline layout keeps tfjs-webgpu's uniform binding
  let t = i32(localIndex);
  let c = i32(workgroupId.x) * CW + t % CW;
  let lane = t / CW;
  let split = i32(workgroupId.y);
  let kEnd = min(split * CHUNK + CHUNK, M);
  // Welford: n, mean and M2 (the sum of squared deviations from the mean) of this invocation's rows.
  var n = 0.0;
  var mean = 0.0;
  var m2 = 0.0;
  if (c < C) {
    for (var k = split * CHUNK + lane; k < kEnd; k += RL) {
      let z = x[k * C + c]${plus ? ' + plus[k * C + c]' : ''};
      n += 1.0;
      let d = z - mean;
      mean += d / n;
      m2 += d * (z - mean);
    }
  }
  red[t] = vec3<f32>(n, mean, m2);
  workgroupBarrier();
  for (var s = RL / 2; s > 0; s = s / 2) {
    if (lane < s) {
      red[t] = chan(red[t], red[t + s * CW]);
    }
    workgroupBarrier();
  }
  if (lane == 0 && c < C) {
    let r = red[t];
    result[(split * 3) * C + c] = r.x;
    result[(split * 3 + 1) * C + c] = r.y;
    result[(split * 3 + 2) * C + c] = r.z;
  }
}
`;
}

function statsFinalShader(p: BatchNormPlan, epsilon: number): string {
  return `
const C = ${p.C};
const S = ${p.splits};
const EPS = ${f32(epsilon)};
${CHAN}
var<workgroup> red : array<vec3<f32>, ${FINAL_WG}>;

fn main() {
  _ = uniforms.NAN; // a static use, so that the pipeline layout keeps tfjs-webgpu's uniform binding
  let c = i32(workgroupId.x);
  let t = i32(localIndex);
  var a = vec3<f32>(0.0);
  for (var s = t; s < S; s += ${FINAL_WG}) {
    a = chan(a, vec3<f32>(partial[(s * 3) * C + c], partial[(s * 3 + 1) * C + c], partial[(s * 3 + 2) * C + c]));
  }
  red[t] = a;
  workgroupBarrier();
  for (var h = ${FINAL_WG / 2}; h > 0; h = h / 2) {
    if (t < h) {
      red[t] = chan(red[t], red[t + h]);
    }
    workgroupBarrier();
  }
  if (t == 0) {
    let r = red[0];
    let variance = r.z / r.x; // biased: BatchNorm normalises with it
    let inv = 1.0 / sqrt(variance + EPS);
    result[c] = r.y;
    result[C + c] = inv;
    result[2 * C + c] = gamma[c] * inv;
    result[3 * C + c] = variance;
  }
}
`;
}

function gradPartialShader(p: BatchNormPlan, plus: boolean, relu: boolean): string {
  return `${chunkHead(p)}
var<workgroup> red : array<vec2<f32>, ${WG}>;

fn main() {
  _ = uniforms.NAN; // a static use, so that the pipeline layout keeps tfjs-webgpu's uniform binding
  let t = i32(localIndex);
  let c = i32(workgroupId.x) * CW + t % CW;
  let lane = t / CW;
  let split = i32(workgroupId.y);
  let kEnd = min(split * CHUNK + CHUNK, M);
  var acc = vec2<f32>(0.0);
  if (c < C) {
    let mean = stats[c];
    let inv = stats[C + c];
    for (var k = split * CHUNK + lane; k < kEnd; k += RL) {
      let i = k * C + c;
      let g = ${relu ? 'select(0.0, dy[i], y[i] > 0.0)' : 'dy[i]'};
      let xhat = (x[i]${plus ? ' + plus[i]' : ''} - mean) * inv;
      acc += vec2<f32>(g, g * xhat);
    }
  }
  red[t] = acc;
  workgroupBarrier();
  for (var s = RL / 2; s > 0; s = s / 2) {
    if (lane < s) {
      red[t] += red[t + s * CW];
    }
    workgroupBarrier();
  }
  if (lane == 0 && c < C) {
    result[(split * 2) * C + c] = red[t].x;
    result[(split * 2 + 1) * C + c] = red[t].y;
  }
}
`;
}

/** out[c] = sum over the S chunks of partial[s, row, c] (rows of `rows`). */
function chunkSumShader(p: BatchNormPlan, rows: number, row: number): string {
  return `
const C = ${p.C};
const S = ${p.splits};
var<workgroup> red : array<f32, ${FINAL_WG}>;

fn main() {
  _ = uniforms.NAN; // a static use, so that the pipeline layout keeps tfjs-webgpu's uniform binding
  let c = i32(workgroupId.x);
  let t = i32(localIndex);
  var a = 0.0;
  for (var s = t; s < S; s += ${FINAL_WG}) {
    a += partial[(s * ${rows} + ${row}) * C + c];
  }
  red[t] = a;
  workgroupBarrier();
  for (var h = ${FINAL_WG / 2}; h > 0; h = h / 2) {
    if (t < h) {
      red[t] += red[t + h];
    }
    workgroupBarrier();
  }
  if (t == 0) {
    result[c] = red[0];
  }
}
`;
}

/** An elementwise program of BatchNorm's over `shape` (common.ts's, at our workgroup size). */
const elementwise = (key: string, inputs: string[], shape: readonly number[], body: string, uniforms?: string): WebGPUProgram =>
  elementwiseProgram({ key: `bn_${key}`, inputs, shape, body, uniforms, workgroupSize: WG });

function backendOf(): WebGPUBackend {
  return tf.backend() as unknown as WebGPUBackend;
}

const asTensor = (info: TensorInfo) => tf.engine().makeTensorFromTensorInfo(info);

/** Same buffer, viewed as [M, C] (the programs index rows and channels themselves). */
const rows2 = (t: tf.Tensor, p: BatchNormPlan): TensorInfo => ({ dataId: t.dataId, shape: [p.M, p.C], dtype: t.dtype });

export interface BatchNormForward {
  /** relu?(BN(x + plus) + residual), x's shape. */
  y: tf.Tensor;
  /** [4, C]: mean, 1/sigma, gamma/sigma, biased variance (for the backward). */
  stats: tf.Tensor;
  /** The new moving mean and variance ([C] each), for the caller to assign. */
  movingMean: tf.Tensor;
  movingVar: tf.Tensor;
}

/** The forward pass: five dispatches (two of them C-element moving-statistic updates). */
export function batchNormForwardWebgpu(
  i: { x: tf.Tensor; gamma: tf.Tensor; beta: tf.Tensor; plus?: tf.Tensor; residual?: tf.Tensor; movingMean: tf.Tensor; movingVar: tf.Tensor },
  a: { relu: boolean; epsilon: number; momentum: number; forceChunk?: number },
): BatchNormForward {
  const backend = backendOf();
  const C = i.x.shape[i.x.rank - 1]!;
  const p = planBatchNorm(i.x.size / C, C, a.forceChunk);
  const plus = i.plus !== undefined;
  const residual = i.residual !== undefined;
  const key = `${p.M}_${p.C}_${p.CW}_${p.chunk}`;

  const zIn = [rows2(i.x, p), ...(plus ? [rows2(i.plus!, p)] : [])];
  const partial = backend.runWebGPUProgram(
    program({
      key: `bn_statsPartial_${key}_${plus}`,
      inputs: ['x', ...(plus ? ['plus'] : [])],
      outputShape: [p.splits, 3, C],
      workgroupSize: WG,
      dispatch: [Math.ceil(C / p.CW), p.splits, 1],
      code: statsPartialShader(p, plus),
    }),
    zIn,
    'float32',
  );
  const stats = backend.runWebGPUProgram(
    program({
      key: `bn_statsFinal_${p.C}_${p.splits}_${a.epsilon}`,
      inputs: ['partial', 'gamma'],
      outputShape: [4, C],
      workgroupSize: FINAL_WG,
      dispatch: [C, 1, 1],
      code: statsFinalShader(p, a.epsilon),
    }),
    [partial, i.gamma],
    'float32',
  );
  backend.disposeData(partial.dataId); // released once the queued dispatches have run

  const names = ['x', ...(plus ? ['plus'] : []), ...(residual ? ['residual'] : []), 'stats', 'gamma', 'beta'];
  const y = backend.runWebGPUProgram(
    elementwise(
      `output_${C}_${plus}_${residual}_${a.relu}`,
      names,
      i.x.shape,
      `let c = index % ${C};
          let xhat = (x[index]${plus ? ' + plus[index]' : ''} - stats[c]) * stats[${C} + c];
          var v = xhat * gamma[c] + beta[c];
          ${residual ? 'v += residual[index];' : ''}
          result[index] = ${a.relu ? 'max(v, 0.0)' : 'v'};`,
    ),
    [i.x, ...(plus ? [i.plus!] : []), ...(residual ? [i.residual!] : []), stats, i.gamma, i.beta],
    'float32',
  );

  // PyTorch: the running variance moves towards the unbiased variance. The factors are float32
  // uniforms, rounded as the tf-op path's scalars are.
  const unbiased = p.M > 1 ? p.M / (p.M - 1) : 1;
  const u = 'keep : f32, take : f32,';
  const moving = (old: tf.Tensor, row: number, take: number) =>
    backend.runWebGPUProgram(
      elementwise(`moving_${C}_${row}`, ['old', 'stats'], [C], `result[index] = old[index] * uniforms.keep + stats[${row * C} + index] * uniforms.take;`, u),
      [old, stats],
      'float32',
      [{ type: 'float32', data: [1 - a.momentum] }, { type: 'float32', data: [take] }],
    );
  const movingMean = moving(i.movingMean, 0, a.momentum);
  const movingVar = moving(i.movingVar, 3, a.momentum * unbiased);
  return { y: asTensor(y), stats: asTensor(stats), movingMean: asTensor(movingMean), movingVar: asTensor(movingVar) };
}

export interface BatchNormBackward {
  /** d(x + plus): the gradient of x and of plus. */
  dx: tf.Tensor;
  dGamma: tf.Tensor;
  dBeta: tf.Tensor;
  /** d residual (dy masked by the ReLU); only when asked for. */
  dResidual?: tf.Tensor;
}

/** The backward pass: four dispatches (five with a residual under a ReLU). `y` (the forward's
 * output) is needed for a ReLU block only: its mask is y > 0. */
export function batchNormBackwardWebgpu(
  i: { dy: tf.Tensor; x: tf.Tensor; plus?: tf.Tensor; y?: tf.Tensor; stats: tf.Tensor },
  a: { residual: boolean; forceChunk?: number },
): BatchNormBackward {
  const backend = backendOf();
  const C = i.x.shape[i.x.rank - 1]!;
  const p = planBatchNorm(i.x.size / C, C, a.forceChunk);
  const plus = i.plus !== undefined;
  const relu = i.y !== undefined;
  const key = `${p.M}_${p.C}_${p.CW}_${p.chunk}_${plus}_${relu}`;
  const names = ['dy', 'x', ...(plus ? ['plus'] : []), ...(relu ? ['y'] : []), 'stats'];
  const partial = backend.runWebGPUProgram(
    program({
      key: `bn_gradPartial_${key}`,
      inputs: names,
      outputShape: [p.splits, 2, C],
      workgroupSize: WG,
      dispatch: [Math.ceil(C / p.CW), p.splits, 1],
      code: gradPartialShader(p, plus, relu),
    }),
    [rows2(i.dy, p), rows2(i.x, p), ...(plus ? [rows2(i.plus!, p)] : []), ...(relu ? [rows2(i.y!, p)] : []), i.stats],
    'float32',
  );
  const chunkSum = (row: number) =>
    backend.runWebGPUProgram(
      program({
        key: `bn_gradSum_${p.C}_${p.splits}_${row}`,
        inputs: ['partial'],
        outputShape: [C],
        workgroupSize: FINAL_WG,
        dispatch: [C, 1, 1],
        code: chunkSumShader(p, 2, row),
      }),
      [partial],
      'float32',
    );
  const dBeta = chunkSum(0);
  const dGamma = chunkSum(1);
  backend.disposeData(partial.dataId);
  const mask = relu ? 'select(0.0, dy[index], y[index] > 0.0)' : 'dy[index]';
  const dx = backend.runWebGPUProgram(
    elementwise(
      `dx_${C}_${p.M}_${plus}_${relu}`,
      [...names, 'dBeta', 'dGamma'],
      i.x.shape,
      `let c = index % ${C};
          let g = ${mask};
          let xhat = (x[index]${plus ? ' + plus[index]' : ''} - stats[c]) * stats[${C} + c];
          result[index] = ((g - dBeta[c] / ${f32(p.M)}) - xhat * (dGamma[c] / ${f32(p.M)})) * stats[${2 * C} + c];`,
    ),
    [i.dy, i.x, ...(plus ? [i.plus!] : []), ...(relu ? [i.y!] : []), i.stats, dBeta, dGamma],
    'float32',
  );
  const out: BatchNormBackward = { dx: asTensor(dx), dGamma: asTensor(dGamma), dBeta: asTensor(dBeta) };
  if (a.residual) {
    out.dResidual = relu
      ? asTensor(backend.runWebGPUProgram(elementwise(`dres`, ['dy', 'y'], i.x.shape, `result[index] = ${mask};`), [i.dy, i.y!], 'float32'))
      : tf.clone(i.dy);
  }
  return out;
}
