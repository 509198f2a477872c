// mixup (Zhang et al., ICLR 2018; Bag of Tricks, He et al. 2019): one lambda ~ Beta(alpha, alpha)
// per batch, each sample paired with a random permutation of the batch. The draws of a step depend
// only on (run seed, global step), so a resumed run and the arms of a matched pair mix alike.
import betaFactory from '@stdlib/random-base-beta';
import type { RunConfig } from '../../shared/config';
import { makeRng, permutation } from '../../shared/rng';

export interface MixupDraw {
  lambda: number;
  perm: Int32Array;
}

export function drawMixup(seed: number, step: number, batch: number, alpha: number): MixupDraw {
  const rng = makeRng(seed, `mixup:${step}`);
  const beta = betaFactory.factory(alpha, alpha, { prng: rng.next });
  const lambda = beta();
  return { lambda, perm: permutation(rng, batch) };
}

/** Whether mixup applies in epoch `epoch` (0-based): on, except in the last offLastEpochs. */
export function mixupActive(cfg: Pick<RunConfig, 'tricks' | 'epochs'>, epoch: number): boolean {
  const m = cfg.tricks.mixup;
  return m !== null && epoch < cfg.epochs - m.offLastEpochs;
}
