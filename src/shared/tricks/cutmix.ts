// CutMix (Yun et al., ICCV 2019, "CutMix: Regularization Strategy to Train Strong Classifiers with
// Localizable Features"), as timm implements it (timm/data/mixup.py: rand_bbox, cutmix_bbox_and_lam):
//
// - With probability `prob` a batch is cut-mixed (else it trains exactly as without CutMix).
// - lambda ~ Beta(alpha, alpha).
// - The box: side ratio r = sqrt(1 - lambda); cut_h = floor(H r), cut_w = floor(W r); its centre
//   cy = floor(u_y H), cx = floor(u_x W) for two uniform draws u in [0, 1) (numpy's randint(H));
//   rows [clip(cy - floor(cut_h / 2)), clip(cy + floor(cut_h / 2))), columns likewise, clipped to
//   [0, H] and [0, W]. (So an odd cut side loses a pixel, and a box near the edge is cut short.)
// - Every image i of the batch gets, inside that one box, the pixels (all channels) of image
//   perm[i] of the same batch; perm is a random permutation (timm flips the batch; a permutation is
//   what our mixup pairs with, so the two read alike).
// - lambda is corrected to 1 - box area / (H W), the share of the image that is still its own, and
//   the targets (one-hot, or label-smoothed) are mixed as lambda t + (1 - lambda) t[perm].
// - Off in the last `offLastEpochs` epochs (like mixup), with a `cutmix.off` event at that epoch.
// - Accuracy counts each sample's own label (the unmixed image's), as with mixup.
// - Images are NHWC. Every draw of a step comes from the stream `cutmix:<step>` of the run seed,
//   in this order: the prob draw, lambda, u_y, u_x, the permutation; so matched pairs and resumed
//   runs cut the same boxes out of the same batches, and `prob` moves none of the other draws.
// - CutMix and mixup together (timm's per-batch switch between them) is refused at tricks.cutmix.
import type * as TF from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { field, int } from '../schema-meta';
import { lossOps } from './loss-ops';
import { checkOffLastEpochs, offEvent, offPhase } from './off-last-epochs';
import { defineTrick, type Rng, type StepHooks, type TrickEnv } from './types';
import { num, plural } from './text';

/** A box of rows [y0, y1) and columns [x0, x1); empty when y0 == y1 or x0 == x1. */
export interface CutBox {
  y0: number;
  y1: number;
  x0: number;
  x1: number;
}

const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);

/** The box for `lambda` on an h x w image, centred at (floor(uy h), floor(ux w)), uy, ux in [0, 1). */
export function cutBox(lambda: number, h: number, w: number, uy: number, ux: number): CutBox {
  if (!(lambda >= 0 && lambda <= 1)) throw new Error(`cutmix: lambda ${lambda} is not in [0, 1]`);
  if (!(uy >= 0 && uy < 1 && ux >= 0 && ux < 1)) throw new Error(`cutmix: box centre draws (${uy}, ${ux}) are not in [0, 1)`);
  const ratio = Math.sqrt(1 - lambda);
  const cutH = Math.floor(h * ratio);
  const cutW = Math.floor(w * ratio);
  const cy = Math.floor(uy * h);
  const cx = Math.floor(ux * w);
  const hh = Math.floor(cutH / 2);
  const hw = Math.floor(cutW / 2);
  return { y0: clip(cy - hh, h), y1: clip(cy + hh, h), x0: clip(cx - hw, w), x1: clip(cx + hw, w) };
}

/** The share of an h x w image outside the box: the corrected lambda. */
export function boxLambda(box: CutBox, h: number, w: number): number {
  return 1 - ((box.y1 - box.y0) * (box.x1 - box.x0)) / (h * w);
}

/** Step `step`'s draws from its stream `cutmix:<step>` (`rng`): null when this batch is not cut
 * (the `prob` draw, made first, so it moves none of the others). */
export interface CutmixDraw {
  /** lambda ~ Beta(alpha, alpha), which sizes the box. */
  drawn: number;
  /** The box centre's draws, uniform in [0, 1): row floor(uy H), column floor(ux W). */
  uy: number;
  ux: number;
  perm: Int32Array;
}

export const cutmixStream = (step: number) => `cutmix:${step}`;

export function drawCutmix(rng: Rng, env: Pick<TrickEnv, 'beta' | 'permutation'>, batch: number, alpha: number, prob: number): CutmixDraw | null {
  if (!(rng.next() < prob)) return null;
  const drawn = env.beta(rng, alpha, alpha);
  const uy = rng.next();
  const ux = rng.next();
  return { drawn, uy, ux, perm: env.permutation(rng, batch) };
}

