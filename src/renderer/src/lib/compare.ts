// Curves of a comparison: per arm, the mean over its seeds with a band (SD, SE or 95% CI), the
// seeds themselves on demand, and per-seed differences to the baseline with their mean and CI. The
// input is the store's aligned histories (one grid for every run), so no resampling happens here;
// Chart.js decimates (LTTB) only when drawing.
import type { AlignedHistory, AlignedHistoryWire } from '../../../shared/api';
import { meanCurve, type BandKind } from '../../../shared/bands';

export type CompareX = 'epoch' | 'step' | 'time';

export interface ArmRuns {
  name: string;
  color: string;
  role: 'baseline' | 'arm';
  /** run id -> seed */
  runs: { runId: number; seed: number }[];
  /** The arm its differences are taken against (the comparison's reference: the baseline, the
   * previous arm or a named one); absent: the baseline. The reference arm itself has null. */
  reference?: string | null;
}

export interface Pt {
  x: number;
  y: number;
}

/** One drawn line: a mean with its band, or a single seed (thin, faint). */
export interface BandLine {
  label: string;
  color: string;
  points: Pt[];
  /** Lower and upper edge of the band at the same x as `points`. */
  band?: { lo: Pt[]; hi: Pt[] };
  /** Seed lines: thin and faint, behind the means. */
  seed?: boolean;
  /** The unsmoothed mean behind a smoothed one (TensorBoard's convention): faint, thin, behind. */
  raw?: boolean;
  /** Where the number of runs behind the mean changes (x, n), the first point included. */
  nChanges?: { x: number; n: number }[];
  /** n at each point of `points` (tooltips). */
  n?: number[];
}

function f32(b64: string): Float32Array {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

/** The store's aligned histories as they came over the wire (float32, base64). */
export function decodeAligned(w: AlignedHistoryWire): AlignedHistory {
  return { ...w, values: w.values.map(f32), elapsed: w.elapsed?.map(f32) ?? null };
}

/** TensorBoard's smoothing: an exponential moving average, debiased so the start is not pulled
 * towards 0; missing values are skipped (stay missing). weight 0 = no smoothing. */
export function smooth(values: ArrayLike<number | null>, weight: number): ArrayLike<number> {
  // nothing to smooth: the values as they are (null only comes from hand-made input)
  if (weight <= 0 && values instanceof Float32Array) return values;
  const out = new Array<number>(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      out[i] = NaN;
      continue;
    }
    if (weight <= 0) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count++;
    out[i] = last / (1 - weight ** count);
  }
  return out;
}

/** A per-step series (train/loss_step, lr_step, a logger's per-step train/loss): points between
 * whole epochs (a step sits at e + (i + 1)/n). Per-epoch curves sit on whole epochs only. */
export function isPerStep(h: AlignedHistory | undefined): boolean {
  return !!h && h.epoch.some((e) => !Number.isInteger(e));
}

/** Smoothing applies to per-step series only: a per-epoch curve has a handful of points, and an
 * EMA over 3 of them at 0.8 ends far from the last measured value (60% where it was 95%). */
export function smoothingFor(h: AlignedHistory | undefined, weight: number): number {
  return isPerStep(h) ? weight : 0;
}

function rowsOf(h: AlignedHistory): Map<number, number> {
  return new Map(h.runIds.map((id, j) => [id, j]));
}

/** x of grid point k for a run j (time: its own elapsed seconds) or for a mean over runs (time:
 * their mean elapsed seconds at k). */
function xAt(h: AlignedHistory, k: number, x: CompareX, js: readonly number[]): number {
  if (x === 'epoch') return h.epoch[k]!;
  if (x === 'step') return h.step[k]!;
  let s = 0;
  let n = 0;
  for (const j of js) {
    const t = h.elapsed?.[j]?.[k];
    if (t !== undefined && Number.isFinite(t)) {
      s += t;
      n++;
    }
  }
  return n ? s / n : NaN;
}

function meanLine(h: AlignedHistory, label: string, color: string, series: ArrayLike<number>[], js: number[], x: CompareX, band: BandKind): BandLine {
  const c = meanCurve(series, band);
  const points: Pt[] = [];
  const lo: Pt[] = [];
  const hi: Pt[] = [];
  const n: number[] = [];
  const nChanges: { x: number; n: number }[] = [];
  for (let k = 0; k < h.epoch.length; k++) {
    if (!c.n[k]) continue;
    const xv = xAt(h, k, x, js);
    if (!Number.isFinite(xv)) continue;
    points.push({ x: xv, y: c.mean[k]! });
    lo.push({ x: xv, y: c.lo[k]! });
    hi.push({ x: xv, y: c.hi[k]! });
    if (!nChanges.length || nChanges[nChanges.length - 1]!.n !== c.n[k]) nChanges.push({ x: xv, n: c.n[k]! });
    n.push(c.n[k]!);
  }
  return { label, color, points, band: { lo, hi }, n, nChanges };
}

