// R-Drop: "Regularized Dropout for Neural Networks" (Liang et al., NeurIPS 2021, arXiv 2106.14448).
// Two dropout passes of the same batch, here one forward over [x; x] split in two (the halves get
// independent masks); loss = 0.5 (CE(p) + CE(q)) + alpha * 0.5 (KL(P||Q) + KL(Q||P)). The KL is
// zero without dropout, so a model without it is refused.
import type * as TF from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { field } from '../schema-meta';
import { lossOps } from './loss-ops';
import { defineTrick, type StepHooks } from './types';
import { num } from './text';

export const RDROP_REDUCTIONS = ['mean', 'batchsum'] as const;

/** The step hooks: two passes in one forward, and their loss. */
export function rdropHooks(tf: typeof TF, o: { alpha: number; reduction: (typeof RDROP_REDUCTIONS)[number] }): StepHooks {
  const { rdropLoss } = lossOps(tf);
  return {
    softTargets: true,
    forward(x, apply) {
      // Both dropout passes in one forward over [x; x]: the halves get independent masks.
      const logits = apply(tf.concat([x, x], 0));
      return tf.split(logits, 2, 0) as TF.Tensor2D[];
    },
    loss: ([p, q], targets) => rdropLoss(p!, q!, targets, o.alpha, o.reduction),
  };
}

export const rdrop = defineTrick({
  name: 'rdrop',
  title: 'R-Drop',
  paper: 'Liang et al., NeurIPS 2021 (arXiv 2106.14448)',
  /** Two dropout passes, CE of both + alpha * symmetric KL; reduction of the KL term. */
  schema: z
    .object({
      alpha: field(z.number().min(0).default(0.3), { label: 'α', hint: 'weight of the KL term', flag: 'rdrop', help: 'R-Drop with this KL weight alpha (e.g. 0.3; needs --dropout)' }),
      reduction: field(z.enum(RDROP_REDUCTIONS).default('mean'), {
        label: 'KL reduction',
        hint: 'mean: per sample; batchsum: official code',
        flag: 'rdrop-reduction',
        help: 'R-Drop KL reduction: mean (per sample) or batchsum (the official code)',
      }),
    })
    .strict(),
  toggle: { label: 'R-Drop', hint: 'two dropout passes + symmetric KL; needs dropout; ~2× compute', flag: null, noFlag: '--rdrop ALPHA switches it on' },
  label: (o, differs) => ({ main: `α=${num(o.alpha)}`, extras: differs('reduction') ? [o.reduction === 'batchsum' ? 'KL summed over the batch' : `KL ${o.reduction}`] : [] }),
  validate(_o, ctx) {
    // Without dropout the two passes are identical and the KL term is zero: refuse, not pretend.
    if (ctx.config.model.dropout === 0) ctx.issue([], 'R-Drop needs dropout: model.dropout is 0 (set it above 0, e.g. 0.3)');
  },
  events: {},
  metrics: [],
  create({ options, env }) {
    const hooks = rdropHooks(env.tf, options);
    return { step: () => hooks };
  },
});
