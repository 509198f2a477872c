// How long long work will take: a running run's time left from its measured speed, and estimates
// for runs not started yet from runs of the same model and data that ran on this machine (their
// measured epoch times: metric time/epoch_s, and the rest of their wall time: loading, testing).
// Where nothing measured applies, the estimate is null and the page says "unknown": never a guess
// from nothing. Pure: the renderer, the presets page and the tests use it alike.
import type { RunProgress, RunStatus, RunSummary } from './api';
import type { RunConfig } from './config';

/** Seconds in a few characters: "45s", "3m 20s", "1h 05m", "2d 3h". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '–';
  const r = Math.round(s);
  if (r < 60) return `${Math.max(r, 1)}s`;
  const m = Math.floor(r / 60);
  if (m < 60) return `${m}m ${String(r % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

// ---- what finished runs measured ----------------------------------------------------------------

/** One run's measured timing. `overheadS`: wall time outside its epochs (loading the data,
 * building the model, the test evaluation); null when not known (the run has not finished). */
export interface TimingSample {
  runId: number;
  config: RunConfig;
  epochS: number;
  overheadS: number | null;
  /** workKey and detailKey of its config, worked out once. */
  work: string;
  detail: string;
}

type TimedRun = Pick<RunSummary, 'id' | 'status' | 'config' | 'final' | 'startedAt' | 'endedAt'>;

/** Wall time outside the epochs that loading, building and testing can plausibly take. */
const MAX_PLAIN_OVERHEAD_S = 300;

/** The timing every run measured: a completed run's last epoch time (time/epoch_s) and its wall
 * time beyond its epochs; a run still running or stopped, its epoch time once it has one. A
 * completed run without epoch times (imported) gives its wall time per epoch. */
export function timingSamples(runs: readonly TimedRun[]): TimingSample[] {
  return runs.flatMap((r) => timingSample(r) ?? []);
}

/** One run's timing sample (timingSamples), or null when it measured nothing usable. */
export function timingSample(r: TimedRun): TimingSample | null {
  return r.config ? configuredTiming({ ...r, config: r.config }) : null; // an external run's work is not known
}

function configuredTiming(r: TimedRun & { config: RunConfig }): TimingSample | null {
  const keys = () => ({ work: workKey(r.config), detail: detailKey(r.config) });
  const epochS = r.final['time/epoch_s'];
  const wallS = r.status === 'completed' && r.startedAt !== null && r.endedAt !== null ? (r.endedAt - r.startedAt) / 1000 : null;
  if (epochS !== undefined && Number.isFinite(epochS) && epochS > 0) {
    const outside = wallS === null ? null : Math.max(0, wallS - r.config.epochs * epochS);
    // A run stopped and resumed keeps its first start time, so its wall time holds the pause
    // (a night between Stop and Resume): beyond what loading and testing take (the epochs' own
    // time, and at least 5 minutes) it is not overhead but unknown.
    const overheadS = outside === null || outside > Math.max(MAX_PLAIN_OVERHEAD_S, r.config.epochs * epochS) ? null : outside;
    return { runId: r.id, config: r.config, epochS, overheadS, ...keys() };
  } else if (wallS !== null && wallS > 0) {
    return { runId: r.id, config: r.config, epochS: wallS / r.config.epochs, overheadS: null, ...keys() };
  }
  return null;
}