/** The raw mean behind a smoothed one: its points only, no band. */
function rawLine(h: AlignedHistory, label: string, color: string, series: ArrayLike<number>[], js: number[], x: CompareX): BandLine {
  const { points } = meanLine(h, `${label} (raw)`, color, series, js, x, 'sd');
  return { label: `${label} (raw)`, color, points, raw: true };
}

/** Per arm: mean ± band over its seeds (and each seed, faint, when asked). Smoothing applies to
 * per-step series only (smoothingFor), with the raw mean drawn faintly behind the smoothed one. */
export function armCurves(h: AlignedHistory | undefined, arms: readonly ArmRuns[], o: { x: CompareX; band: BandKind; smoothing: number; seeds: boolean }): BandLine[] {
  if (!h) return [];
  const row = rowsOf(h);
  const weight = smoothingFor(h, o.smoothing);
  const means: BandLine[] = [];
  const raws: BandLine[] = [];
  const seeds: BandLine[] = [];
  for (const arm of arms) {
    const js = arm.runs.map((r) => row.get(r.runId)).filter((j): j is number => j !== undefined);
    const series = js.map((j) => smooth(h.values[j]!, weight));
    if (!series.some((s) => Array.prototype.some.call(s, Number.isFinite))) continue;
    means.push(meanLine(h, arm.name, arm.color, series, js, o.x, o.band));
    if (weight > 0) raws.push(rawLine(h, arm.name, arm.color, js.map((j) => h.values[j]!), js, o.x));
    if (o.seeds) {
      js.forEach((j, i) => {
        const pts: Pt[] = [];
        const ys = series[i]!;
        for (let k = 0; k < ys.length; k++) {
          const y = ys[k]!;
          const xv = xAt(h, k, o.x, [j]);
          if (Number.isFinite(y) && Number.isFinite(xv)) pts.push({ x: xv, y });
        }
        seeds.push({ label: `${arm.name} · seed ${arm.runs.find((r) => row.get(r.runId) === j)!.seed}`, color: arm.color, points: pts, seed: true });
      });
    }
  }
  return [...means, ...raws, ...seeds];
}

/** Per arm other than the baseline: arm minus baseline for every seed both have, mean ± band of
 * those differences (a band off zero = a consistent effect), seeds faint on demand. Time as x has
 * no common grid for two runs, so differences use the epoch when x is time. */
export function diffCurves(h: AlignedHistory | undefined, arms: readonly ArmRuns[], o: { x: CompareX; band: BandKind; smoothing: number; seeds: boolean }): BandLine[] {
  if (!h) return [];
  const baseline = arms.find((a) => a.role === 'baseline');
  const row = rowsOf(h);
  const x: CompareX = o.x === 'time' ? 'epoch' : o.x;
  const weight = smoothingFor(h, o.smoothing);
  const means: BandLine[] = [];
  const raws: BandLine[] = [];
  const seeds: BandLine[] = [];
  for (const arm of arms) {
    const base = arm.reference === undefined ? (arm === baseline ? undefined : baseline) : arms.find((a) => a.name === arm.reference);
    if (!base) continue;
    const baseBySeed = new Map(base.runs.map((r) => [r.seed, row.get(r.runId)]));
    const diffs: Float64Array[] = [];
    const rawDiffs: Float64Array[] = [];
    const labels: string[] = [];
    for (const r of arm.runs) {
      const j = row.get(r.runId);
      const b = baseBySeed.get(r.seed);
      if (j === undefined || b === undefined) continue;
      const a = smooth(h.values[j]!, weight);
      const bb = smooth(h.values[b]!, weight);
      const d = new Float64Array(a.length);
      for (let k = 0; k < d.length; k++) d[k] = a[k]! - bb[k]!; // NaN where either is missing
      diffs.push(d);
      if (weight > 0) {
        const ra = h.values[j]!;
        const rb = h.values[b]!;
        const r = new Float64Array(ra.length);
        for (let k = 0; k < r.length; k++) r[k] = ra[k]! - rb[k]!;
        rawDiffs.push(r);
      }
      labels.push(`${arm.name} − ${base.name} · seed ${r.seed}`);
    }
    if (!diffs.length) continue;
    means.push(meanLine(h, `${arm.name} − ${base.name}`, arm.color, diffs, [], x, o.band));
    if (weight > 0) raws.push(rawLine(h, `${arm.name} − ${base.name}`, arm.color, rawDiffs, [], x));
    if (o.seeds) {
      diffs.forEach((d, i) => {
        const pts: Pt[] = [];
        d.forEach((y, k) => Number.isFinite(y) && pts.push({ x: xAt(h, k, x, []), y }));
        seeds.push({ label: labels[i]!, color: arm.color, points: pts, seed: true });
      });
    }
  }
  return [...means, ...raws, ...seeds];
}
