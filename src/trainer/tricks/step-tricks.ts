// One training step with its tricks given by value instead of by a run's config: a fixed mixup
// draw, a teacher model, masks, an accumulator. For the tests that check a step's numbers on two
// backends and for benchmarks; the hooks are the trick files' own, so it is the loop's step.
import * as tf from '@tensorflow/tfjs-core';
import type { TricksConfig } from '../../shared/config';
import { distillHooks, type DistillStep } from '../../shared/tricks/distill';
import { smoothingHooks } from '../../shared/tricks/label-smoothing';
import { mixHooks, type MixupDraw } from '../../shared/tricks/mixup';
import { rdropHooks } from '../../shared/tricks/rdrop';
import { maskHooks } from '../../shared/tricks/repr';
import { gradNormHooks } from '../../shared/tricks/rifle';
import type { StepHooks } from '../../shared/tricks/types';
import { trainStep as loopStep } from '../loop';
import type { SequentialModel } from '../models/model';
import type { Optimizer } from '../optim/optimizers';

/** The tricks of one step (null/absent = off). */
export interface StepTricks {
  labelSmoothing?: TricksConfig['labelSmoothing'];
  rdrop?: TricksConfig['rdrop'];
  mixup?: MixupDraw | null;
  /** Adds each layer's gradient L2 norm (in `layers` order) into `acc`. */
  gradNorms?: { layers: readonly string[]; acc: tf.Variable };
  /** 0/1 masks multiplied into these params' gradients. */
  gradMasks?: Map<string, tf.Tensor> | null;
  distill?: DistillStep | null;
}

/** The step hooks of `t`, in registry order. */
export function stepHooks(t: StepTricks, step: number): StepHooks[] {
  const out: StepHooks[] = [];
  if (t.labelSmoothing) out.push(smoothingHooks(tf, t.labelSmoothing));
  if (t.mixup) out.push(mixHooks(tf, t.mixup));
  if (t.rdrop) out.push(rdropHooks(tf, t.rdrop));
  if (t.gradNorms) out.push(gradNormHooks(tf, t.gradNorms.layers, t.gradNorms.acc));
  if (t.distill) out.push(distillHooks(tf, t.distill, step));
  if (t.gradMasks) out.push(maskHooks(tf, t.gradMasks));
  return out;
}

/** The loop's trainStep with the tricks `t`. */
export function trainStep(
  model: SequentialModel,
  optimizer: Optimizer,
  b: { x: Float32Array; y: Int32Array; n: number },
  shape: readonly number[],
  numClasses: number,
  lr: number,
  step: number,
  t: StepTricks = {},
): [tf.Scalar, tf.Scalar] {
  return loopStep(model, optimizer, b, shape, numClasses, lr, step, stepHooks(t, step));
}
