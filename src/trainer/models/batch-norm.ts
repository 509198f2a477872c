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
