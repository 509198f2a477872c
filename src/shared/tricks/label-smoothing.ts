// Label smoothing (Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016; Bag of
// Tricks, He et al., CVPR 2019): the targets are (1 - eps) * onehot + eps / K (**choice**: the seeds,
// PyTorch, timm, GluonCV), or the paper's eps / (K - 1) on every other class.
import { z } from 'zod';
import { field } from '../schema-meta';
import { lossOps, type LabelSmoothingOptions } from './loss-ops';
import type * as TF from '@tensorflow/tfjs-core';
import { defineTrick, type StepHooks } from './types';
import { num } from './text';

export const LABEL_SMOOTHING_CONVENTIONS = ['uniform', 'paper'] as const;

/** The step hook: the targets smoothed. */
export function smoothingHooks(tf: typeof TF, o: LabelSmoothingOptions): StepHooks {
  const { smooth } = lossOps(tf);
  return { targets: (t, k) => smooth(t, k, o) };
}

export const labelSmoothing = defineTrick({
  name: 'labelSmoothing',
  title: 'label smoothing',
  paper: 'Szegedy et al., CVPR 2016; He et al., Bag of Tricks, CVPR 2019',
  /** uniform: (1 - eps) * onehot + eps / K (PyTorch, timm); paper: eps / (K - 1) off target. */
  schema: z
    .object({
      epsilon: field(z.number().gt(0).lt(1).default(0.1), { label: 'ε', flag: 'label-smoothing', help: 'label smoothing with this epsilon (e.g. 0.1)' }),
      convention: field(z.enum(LABEL_SMOOTHING_CONVENTIONS).default('uniform'), {
        label: 'Convention',
        hint: 'uniform: ε/K everywhere; paper: ε/(K−1) off target',
        flag: 'label-smoothing-convention',
        help: 'label smoothing: uniform (eps/K) or paper (eps/(K-1) off target)',
      }),
    })
    .strict(),
  toggle: { label: 'Label smoothing', flag: null, noFlag: '--label-smoothing EPS switches it on' },
  label: (o, differs) => ({ main: `ε=${num(o.epsilon)}`, extras: differs('convention') ? [`${o.convention} convention`] : [] }),
  events: {},
  metrics: [],
  create({ options, env }) {
    const hooks = smoothingHooks(env.tf, options);
    return { step: () => hooks };
  },
});
