// Batch Normalization (Ioffe & Szegedy, ICML 2015) with PyTorch's BatchNorm2d conventions:
// momentum 0.1, eps 1e-5; training normalises with the batch's biased variance and moves the
// running variance towards the UNBIASED one; inference uses the moving statistics.
//
// Training mode is one custom-gradient op, relu?(BN(x + plus) + residual), with BatchNorm's
// closed-form backward. Why: (1) for the backward pass tfjs keeps a copy of what each op's
// gradient needs; this op keeps x-hat and a 1-byte ReLU mask, where the separate ops (add,
// moments, batchNorm, add, relu) kept 3-4 full-size tensors: that matters within wasm's 4 GiB
// heap. (2) On wasm, tf.batchNorm's gradient tiles its statistics to the input's shape and tf.sum
// over N, H, W transposes first (together most of a ResNet-20 step); here channel sums are
// [1, M] x [M, C] matmuls on XNNPACK.
import * as tf from '@tensorflow/tfjs-core';
import { NATIVE_BATCH_NORM, NATIVE_BATCH_NORM_GRAD, nativeConvActive } from '../kernels/native';
import { batchNormBackwardWebgpu, batchNormForwardWebgpu, batchNormWebgpuApplies } from '../webgpu/kernels/batch-norm';

export const BN_MOMENTUM = 0.1;
export const BN_EPSILON = 1e-5;

export interface BatchNormVariables {
  gamma: tf.Variable;
  beta: tf.Variable;
  movingMean: tf.Variable;
  movingVar: tf.Variable;
}

export interface BatchNormFusion {
  plus?: tf.Tensor;
  residual?: tf.Tensor;
  relu?: boolean;
}

/** Per-channel sums of a [M, C] matrix, as [1, C]. */
const channelSums = (x2: tf.Tensor, ones: tf.Tensor2D) => tf.matMul(ones, x2 as tf.Tensor2D);

function inference(x: tf.Tensor, v: BatchNormVariables, o: BatchNormFusion): tf.Tensor {
  const scale = tf.mul(v.gamma, tf.rsqrt(tf.add(v.movingVar, BN_EPSILON)));
  let y = tf.add(tf.mul(o.plus ? tf.add(x, o.plus) : x, scale), tf.sub(v.beta, tf.mul(v.movingMean, scale)));
  if (o.residual) y = tf.add(y, o.residual);
  return o.relu ? tf.relu(y) : y;
}

/** relu?(BN(x + plus) + residual), normalising over every axis but the last (channels). In
 * training, also updates the moving statistics in place: call inside tf.tidy or a gradient
 * function. The update happens in the custom op's forward, which the tape does not record, so it
 * stays off the gradient's path. */
export function batchNorm(x: tf.Tensor, v: BatchNormVariables, training: boolean, o: BatchNormFusion = {}): tf.Tensor {
  if (!training) return inference(x, v, o);
  if (nativeConvActive(tf.getBackend())) return nativeTraining(x, v, o);
  if (tf.getBackend() === 'webgpu' && batchNormWebgpuApplies(x, o.plus, o.residual)) return webgpuTraining(x, v, o);
  const shape = x.shape;
  const c = shape[shape.length - 1]!;
  const m = x.size / c;
  const inputs = [x, v.gamma, v.beta, ...(o.plus ? [o.plus] : []), ...(o.residual ? [o.residual] : [])];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xIn, gamma, beta, ...extra] = args as tf.Tensor[];
    const plus = o.plus ? extra.shift()! : null;
    const residual = o.residual ? extra.shift()! : null;
    const ones = tf.ones([1, m]) as tf.Tensor2D;
    const x2 = tf.reshape(plus ? tf.add(xIn!, plus) : xIn!, [m, c]);
    const mean = tf.div(channelSums(x2, ones), m);
    const centered = tf.sub(x2, mean);
    const variance = tf.div(channelSums(tf.square(centered), ones), m); // biased, for normalising
    const inv = tf.rsqrt(tf.add(variance, BN_EPSILON));
    const xhat = tf.mul(centered, inv);
    const unbiased = m > 1 ? m / (m - 1) : 1;
    v.movingMean.assign(tf.add(tf.mul(v.movingMean, 1 - BN_MOMENTUM), tf.mul(tf.reshape(mean, [c]), BN_MOMENTUM)));
    v.movingVar.assign(tf.add(tf.mul(v.movingVar, 1 - BN_MOMENTUM), tf.mul(tf.reshape(variance, [c]), BN_MOMENTUM * unbiased)));
    let y = tf.add(tf.mul(xhat, gamma!), beta!);
    if (residual) y = tf.add(y, tf.reshape(residual, [m, c]));
    const positive = o.relu ? tf.greater(y, 0) : null;
    if (positive) y = tf.relu(y);
    // Only saved tensors survive the forward pass (tfjs disposes the rest, inputs included).
    save([xhat, inv, gamma!, ones, ...(positive ? [positive] : [])]);
    return {
      value: tf.reshape(y, shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sXhat, sInv, sGamma, sOnes, sPositive] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor2D, tf.Tensor | undefined];
        let dOut = tf.reshape(dy, [m, c]);
        if (sPositive) dOut = tf.mul(dOut, tf.cast(sPositive, 'float32'));
        const dBeta = channelSums(dOut, sOnes);
        const dGamma = channelSums(tf.mul(dOut, sXhat), sOnes);
        // dz = gamma / sigma * (dOut - mean(dOut) - xhat * mean(dOut * xhat)), z = x + plus
        const dz = tf.mul(tf.sub(tf.sub(dOut, tf.div(dBeta, m)), tf.mul(sXhat, tf.div(dGamma, m))), tf.mul(sGamma, sInv));
        // One tensor per input (reshapes share the data): the engine disposes each after use.
        const grads = [tf.reshape(dz, shape), tf.reshape(dGamma, [c]), tf.reshape(dBeta, [c])];
        if (plus) grads.push(tf.reshape(dz, shape));
        if (residual) grads.push(tf.reshape(dOut, shape));
        return grads;
      },
    };
  });
  return op(...inputs);
}

