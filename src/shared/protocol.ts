// Messages a trainer process sends to its host (over the fork IPC channel). The trainer also
// writes everything durable into the store itself; these messages only drive live UI updates.
import type { MetricPoint, RunEvent, RunStatus } from './api';

export type TrainerMessage =
  | { type: 'started'; runId: number; backend: string; device: string; pid: number }
  | {
      type: 'progress';
      runId: number;
      epoch: number; // 0-based epoch in progress
      epochs: number;
      step: number; // global step count done
      stepsPerEpoch: number;
      phase: 'train' | 'eval';
    }
  | { type: 'metrics'; runId: number; points: MetricPoint[] }
  | { type: 'event'; runId: number; event: RunEvent }
  | { type: 'finished'; runId: number; status: RunStatus; error: string | null };

/** Host -> trainer. */
export type HostMessage = { type: 'cancel' };
