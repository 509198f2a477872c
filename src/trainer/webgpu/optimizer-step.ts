// The optimizers' update of one parameter on webgpu in one or two dispatches instead of eight
// (SGD with weight decay, momentum and Nesterov) or twelve (Adam) elementwise tf ops, each a
// dispatch with its own buffer: small models are launch-bound on a GPU, and a ResNet-20 has 65
// parameters. Same arithmetic in the same order as the tf-op path in optim/optimizers.ts
// (PyTorch's torch.optim.SGD and Adam, weight decay as L2 added to the gradient).
//
// WGSL cannot write two outputs from one tfjs-webgpu program, and a dispatch may not read and
// write the same buffer: the new state is one dispatch, the new parameter another (reading the new
// state); the variables then take the outputs' data (assign swaps buffers, no copy).
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { elementwise as elementwiseProgram, type WebGPUBackend, type WebGPUProgram } from './kernels/common';

const elementwise = (key: string, inputs: string[], shape: readonly number[], uniforms: string, body: string): WebGPUProgram =>
  elementwiseProgram({ key: `opt_${key}`, inputs, shape, body, uniforms, workgroupSize: 128 });

function run(program: WebGPUProgram, inputs: tf.Tensor[], uniforms: number[]): tf.Tensor {
  const backend = tf.backend() as unknown as WebGPUBackend;
  const data = uniforms.map((v) => ({ type: 'float32', data: [v] }));
  const info: TensorInfo = backend.runWebGPUProgram(program, inputs, 'float32', data);
  return tf.engine().makeTensorFromTensorInfo(info);
}

export interface SgdHyper {
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
}

/** New [param, momentum buffer] of torch.optim.SGD's update; buffer null without momentum. The
 * first step (no buffer yet) starts it at the gradient, as PyTorch does. */
export function sgdUpdate(p: tf.Tensor, g: tf.Tensor, buf: tf.Tensor | undefined, h: SgdHyper): [tf.Tensor, tf.Tensor | null] {
  const u = 'lr : f32, momentum : f32, wd : f32,';
  const values = [h.lr, h.momentum, h.weightDecay];
  if (h.momentum === 0) {
    const prog = elementwise('sgd_plain', ['P', 'G'], p.shape, u, `let d = G[index] + uniforms.wd * P[index]; result[index] = P[index] - d * uniforms.lr;`);
    return [run(prog, [p, g], values), null];
  }
  const state = buf
    ? elementwise('sgd_buf', ['P', 'G', 'B'], p.shape, u, `let d = G[index] + uniforms.wd * P[index]; result[index] = B[index] * uniforms.momentum + d;`)
    : elementwise('sgd_buf0', ['P', 'G'], p.shape, u, `result[index] = G[index] + uniforms.wd * P[index];`);
  const b = run(state, buf ? [p, g, buf] : [p, g], values);
  const step = h.nesterov
    ? elementwise('sgd_nesterov', ['P', 'G', 'B'], p.shape, u, `let d = G[index] + uniforms.wd * P[index]; result[index] = P[index] - (d + B[index] * uniforms.momentum) * uniforms.lr;`)
    : elementwise('sgd_momentum', ['P', 'B'], p.shape, u, `result[index] = P[index] - B[index] * uniforms.lr;`);
  return [run(step, h.nesterov ? [p, g, b] : [p, b], values), b];
}

export interface AdamHyper {
  /** lr / (1 - beta1^t) */
  stepSize: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** sqrt(1 - beta2^t) */
  sqrtBc2: number;
  weightDecay: number;
}

/** New [param, m, v] of Adam's update (moments absent = zero, the first step). */
export function adamUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor | undefined, v: tf.Tensor | undefined, h: AdamHyper): [tf.Tensor, tf.Tensor, tf.Tensor] {
  // 1 - beta as the tf-op path has it: computed in double, then rounded to float32 (1 - 0.999 in
  // float32 arithmetic differs from it by 1e-5 relative).
  const u = 'stepSize : f32, beta1 : f32, beta2 : f32, epsilon : f32, sqrtBc2 : f32, wd : f32, oneMinusBeta1 : f32, oneMinusBeta2 : f32,';
  const values = [h.stepSize, h.beta1, h.beta2, h.epsilon, h.sqrtBc2, h.weightDecay, 1 - h.beta1, 1 - h.beta2];
  const d = 'let d = G[index] + uniforms.wd * P[index];';
  const first = !m || !v;
  const mNew = run(
    first
      ? elementwise('adam_m0', ['P', 'G'], p.shape, u, `${d} result[index] = d * uniforms.oneMinusBeta1;`)
      : elementwise('adam_m', ['P', 'G', 'M'], p.shape, u, `${d} result[index] = M[index] * uniforms.beta1 + d * uniforms.oneMinusBeta1;`),
    first ? [p, g] : [p, g, m!],
    values,
  );
  const vNew = run(
    first
      ? elementwise('adam_v0', ['P', 'G'], p.shape, u, `${d} result[index] = (d * d) * uniforms.oneMinusBeta2;`)
      : elementwise('adam_v', ['P', 'G', 'V'], p.shape, u, `${d} result[index] = V[index] * uniforms.beta2 + (d * d) * uniforms.oneMinusBeta2;`),
    first ? [p, g] : [p, g, v!],
    values,
  );
  const pNew = run(
    elementwise('adam_p', ['P', 'M', 'V'], p.shape, u, `let denom = sqrt(V[index]) / uniforms.sqrtBc2 + uniforms.epsilon; result[index] = P[index] - (M[index] / denom) * uniforms.stepSize;`),
    [p, mNew, vNew],
    values,
  );
  return [pNew, mNew, vNew];
}