/** What an epoch's time depends on first: the model and the data (which images, at what size). */
function workKey(c: RunConfig): string {
  const d = c.dataset;
  return JSON.stringify([c.model, d.name, d.imageSize, d.trainSubset, d.valSplit, d.testSplit, d.classes, d.labels]);
}
/** What it depends on next: tricks (R-Drop doubles the passes), batch size, augmentation. */
function detailKey(c: RunConfig): string {
  const on = Object.entries(c.tricks)
    .filter(([, v]) => v !== null)
    .map(([k]) => k)
    .sort();
  return JSON.stringify([on, c.batchSize, c.augment]);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export interface Estimate {
  /** Whole run, seconds. */
  seconds: number;
  /** Seconds per epoch it is based on. */
  epochS: number;
  /** Runs it is based on, and whether they had the same tricks, batch size and augmentation. */
  from: number[];
  exact: boolean;
}

/** How long a run of this config takes here, from runs of the same model on the same data (same
 * images, same size); those that also share its tricks, batch size and augmentation when there
 * are any. Null when no such run has been timed. */
export function estimateRun(config: RunConfig, samples: readonly TimingSample[]): Estimate | null {
  const key = workKey(config);
  const same = samples.filter((s) => s.work === key);
  if (!same.length) return null;
  const detail = detailKey(config);
  const closer = same.filter((s) => s.detail === detail);
  const basis = closer.length ? closer : same;
  const epochS = median(basis.map((s) => s.epochS));
  const overheads = (closer.some((s) => s.overheadS !== null) ? closer : same).flatMap((s) => (s.overheadS === null ? [] : [s.overheadS]));
  const overheadS = overheads.length ? median(overheads) : 0;
  return { seconds: config.epochs * epochS + overheadS, epochS, from: basis.map((s) => s.runId), exact: closer.length > 0 };
}

// ---- a running run ------------------------------------------------------------------------------

/** Step rates of running runs, from their progress reports as they arrive (time, step): the
 * steps per second over the last `windowMs`. A step count that goes back (a resume) starts over. */
export class StepRates {
  private readonly seen = new Map<number, { t: number; step: number }[]>();
  constructor(private readonly windowMs = 20_000) {}

  add(runId: number, step: number, t: number): void {
    let s = this.seen.get(runId);
    if (!s || (s.length && step < s[s.length - 1]!.step)) this.seen.set(runId, (s = []));
    s.push({ t, step });
    while (s.length > 2 && t - s[0]!.t > this.windowMs) s.shift();
  }

  /** Steps per second, or null before two reports at least a second apart with steps between. */
  stepsPerS(runId: number): number | null {
    const s = this.seen.get(runId);
    if (!s || s.length < 2) return null;
    const a = s[0]!;
    const b = s[s.length - 1]!;
    const dt = (b.t - a.t) / 1000;
    return dt >= 1 && b.step > a.step ? (b.step - a.step) / dt : null;
  }

  forget(runId: number): void {
    this.seen.delete(runId);
  }
}

export interface TimeLeft {
  /** Seconds until the run ends; null while nothing has been measured. */
  seconds: number | null;
  /** Training images per second: measured now (progress), else the last epoch's metric. */
  imgPerS: number | null;
}

/** A running run's time left: the remaining steps at its last epoch's pace (time/epoch_s: the
 * validation included), or, during its first epoch, at the step rate measured now. */
export function runTimeLeft(run: { progress: RunProgress; config: Pick<RunConfig, 'batchSize'>; final: Record<string, number> }, stepsPerS: number | null): TimeLeft {
  const p = run.progress;
  const total = p.epochs * p.stepsPerEpoch;
  const remaining = Math.max(0, total - p.step);
  const epochS = run.final['time/epoch_s'];
  const measured = run.final['throughput/img_s'];
  const imgPerS = stepsPerS !== null ? stepsPerS * run.config.batchSize : measured !== undefined && Number.isFinite(measured) ? measured : null;
  if (remaining === 0) return { seconds: 0, imgPerS };
  if (epochS !== undefined && epochS > 0 && p.stepsPerEpoch > 0) return { seconds: (remaining / p.stepsPerEpoch) * epochS, imgPerS };
  if (stepsPerS !== null && stepsPerS > 0) return { seconds: remaining / stepsPerS, imgPerS };
  return { seconds: null, imgPerS };
}

// ---- several runs: an experiment, the queue ------------------------------------------------------

/** One run to account for: done, stopped, running (`fraction` done, `left` seconds), queued or
 * planned (not created yet: `left` its estimate). `left` null: not known. */
export interface WorkItem {
  status: RunStatus | 'planned';
  fraction?: number;
  left: number | null;
}

export interface WorkSummary {
  total: number;
  completed: number;
  /** Running, queued and planned runs. */
  pending: number;
  /** Cancelled, failed or interrupted. */
  stopped: number;
  /** Share of the runs done (a running run counts by its progress), 0..1. */
  fraction: number;
  /** Seconds until the pending runs with an estimate are done, at `parallel` runs at a time;
   * null when none of them has one. */
  secondsLeft: number | null;
  /** Pending runs without an estimate. */
  unknown: number;
}

export function summarizeWork(items: readonly WorkItem[], parallel = 1): WorkSummary {
  let completed = 0;
  let pending = 0;
  let stopped = 0;
  let doneish = 0;
  let left = 0;
  let known = 0;
  let unknown = 0;
  for (const it of items) {
    if (it.status === 'completed') {
      completed++;
      doneish++;
      continue;
    }
    if (it.status === 'running' || it.status === 'queued' || it.status === 'planned') {
      pending++;
      if (it.status === 'running') doneish += Math.min(1, Math.max(0, it.fraction ?? 0));
      if (it.left === null) unknown++;
      else {
        known++;
        left += it.left;
      }
      continue;
    }
    stopped++;
  }
  return {
    total: items.length,
    completed,
    pending,
    stopped,
    fraction: items.length ? doneish / items.length : 0,
    secondsLeft: known ? left / Math.max(1, parallel) : null,
    unknown,
  };
}

/** "about 12m 30s left", "at least 4m left (2 runs not estimated)", "time left unknown", "". */
export function etaText(w: Pick<WorkSummary, 'pending' | 'secondsLeft' | 'unknown'>): string {
  if (!w.pending) return '';
  if (w.secondsLeft === null) return 'time left unknown: no run like these has finished here yet';
  if (!w.unknown) return `about ${formatSeconds(w.secondsLeft)} left`;
  return `at least ${formatSeconds(w.secondsLeft)} left (${w.unknown} run${w.unknown === 1 ? '' : 's'} not estimated)`;
}

/** Runs about to start, in words: "6 runs, about 12m" / "6 runs, time unknown (...)". */
export function planText(estimates: readonly (Estimate | null)[]): { runs: number; seconds: number | null; unknown: number; text: string } {
  const known = estimates.filter((e): e is Estimate => e !== null);
  const seconds = known.length ? known.reduce((s, e) => s + e.seconds, 0) : null;
  const unknown = estimates.length - known.length;
  const runs = `${estimates.length} run${estimates.length === 1 ? '' : 's'}`;
  let text: string;
  if (seconds === null) text = `${runs}, time unknown (no run of this model and data has finished on this machine yet)`;
  else if (unknown) text = `${runs}, at least ${formatSeconds(seconds)} (${unknown} not estimated: no run like ${unknown === 1 ? 'it' : 'them'} has finished here)`;
  else text = `${runs}, about ${formatSeconds(seconds)}`;
  return { runs: estimates.length, seconds, unknown, text };
}
