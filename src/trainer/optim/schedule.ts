// Learning-rate schedules, evaluated per batch (Bag of Tricks, He et al. 2019, section 3).
import type { RunConfig } from '../../shared/config';
import type { RunEventDraft } from '../../shared/events';

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

/** The schedule's own events at the start of 0-based epoch `epoch`: a step decay's milestone. */
export function scheduleEpochEvents(cfg: Pick<RunConfig, 'schedule' | 'epochs'>, lr0: number, epoch: number, step: number, stepsPerEpoch: number): RunEventDraft[] {
  const s = cfg.schedule;
  if (s.name !== 'step' || !s.milestones.includes(epoch)) return [];
  return [{ kind: 'lr.phase', epoch, step, payload: { phase: 'step decay', milestone: epoch, lr: learningRate(cfg, lr0, step, stepsPerEpoch) } }];
}

/** The schedule's own events before global step `step` (0-based): the end of warmup. */
export function scheduleStepEvents(cfg: Pick<RunConfig, 'schedule' | 'epochs'>, lr0: number, epoch: number, step: number, stepsPerEpoch: number): RunEventDraft[] {
  const s = cfg.schedule;
  const warmupSteps = Math.round(s.warmupEpochs * stepsPerEpoch);
  if (warmupSteps === 0 || step !== warmupSteps) return [];
  return [{ kind: 'lr.phase', epoch, step, payload: { phase: 'warmup end', next: s.name, lr: learningRate(cfg, lr0, step, stepsPerEpoch) } }];
}
