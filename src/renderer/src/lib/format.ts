// Number, time and label formatting shared by the pages.
import { describeConfig, describeModel } from '@shared/config';
import type { RunConfig } from '@shared/config';
import type { RunProgress, RunSummary } from '@shared/api';

const DASH = '–';

export function isAccuracyKey(key: string): boolean {
  return /(^|\/)acc/.test(key);
}
export function isLossKey(key: string): boolean {
  return /(^|\/)loss/.test(key);
}

/** Accuracies (fractions) as percentages with 2 decimals. */
export function pct(v: number | null | undefined): string {
  return v == null || !Number.isFinite(v) ? DASH : `${(v * 100).toFixed(2)}%`;
}

/** Losses with 4 significant digits. */
export function loss(v: number | null | undefined): string {
  if (v == null) return DASH;
  if (!Number.isFinite(v)) return String(v);
  return v.toPrecision(4);
}

export function num(v: number | null | undefined, digits = 4): string {
  if (v == null) return DASH;
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(2);
  return String(Number(v.toPrecision(digits)));
}

/** Format a metric value by its key. */
export function metric(key: string, v: number | null | undefined): string {
  if (isAccuracyKey(key)) return pct(v);
  if (isLossKey(key)) return loss(v);
  if (key.startsWith('time/') && v != null) return `${v.toFixed(2)} s`;
  if (key.startsWith('throughput/') && v != null) return `${Math.round(v)} img/s`;
  return num(v);
}

export function duration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms) || ms < 0) return DASH;
  const s = Math.round(ms / 1000);
  if (s < 60) return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** Wall time of a run, live while it runs (`now` is a ticking clock). */
export function runDuration(r: RunSummary, now: number): number | null {
  if (r.startedAt == null) return null;
  return (r.endedAt ?? (r.status === 'running' ? now : r.startedAt)) - r.startedAt;
}

const pad = (n: number) => String(n).padStart(2, '0');

export function dateTime(ms: number | null | undefined): string {
  if (ms == null) return DASH;
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Compact time for tables: time only for today, else date + time. */
export function shortDateTime(ms: number | null | undefined): string {
  if (ms == null) return DASH;
  const d = new Date(ms);
  const now = new Date();
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === now.toDateString()) return `${hm}:${pad(d.getSeconds())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

export function runName(r: { name: string; config: RunConfig }): string {
  return r.name.trim() || describeConfig(r.config);
}

export function runLabel(r: { id: number; name: string; config: RunConfig }): string {
  return `#${r.id} ${runName(r)}`;
}

export function modelLabel(c: RunConfig): string {
  return describeModel(c.model);
}

export function datasetLabel(c: RunConfig): string {
  return c.dataset.trainSubset != null ? `${c.dataset.name} ×${c.dataset.trainSubset}` : c.dataset.name;
}

export function optimizerLabel(c: RunConfig): string {
  return `${c.optimizer.name} ${num(c.optimizer.lr)}`;
}

/** Fraction done (0..1) from live progress. `epoch` is the 0-based epoch in progress. */
export function progressFraction(p: RunProgress): number {
  const total = p.epochs * p.stepsPerEpoch;
  if (total > 0) return Math.min(1, Math.max(0, p.step / total));
  return p.epochs > 0 ? Math.min(1, p.epoch / p.epochs) : 0;
}

/** "epoch e/E" where e counts the epoch in progress from 1. */
export function progressEpochLabel(p: RunProgress): string {
  return `epoch ${Math.min(p.epoch + 1, p.epochs)}/${p.epochs}`;
}
