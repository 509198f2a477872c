// mixup's draws with the trainer's random streams (the trick itself: src/shared/tricks/mixup.ts).
import { drawMixupWith, mixupStream, type MixupDraw } from '../../shared/tricks/mixup';
import { makeRng, permutation } from '../../shared/rng';
import { betaDraw } from './index';

export type { MixupDraw } from '../../shared/tricks/mixup';

/** Step `step`'s lambda and pairing: depends only on (seed, step). */
export function drawMixup(seed: number, step: number, batch: number, alpha: number): MixupDraw {
  return drawMixupWith(makeRng(seed, mixupStream(step)), { beta: betaDraw, permutation: (rng, n) => permutation(rng, n) }, batch, alpha);
}
