// mixup (Zhang et al., "mixup: Beyond Empirical Risk Minimization", ICLR 2018; Bag of Tricks, He
// et al. 2019): one lambda ~ Beta(alpha, alpha) per batch, each sample paired with a random
// permutation of the batch; inputs and (smoothed) targets are mixed alike. The draws of a step
// depend only on (run seed, global step), so a resumed run and the arms of a matched pair mix alike.
// Off in the last offLastEpochs epochs.
import type * as TF from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { field, int } from '../schema-meta';
import { lossOps } from './loss-ops';
import { checkOffLastEpochs, offEvent, offPhase } from './off-last-epochs';
import { defineTrick, type Rng, type StepHooks, type TrickEnv } from './types';
import { num, plural } from './text';

export interface MixupDraw {
  lambda: number;
  perm: Int32Array;
}

/** The draw of global step `step` from its stream `mixup:<step>` (`rng`: that stream): lambda
 * first, then the pairing. */
export function drawMixupWith(rng: Rng, env: Pick<TrickEnv, 'beta' | 'permutation'>, batch: number, alpha: number): MixupDraw {
  const lambda = env.beta(rng, alpha, alpha);
  return { lambda, perm: env.permutation(rng, batch) };
}

export const mixupStream = (step: number) => `mixup:${step}`;

/** The step hook of a draw: inputs and targets mixed alike. */
export function mixHooks(tf: typeof TF, { lambda, perm }: MixupDraw): StepHooks {
  const { mixWith } = lossOps(tf);
  return { softTargets: true, batch: (b) => ({ x: mixWith(b.x, lambda, perm), targets: mixWith(b.targets!, lambda, perm) }) };
}


export const mixup = defineTrick({
  name: 'mixup',
  title: 'mixup',
  paper: 'Zhang et al., ICLR 2018; He et al., Bag of Tricks, CVPR 2019',
  /** One lambda ~ Beta(alpha, alpha) per batch; off in the last offLastEpochs epochs. */
  schema: z
    .object({
      alpha: field(z.number().positive().default(0.2), { label: 'α', hint: 'λ ~ Beta(α, α) per batch', flag: 'mixup', help: 'mixup with lambda ~ Beta(alpha, alpha) (e.g. 0.2)' }),
      offLastEpochs: field(int(0).default(0), { label: 'Off in last epochs', flag: 'mixup-off-last-epochs', help: 'mixup: off in the last N epochs' }),
    })
    .strict(),
  toggle: { label: 'Mixup', flag: null, noFlag: '--mixup ALPHA switches it on' },
  label: (o, differs) => ({ main: `α=${num(o.alpha)}`, extras: differs('offLastEpochs') ? [`off in the last ${plural(o.offLastEpochs, 'epoch')}`] : [] }),
  validate(o, ctx) {
    checkOffLastEpochs(o.offLastEpochs, 'mixup', ctx);
  },
  events: {
    'mixup.off': offEvent('mixup', '#e69f00'),
  },
  metrics: [],
  create({ options, config, env }) {
    let mixing = false;
    return {
      epochStart({ epoch }) {
        const phase = offPhase(epoch, config.epochs, options.offLastEpochs);
        mixing = phase.on;
        return phase.stopsNow ? [{ kind: 'mixup.off', payload: { epoch, offLastEpochs: options.offLastEpochs } }] : [];
      },
      step(step, n): StepHooks | null {
        if (!mixing) return null;
        return mixHooks(env.tf, drawMixupWith(env.rng(mixupStream(step)), env, n, options.alpha));
      },
    };
  },
});
