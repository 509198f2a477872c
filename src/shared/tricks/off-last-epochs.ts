// "Off in the last N epochs" (Bag of Tricks' mixup schedule; timm's mixup_off_epoch): a batch
// transform that trains as usual for the first epochs - N and stops for the last N, with one event
// where it stops. Shared by the tricks that have the option (mixup, CutMix).
import { z } from 'zod';
import { defineEvent, type ValidateContext } from './types';

/** The event where it stops (its payload is what runs recorded before this module existed). */
export function offEvent(title: string, color: string) {
  return defineEvent(z.object({ epoch: z.number(), offLastEpochs: z.number() }), {
    label: `${title} off`,
    color,
    detail: (p) => [`${title} off for the last ${p.offLastEpochs} epoch(s)`],
  });
}

/** It must run in some epoch. */
export function checkOffLastEpochs(offLastEpochs: number, title: string, ctx: ValidateContext): void {
  if (offLastEpochs >= ctx.config.epochs) ctx.issue(['offLastEpochs'], `must be less than epochs (${ctx.config.epochs}), or ${title} never runs`);
}

/** At 0-based epoch `epoch`: whether it is on, and whether this is the epoch it stops at. */
export function offPhase(epoch: number, epochs: number, offLastEpochs: number): { on: boolean; stopsNow: boolean } {
  const offFrom = epochs - offLastEpochs;
  return { on: epoch < offFrom, stopsNow: offLastEpochs > 0 && epoch === offFrom };
}
