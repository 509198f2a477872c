// A small layer set over tfjs ops. We build models from plain variables instead of tfjs-layers so
// that tricks get what they need: named parameters with a role (kernel/bias), in-place
// re-initialisation (RIFLE, RePr), seeded initialisation identical on every backend, and
// parameter/FLOP counts from the same description that runs.
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';

export type Shape = number[]; // without the batch dimension, NHWC for images

export interface Param {
  /** Stable name within the model, e.g. `conv1/kernel`; checkpoints and tricks use it. */
  name: string;
  layer: string;
  role: 'kernel' | 'bias';
  variable: tf.Variable;
  fanIn: number;
}

/** Non-trainable state saved with the weights, e.g. BatchNorm's moving mean and variance. */
export interface Buffer {
  name: string; // e.g. `stage1.block0.bn2/movingMean`
  layer: string;
  variable: tf.Variable;
}

/** How a forward pass runs. `step` (the global training step) seeds stochastic layers such as
 * dropout statelessly, so a resumed run draws the same masks as an uninterrupted one. */
export interface ApplyContext {
  training: boolean;
  step: number;
}

export interface LayerSummary {
  name: string;
  type: string;
  outputShape: Shape;
  params: number;
  /** Multiply-adds for one example. */
  flops: number;
}

export interface Layer {
  readonly name: string;
  readonly type: string;
  /** Create parameters for this input shape; return the output shape. */
  build(input: Shape, ctx: BuildContext): Shape;
  apply(x: tf.Tensor, ctx: ApplyContext): tf.Tensor;
  params: Param[];
  buffers?: Buffer[];
  flops: number;
}

export interface BuildContext {
  rng: Rng;
  /** Unique prefix for tf variable names: tfjs keeps one global registry of them. */
  scope: string;
}

/** PyTorch's default init for conv and linear layers: kaiming_uniform(a = sqrt(5)) for the
 * kernel, i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias. */
export function defaultInit(rng: Rng, shape: Shape, fanIn: number): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.uniform(-bound, bound);
  return tf.tensor(v, shape, 'float32');
}

function param(ctx: BuildContext, layer: string, role: Param['role'], shape: Shape, fanIn: number): Param {
  const init = defaultInit(ctx.rng, shape, fanIn);
  const variable = tf.variable(init, true, `${ctx.scope}/${layer}/${role}`);
  init.dispose();
  return { name: `${layer}/${role}`, layer, role, variable, fanIn };
}

/** A layer's kernel and bias, both initialised from the kernel's fan-in. */
function kernelAndBias(ctx: BuildContext, layer: string, kernelShape: Shape, units: number, fanIn: number) {
  const k = param(ctx, layer, 'kernel', kernelShape, fanIn);
  const b = param(ctx, layer, 'bias', [units], fanIn);
  return { params: [k, b], kernel: k.variable, bias: b.variable };
}

export type Activation = 'linear' | 'relu';

export class Conv2d implements Layer {
  readonly type = 'Conv2d';
  params: Param[] = [];
  flops = 0;
  private kernel!: tf.Variable;
  private bias!: tf.Variable;
  constructor(
    readonly name: string,
    private readonly filters: number,
    private readonly kernelSize: number,
    private readonly activation: Activation = 'linear',
    private readonly stride = 1,
  ) {}
  build(input: Shape, ctx: BuildContext): Shape {
    const [h, w, c] = input as [number, number, number];
    const k = this.kernelSize;
    const fanIn = c * k * k;
    ({ params: this.params, kernel: this.kernel, bias: this.bias } = kernelAndBias(ctx, this.name, [k, k, c, this.filters], this.filters, fanIn));
    const oh = Math.ceil(h / this.stride);
    const ow = Math.ceil(w / this.stride);
    this.flops = oh * ow * fanIn * this.filters;
    return [oh, ow, this.filters];
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.fused.conv2d({
      x: x as tf.Tensor4D,
      filter: this.kernel as tf.Tensor4D,
      strides: this.stride,
      pad: 'same',
      bias: this.bias,
      activation: this.activation,
    });
  }
}

export class Dense implements Layer {
  readonly type = 'Dense';
  params: Param[] = [];
  flops = 0;
  private kernel!: tf.Variable;
  private bias!: tf.Variable;
  constructor(
    readonly name: string,
    private readonly units: number,
    private readonly activation: Activation = 'linear',
  ) {}
  build(input: Shape, ctx: BuildContext): Shape {
    if (input.length !== 1) throw new Error(`${this.name}: Dense expects a flat input, got shape ${input.join('x')}`);
    const fanIn = input[0]!;
    ({ params: this.params, kernel: this.kernel, bias: this.bias } = kernelAndBias(ctx, this.name, [fanIn, this.units], this.units, fanIn));
    this.flops = fanIn * this.units;
    return [this.units];
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.fused.matMul({ a: x as tf.Tensor2D, b: this.kernel as tf.Tensor2D, bias: this.bias, activation: this.activation });
  }
}

export class MaxPool implements Layer {
  readonly type = 'MaxPool';
  params: Param[] = [];
  flops = 0;
  constructor(
    readonly name: string,
    private readonly size = 2,
  ) {}
  build(input: Shape): Shape {
    const [h, w, c] = input as [number, number, number];
    const oh = Math.floor(h / this.size);
    const ow = Math.floor(w / this.size);
    if (oh < 1 || ow < 1) throw new Error(`${this.name}: input ${h}x${w} is too small to pool by ${this.size}`);
    return [oh, ow, c];
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.maxPool(x as tf.Tensor4D, this.size, this.size, 'valid');
  }
}

export class Flatten implements Layer {
  readonly type = 'Flatten';
  readonly name = 'flatten';
  params: Param[] = [];
  flops = 0;
  private size = 0;
  build(input: Shape): Shape {
    this.size = input.reduce((a, b) => a * b, 1);
    return [this.size];
  }
  apply(x: tf.Tensor): tf.Tensor {
    return tf.reshape(x, [-1, this.size]);
  }
}