/** The training op on the native kernels (wasm backend with the addon): the same maths in two
 * passes forward and two backward, on every core; it keeps z (= x, or x + plus) and, for a ReLU
 * block, y, and recomputes x-hat from them. */
function nativeTraining(x: tf.Tensor, v: BatchNormVariables, o: BatchNormFusion): tf.Tensor {
  const c = x.shape[x.shape.length - 1]!;
  const m = x.size / c;
  const inputs = [x, v.gamma, v.beta, ...(o.plus ? [o.plus] : []), ...(o.residual ? [o.residual] : [])];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xIn, gamma, beta, ...extra] = args as tf.Tensor[];
    const plus = o.plus ? extra.shift()! : undefined;
    const residual = o.residual ? extra.shift()! : undefined;
    const outs = tf.engine().runKernel(
      NATIVE_BATCH_NORM,
      { x: xIn!, gamma: gamma!, beta: beta!, ...(plus ? { plus } : {}), ...(residual ? { residual } : {}) },
      { epsilon: BN_EPSILON, relu: o.relu === true } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
    const [y, mean, variance, inv, zOut] = outs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const unbiased = m > 1 ? m / (m - 1) : 1;
    v.movingMean.assign(tf.add(tf.mul(v.movingMean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
    v.movingVar.assign(tf.add(tf.mul(v.movingVar, 1 - BN_MOMENTUM), tf.mul(variance, BN_MOMENTUM * unbiased)));
    const z = zOut ?? xIn!;
    save([z, mean, inv, gamma!, ...(o.relu ? [y] : [])]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sz, sMean, sInv, sGamma, sy] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
        const g = tf.engine().runKernel(
          NATIVE_BATCH_NORM_GRAD,
          { dy, z: sz, mean: sMean, inv: sInv, gamma: sGamma, ...(sy ? { y: sy } : {}) },
          { hasResidual: residual !== undefined } as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
        const [dz, dGamma, dBeta, dRes] = g as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
        const grads = [dz, dGamma, dBeta];
        if (plus) grads.push(tf.clone(dz));
        if (residual) grads.push(dRes!);
        return grads;
      },
    };
  });
  return op(...inputs);
}

/** The training op on our WGSL kernels (webgpu/kernels/batch-norm.ts): a chunked reduction and an
 * elementwise pass each way (plus the small per-channel dispatches); it keeps x (and plus), the
 * per-channel statistics and, for a ReLU block, y, and recomputes x-hat from them. */
function webgpuTraining(x: tf.Tensor, v: BatchNormVariables, o: BatchNormFusion): tf.Tensor {
  const inputs = [x, v.gamma, v.beta, ...(o.plus ? [o.plus] : []), ...(o.residual ? [o.residual] : [])];
  const relu = o.relu === true;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xIn, gamma, beta, ...extra] = args as tf.Tensor[];
    const plus = o.plus ? extra.shift()! : undefined;
    const residual = o.residual ? extra.shift()! : undefined;
    const f = batchNormForwardWebgpu(
      { x: xIn!, gamma: gamma!, beta: beta!, plus, residual, movingMean: v.movingMean, movingVar: v.movingVar },
      { relu, epsilon: BN_EPSILON, momentum: BN_MOMENTUM },
    );
    v.movingMean.assign(f.movingMean);
    v.movingVar.assign(f.movingVar);
    save([xIn!, f.stats, ...(plus ? [plus] : []), ...(relu ? [f.y] : [])]);
    return {
      value: f.y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sStats, ...rest] = saved as tf.Tensor[];
        const sPlus = plus ? rest.shift() : undefined;
        const sy = relu ? rest.shift() : undefined;
        const g = batchNormBackwardWebgpu({ dy, x: sx!, plus: sPlus, y: sy, stats: sStats! }, { residual: residual !== undefined });
        const grads = [g.dx, g.dGamma, g.dBeta];
        if (plus) grads.push(tf.clone(g.dx));
        if (residual) grads.push(g.dResidual!);
        return grads;
      },
    };
  });
  return op(...inputs);
}
