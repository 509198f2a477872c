// The tfjs interpreter of an architecture (src/shared/models): the forward pass. Variables are
// looked up by `layer/role`, as the shape tracer named them when the model was built.
import * as tf from '@tensorflow/tfjs-core';
import type {
  BatchNormOptions,
  ConvOptions,
  CrossConvNames,
  CrossConvOptions,
  DenseOptions,
  Ops,
} from '../../shared/models/ops';
import { nativeConvActive } from '../kernels/native';
import { batchNorm } from './batch-norm';
import { nativeConv } from './native-conv';
import type { ApplyContext } from './layers';

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** PyTorch's padding=p on both sides, as an explicit pad array: TF's 'same' pads a stride-2 conv
 * on the bottom/right only, a different result; and tfjs-core 4.22 mishandles a numeric pad (it
 * takes the width's padding from the filter height). */
function padOf(kernel: number): Pad4 | 'valid' {
  const p = (kernel - 1) / 2;
  return p > 0 ? [[0, 0], [p, p], [p, p], [0, 0]] : 'valid';
}

export interface ModelState {
  variables: ReadonlyMap<string, tf.Variable>;
  /** Each layer's position in the model, for dropout's mask seed. */
  layerIndex: ReadonlyMap<string, number>;
  seed: number;
}

export class TfOps implements Ops<tf.Tensor> {
  constructor(
    private readonly m: ModelState,
    private readonly ctx: ApplyContext,
    /** The model's input: a conv applied to it needs no input gradient unless ctx asks for one. */
    private readonly input?: tf.Tensor,
  ) {}

  private v(layer: string, role: string): tf.Variable {
    const v = this.m.variables.get(`${layer}/${role}`);
    if (!v) throw new Error(`model has no variable ${layer}/${role}`);
    return v;
  }

  conv(name: string, x: tf.Tensor, o: ConvOptions): tf.Tensor {
    const filter = this.v(name, 'kernel') as tf.Tensor4D;
    const x4 = x as tf.Tensor4D;
    const strides = o.stride ?? 1;
    const pad = padOf(o.kernel);
    const bias = o.bias ? this.v(name, 'bias') : undefined;
    if (nativeConvActive(tf.getBackend())) {
      const inputGradient = x !== this.input || this.ctx.inputGradient === true;
      return nativeConv(x4, filter, bias, strides, pad, o.relu === true, inputGradient);
    }
    if (!o.bias && !o.relu) return tf.conv2d(x4, filter, strides, pad);
    return tf.fused.conv2d({ x: x4, filter, strides, pad, bias, activation: o.relu ? 'relu' : 'linear' });
  }

  dense(name: string, x: tf.Tensor, o: DenseOptions): tf.Tensor {
    const b = this.v(name, 'kernel') as tf.Tensor2D;
    return tf.fused.matMul({ a: x as tf.Tensor2D, b, bias: this.v(name, 'bias'), activation: o.relu ? 'relu' : 'linear' });
  }

  batchNorm(name: string, x: tf.Tensor, o: BatchNormOptions<tf.Tensor> = {}): tf.Tensor {
    // zeroGamma only changes gamma's initial value.
    const v = (role: string) => this.v(name, role);
    const vars = { gamma: v('gamma'), beta: v('beta'), movingMean: v('movingMean'), movingVar: v('movingVar') };
    return batchNorm(x, vars, this.ctx.training, { plus: o.plus, residual: o.residual, relu: o.relu });
  }

  /** The four convs as one: conv(concat(r, t)) with the kernel [[W_rr, W_rt], [W_tr, W_tt]] (input
   * channels r then t, output channels r then t), split back into the two streams. One GEMM instead
   * of four convs and two additions, and one saved copy of the input for the backward pass. */
  crossConv(names: CrossConvNames, r: tf.Tensor, t: tf.Tensor, o: CrossConvOptions): [tf.Tensor, tf.Tensor] {
    const k = (n: string) => this.v(n, 'kernel');
    const fromR = tf.concat([k(names.rr), k(names.rt)], 3);
    const fromT = tf.concat([k(names.tr), k(names.tt)], 3);
    const filter = tf.concat([fromR, fromT], 2) as tf.Tensor4D;
    const y = tf.conv2d(tf.concat([r, t], 3) as tf.Tensor4D, filter, o.stride, padOf(o.kernel));
    const [toR, toT] = tf.split(y, 2, 3);
    return [toR!, toT!];
  }

  relu(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }

  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.add(a, b);
  }

  maxPool(_name: string, x: tf.Tensor, size: number): tf.Tensor {
    return tf.maxPool(x as tf.Tensor4D, size, size, 'valid');
  }

  avgPool(_name: string, x: tf.Tensor, size: number): tf.Tensor {
    // Ceil mode, padded pixels left out of the mean. tf.avgPool(..., 'same') computes that forward,
    // but its gradient (tfjs 4.22, every backend) divides by the full window at the edges; so: zero
    // padding, a 'valid' pool, and a constant per-window correction for the windows that overhang.
    const [, h, w] = x.shape as [number, number, number, number];
    const ho = Math.ceil(h / size);
    const wo = Math.ceil(w / size);
    const ph = ho * size - h;
    const pw = wo * size - w;
    if (ph === 0 && pw === 0) return tf.avgPool(x as tf.Tensor4D, size, size, 'valid');
    const padded = tf.pad(x, [[0, 0], [0, ph], [0, pw], [0, 0]]) as tf.Tensor4D;
    const scale = new Float32Array(ho * wo);
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) scale[i * wo + j] = (size * size) / (Math.min(size, h - i * size) * Math.min(size, w - j * size));
    }
    return tf.mul(tf.avgPool(padded, size, size, 'valid'), tf.tensor4d(scale, [1, ho, wo, 1]));
  }

  globalAvgPool(_name: string, x: tf.Tensor): tf.Tensor {
    return tf.mean(x, [1, 2]);
  }

  flatten(_name: string, x: tf.Tensor): tf.Tensor {
    return tf.reshape(x, [x.shape[0]!, -1]);
  }

  dropout(name: string, x: tf.Tensor, rate: number): tf.Tensor {
    if (!this.ctx.training || rate === 0) return x;
    // Stateless: the mask depends only on (run seed, step, pass, layer), never on how many masks
    // were drawn before, so a resumed run draws the same ones. A string seed: tfjs treats 0 as
    // "unseeded".
    const seed = `dropout:${this.m.seed}:${this.ctx.step}:${this.ctx.pass ?? 0}:${this.m.layerIndex.get(name) ?? name}`;
    return tf.dropout(x, rate, undefined, seed);
  }

  concat(_name: string, xs: tf.Tensor[]): tf.Tensor {
    return tf.concat(xs, 3);
  }

  subsamplePad(_name: string, x: tf.Tensor, stride: number, channels: number): tf.Tensor {
    const [n, h, w, c] = x.shape as [number, number, number, number];
    let y = x;
    if (stride > 1) {
      // Keep pixels (i * stride, j * stride): pad to a multiple of the stride, view each window's
      // rows and columns as their own axes, take the window's first pixel. (tfjs has no gradient
      // for strided slices.)
      const ho = Math.ceil(h / stride);
      const wo = Math.ceil(w / stride);
      const padded = tf.pad(x, [[0, 0], [0, ho * stride - h], [0, wo * stride - w], [0, 0]]);
      const windows = tf.reshape(padded, [n * ho, stride, wo, stride * c]);
      y = tf.reshape(tf.slice(windows, [0, 0, 0, 0], [n * ho, 1, wo, c]), [n, ho, wo, c]);
    }
    return channels > c ? tf.pad(y, [[0, 0], [0, 0], [0, 0], [0, channels - c]]) : y;
  }

  /** Each block in its own scope: its intermediates are freed when it returns. A gradient pass
   * needs only what each op saved (tfjs keeps those), so the forward pass's peak memory is the
   * saved tensors plus one block's activations, not every activation of the model. */
  group<R extends tf.Tensor | tf.Tensor[]>(_name: string, _type: string, f: () => R): R {
    return tf.tidy(f);
  }
}
