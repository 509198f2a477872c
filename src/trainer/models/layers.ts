// What a built model is made of, for the loop, the optimizers and the tricks: named parameters with
// a role, non-trainable buffers, and how a forward pass runs. Models are our own small layer set over
// tfjs ops (not tfjs-layers), so that tricks get named parameters (no-bias-decay, RIFLE, RePr,
// init-from-run), in-place re-initialisation, and seeded initialisation identical on every backend.
import * as tf from '@tensorflow/tfjs-core';
import type { BufferRole, InitKind, LayerSummary, ParamRole, ParamSpec, Shape } from '../../shared/models/ops';
import type { Rng } from '../../shared/rng';

export type { LayerSummary, Shape };

export interface Param {
  /** Stable name within the model, `layer/role`, e.g. `stage2.block0.conv1/kernel`, `head/bias`;
   * checkpoints and tricks key on it. The classifier's layer is always `head`. */
  name: string;
  layer: string;
  /** kernel (conv/dense weights), bias, gamma/beta (BatchNorm scale/shift). */
  role: ParamRole;
  variable: tf.Variable;
  fanIn: number;
  fanOut: number;
}

/** Non-trainable state saved with the weights: BatchNorm's moving mean and variance. */
export interface Buffer {
  name: string; // e.g. `stage1.block0.bn2/movingMean`
  layer: string;
  role: BufferRole;
  variable: tf.Variable;
}

/** How a forward pass runs. `step` (the global training step) seeds stochastic layers such as
 * dropout statelessly, so a resumed run draws the same masks as an uninterrupted one. */
export interface ApplyContext {
  /** Batch statistics in BatchNorm (and moving-stat updates), dropout on. */
  training: boolean;
  step: number;
  /** Tells apart several training passes at one step that must draw different dropout masks
   * (default 0). Two passes with the same step and pass draw the same masks. */
  pass?: number;
  /** Whether the gradient with respect to the model's input is wanted (default false: the input
   * is data, and the native conv op then skips the first layer's input gradient). */
  inputGradient?: boolean;
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

/** kaiming_normal(mode='fan_out', nonlinearity='relu'): N(0, 2 / fan_out), torchvision's ResNet
 * conv init (fan_out = cout * kh * kw). */
export function kaimingNormalFanOut(rng: Rng, shape: Shape, fanOut: number): tf.Tensor {
  const std = Math.sqrt(2 / fanOut);
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * std;
  return tf.tensor(v, shape, 'float32');
}

/** A parameter's (or buffer's) initial value as its spec says. */
export function initialValue(spec: Pick<ParamSpec, 'shape' | 'fanIn' | 'fanOut'> & { init: InitKind }, rng: Rng): tf.Tensor {
  switch (spec.init) {
    case 'torchDefault':
      return defaultInit(rng, spec.shape, spec.fanIn);
    case 'kaimingNormalFanOut':
      return kaimingNormalFanOut(rng, spec.shape, spec.fanOut);
    case 'zeros':
      return tf.zeros(spec.shape, 'float32');
    case 'ones':
      return tf.ones(spec.shape, 'float32');
  }
}
