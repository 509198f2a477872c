// Learning-rate schedules, evaluated per batch (Bag of Tricks, He et al. 2019, section 3).
import type { RunConfig } from '../../shared/config';

/** LR for global step `step` (0-based) of a run with `stepsPerEpoch` batches per epoch. */
export function learningRate(cfg: Pick<RunConfig, 'schedule' | 'epochs'>, lr0: number, step: number, stepsPerEpoch: number): number {
  const s = cfg.schedule;
  const warmup = Math.round(s.warmupEpochs * stepsPerEpoch);
  // Linear warmup from 0: the first step already moves (lr0/W), the W-th reaches lr0.
  if (step < warmup) return (lr0 * (step + 1)) / warmup;
  switch (s.name) {
    case 'constant':
      return lr0;
    case 'step': {
      const epoch = Math.floor(step / stepsPerEpoch);
      const passed = s.milestones.filter((m) => m <= epoch).length;
      return lr0 * s.gamma ** passed;
    }
    case 'cosine': {
      const total = cfg.epochs * stepsPerEpoch - warmup;
      const t = step - warmup;
      return 0.5 * (1 + Math.cos((Math.PI * t) / total)) * lr0;
    }
  }
}
