// Number, time and label formatting shared by the pages.
import { datasetText, modelText, optimizerText, runTitle, tricksOf, type RunSettings } from '../../../shared/run-info';
import type { RunProgress, RunSummary } from '../../../shared/api';
import { isFraction, metricSpec } from '../../../shared/metrics';

const DASH = '–';

/** An accuracy-type key (the metric table's unit fraction): shown in percent. */
export function isAccuracyKey(key: string): boolean {
  return isFraction(key);
}
/** A loss-type key (the metric table: lower is better, a plain number: losses, errors): shown with
 * 4 significant digits. */
export function isLossKey(key: string): boolean {
  const s = metricSpec(key);
  return s.direction === 'lower' && s.unit === '';
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

/** Format a metric value by its key's unit (shared/metrics.ts). */
export function metric(key: string, v: number | null | undefined): string {
  const unit = metricSpec(key).unit;
  if (unit === 'fraction') return pct(v);
  if (unit === 's' && v != null) return `${v.toFixed(2)} s`;
  if (unit === 'img/s' && v != null) return `${Math.round(v)} img/s`;
  if (isLossKey(key)) return loss(v);
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

/** A run's name, else one made from its config or (an external run) its params. */
export function runName(r: RunSettings & { name: string; seed?: number }): string {
  return runTitle(r);
}

/** A run's label where space is short (chart legends, pickers): `#12` and its name, at most
 * `max` characters, shortened at the start so that the end stays — an experiment run's arm and
 * seed (`exp · arm · seed 3`), a generated name's tricks and seed. The full name is runName. */
export function runLabel(r: RunSettings & { id: number; name: string; seed?: number }, max = 64): string {
  const id = `#${r.id} `;
  return id + keepEnd(runName(r), Math.max(12, max - id.length));
}

/** A name of ` · `-separated parts shortened to `max` characters from the start: the first parts
 * lose their ends ("Bag of tricks abl… · + label smoothing · seed 3"); a last part too long on
 * its own keeps its start and end ("…" between). */
export function keepEnd(name: string, max: number): string {
  if (name.length <= max) return name;
  const { head, middle, end } = nameParts(name);
  if (!end) return `${name.slice(0, max - 1).trimEnd()}…`; // one part: its start
  const tail = middle ? `${middle} · ${end}` : end;
  const room = max - tail.length - 4; // "…" and " · "
  if (head && room >= 6) return `${head.slice(0, room).trimEnd()}… · ${tail}`;
  // the last part stays whole; the one before it (an arm) is shortened at its end
  const before = middle ? (head ? `… · ${middle}` : middle) : head;
  const rest = max - end.length - 4;
  if (before.length <= rest + 1) return `${before} · ${end}`;
  if (rest >= 6) return `${before.slice(0, rest).trimEnd()}… · ${end}`;
  return `${name.slice(0, max - 1).trimEnd()}…`;
}

/** A name cut in three for display: the parts that may be shortened first (`head`), the part
 * before the last (`middle`: an experiment run's arm, a generated name's tricks) and the last
 * (`end`: the seed), split at ` · `. A name without ` · ` is all head. */
export function nameParts(name: string): { head: string; middle: string; end: string } {
  const parts = name.split(' · ');
  if (parts.length === 1) return { head: name, middle: '', end: '' };
  const end = parts.pop()!;
  const middle = parts.length >= 2 ? parts.pop()! : '';
  return { head: parts.join(' · '), middle, end };
}

/** The tricks a run uses, as short labels (labels.ts), or a dash. */
/** Our runs' tricks; an external run's are unknown (its params say what it does): a dash. */
export function tricksLabel(r: RunSettings): string {
  return tricksOf(r) || DASH;
}

/** "13 runs", or "3 of 13 runs" when a filter hides some. */
export function countOf(shown: number, total: number, noun = 'run'): string {
  const of = (n: number) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  return shown === total ? of(total) : `${shown} of ${of(total)}`;
}

/** The model (an external run's `model`/`arch` param), or a dash when unknown. */
export function modelLabel(r: RunSettings): string {
  return modelText(r) || DASH;
}

export function datasetLabel(r: RunSettings): string {
  return datasetText(r) || DASH;
}

export function optimizerLabel(r: RunSettings): string {
  return optimizerText(r, (v) => num(v)) || DASH;
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