/** The box of a draw on an h x w image and the corrected lambda: the share of each image that is
 * still its own, the weight of its own targets. */
export function cutFor(d: CutmixDraw, h: number, w: number): { box: CutBox; lambda: number } {
  const box = cutBox(d.drawn, h, w, d.uy, d.ux);
  return { box, lambda: boxLambda(box, h, w) };
}

/** The batch x [N, H, W, C] with, in `box`, the pixels of x[perm] (the box's area, all channels). */
export function cutmixImages(tf: typeof TF, x: TF.Tensor4D, box: CutBox, perm: Int32Array): TF.Tensor4D {
  const [n, h, w] = x.shape;
  if (perm.length !== n) throw new Error(`cutmix: permutation of ${perm.length} for a batch of ${n}`);
  return tf.tidy(() => {
    const inside = new Float32Array(h * w);
    for (let y = box.y0; y < box.y1; y++) inside.fill(1, y * w + box.x0, y * w + box.x1);
    // x (1 - m) + x[perm] m with m in {0, 1}: exact, each pixel is one image's or the other's.
    const m = tf.tensor4d(inside, [1, h, w, 1]);
    const other = tf.gather(x, tf.tensor1d(perm, 'int32'));
    return tf.add(tf.mul(x, tf.sub(1, m)), tf.mul(other, m)) as TF.Tensor4D;
  });
}

/** The step hook of a draw: the images cut and pasted, the targets mixed with the corrected lambda. */
export function cutHooks(tf: typeof TF, d: CutmixDraw): StepHooks {
  const { mixWith } = lossOps(tf);
  return {
    softTargets: true,
    batch(b) {
      const x = b.x as TF.Tensor4D;
      const { box, lambda } = cutFor(d, x.shape[1], x.shape[2]);
      return { x: cutmixImages(tf, x, box, d.perm), targets: mixWith(b.targets!, lambda, d.perm) };
    },
  };
}


export const cutmix = defineTrick({
  name: 'cutmix',
  title: 'CutMix',
  paper: 'Yun et al., ICCV 2019 (as timm implements it)',
  /** lambda ~ Beta(alpha, alpha) sizes one box per batch; a batch is cut with probability prob;
   * off in the last offLastEpochs epochs. */
  schema: z
    .object({
      alpha: field(z.number().positive().default(1), {
        label: 'α',
        hint: 'λ ~ Beta(α, α) per batch; box side √(1 − λ)',
        flag: 'cutmix',
        help: 'CutMix with lambda ~ Beta(alpha, alpha) (e.g. 1, as in the paper)',
      }),
      prob: field(z.number().gt(0).max(1).default(1), {
        label: 'Probability',
        hint: 'share of batches cut, above 0 up to 1',
        flag: 'cutmix-prob',
        help: 'CutMix: the probability that a batch is cut-mixed',
      }),
      offLastEpochs: field(int(0).default(0), { label: 'Off in last epochs', flag: 'cutmix-off-last-epochs', help: 'CutMix: off in the last N epochs' }),
    })
    .strict(),
  toggle: { label: 'CutMix', hint: 'paste a box of another image; targets by area; not with mixup', flag: null, noFlag: '--cutmix ALPHA switches it on' },
  label: (o, differs) => ({
    main: `α=${num(o.alpha)}`,
    extras: [...(differs('prob') ? [`p=${num(o.prob)}`] : []), ...(differs('offLastEpochs') ? [`off in the last ${plural(o.offLastEpochs, 'epoch')}`] : [])],
  }),
  validate(o, ctx) {
    // timm switches between mixup and CutMix per batch when both are set; we have no such switch.
    if (ctx.config.tricks.mixup) ctx.issue([], 'CutMix and mixup cannot both be on (tricks.mixup is set too): turn one of them off');
    checkOffLastEpochs(o.offLastEpochs, 'CutMix', ctx);
  },
  events: {
    'cutmix.off': offEvent('CutMix', '#56b4e9'),
  },
  metrics: [],
  create({ options, config, env }) {
    let cutting = false;
    return {
      epochStart({ epoch }) {
        const phase = offPhase(epoch, config.epochs, options.offLastEpochs);
        cutting = phase.on;
        return phase.stopsNow ? [{ kind: 'cutmix.off', payload: { epoch, offLastEpochs: options.offLastEpochs } }] : [];
      },
      step(step, n): StepHooks | null {
        if (!cutting) return null;
        const d = drawCutmix(env.rng(cutmixStream(step)), env, n, options.alpha, options.prob);
        return d ? cutHooks(env.tf, d) : null; // a batch not cut trains as without CutMix
      },
    };
  },
});
