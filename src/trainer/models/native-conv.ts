// relu?(conv2d(x, filter) + bias) as one custom-gradient op for the wasm backend with native
// kernels (src/trainer/kernels/native.ts). Forward: one fused oneDNN convolution (bias and ReLU in
// its epilogue). Backward: one call that masks dy by the ReLU, then computes the filter and bias
// gradients in one oneDNN pass and the input gradient in another.
//
// Why not tf.fused.conv2d: under a gradient tape tfjs does not fuse a non-linear activation, so the
// block becomes conv2d + add + relu forward and relu-grad (step, multiply), a broadcast-add gradient
// (a transposing sum over N, H, W) and two convolution gradients backward: seven kernels and
// several full-size temporaries where this op has two kernels and keeps only x and y.
import * as tf from '@tensorflow/tfjs-core';
import { NATIVE_CONV_BACKWARD, type NativeConvBackwardAttrs } from '../kernels/native';

export function nativeConv(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor | undefined,
  strides: number,
  pad: NativeConvBackwardAttrs['pad'],
  relu: boolean,
  /** false: x is data (the model's input); its gradient is returned as zeros, not computed. */
  inputGradient = true,
): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [xIn, f, b] = args as tf.Tensor[];
    const y = tf.engine().runKernel(
      'FusedConv2D',
      { x: xIn!, filter: f!, ...(b ? { bias: b } : {}) },
      { strides, pad, dataFormat: 'NHWC', dilations: 1, activation: relu ? 'relu' : 'linear' } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;
    save(relu ? [xIn!, f!, y] : [xIn!, f!]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sf, sy] = saved;
        const attrs: NativeConvBackwardAttrs = { strides, pad, hasBias: b !== undefined, inputGradient };
        return tf.engine().runKernel(
          NATIVE_CONV_BACKWARD,
          { dy, x: sx!, filter: sf!, ...(sy ? { y: sy } : {}) },
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor[];
      },
    };
  });
  return (bias ? op(x, filter, bias) : op(x, filter)) as tf.Tensor4D;
}
