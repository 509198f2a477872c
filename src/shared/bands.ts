// Descriptive statistics and bands over seeds: mean, SD, SE, the 95% t-interval, and mean curves
// over runs. Split from stats.ts so that the renderer, which draws bands, does not bundle the
// hypothesis tests (computed by the back end); stats.ts re-exports all of it.
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** What a band's half-width is: one sample SD, one standard error, or the 95% t confidence interval of the mean. */
export type BandKind = 'sd' | 'se' | 'ci95';

/** Summary of the finite values of a sample. */
export interface Description {
  /** Number of finite values. */
  n: number;
  /** Mean; null when n=0. */
  mean: number | null;
  /** Sample standard deviation (ddof=1); null when n<2. */
  std: number | null;
  /** Standard error of the mean, std / sqrt(n); null when n<2. */
  se: number | null;
}

/** Mean with a symmetric band around it. */
export interface Band {
  n: number;
  mean: number;
  lo: number;
  hi: number;
}

/** Mean and band per grid index of several runs' curves. */
export interface MeanCurve {
  /** Finite values at each index. */
  n: number[];
  /** Mean at each index; NaN where n=0. */
  mean: number[];
  /** Lower band edge; NaN where n=0, the mean where n=1. */
  lo: number[];
  /** Upper band edge; NaN where n=0, the mean where n=1. */
  hi: number[];
}

/** n, mean, sample SD (ddof=1) and standard error of the finite values; NaN and infinities are ignored. */
export function describe(values: readonly number[]): Description {
  let n = 0;
  let sum = 0;
  for (const v of values) {
    if (Number.isFinite(v)) {
      n++;
      sum += v;
    }
  }
  if (n === 0) return { n, mean: null, std: null, se: null };
  const mean = sum / n;
  if (n < 2) return { n, mean, std: null, se: null };
  let ss = 0;
  for (const v of values) if (Number.isFinite(v)) ss += (v - mean) * (v - mean);
  const std = Math.sqrt(ss / (n - 1));
  return { n, mean, std, se: std / Math.sqrt(n) };
}

const tCache: number[] = [];

/** The two-sided 95% critical value of Student's t, t(0.975, df); cached for integer df. NaN for df <= 0. */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1 || df > 100_000) return tQuantile(0.975, df);
  return (tCache[df] ??= tQuantile(0.975, df));
}

/** Half-width of a band for n finite values with the given SD (0 when n<2, the band collapses to the mean). */
function halfWidth(kind: BandKind, n: number, std: number): number {
  if (n < 2) return 0;
  if (kind === 'sd') return std;
  const se = std / Math.sqrt(n);
  return kind === 'se' ? se : tQuantile975(n - 1) * se;
}

/** Mean ± SD, ± SE or ± t(0.975, n-1)·SE of the finite values; null when there are none, lo = hi = mean when n=1. */
export function band(values: readonly number[], kind: BandKind): Band | null {
  const d = describe(values);
  if (d.mean === null) return null;
  const h = halfWidth(kind, d.n, d.std ?? 0);
  return { n: d.n, mean: d.mean, lo: d.mean - h, hi: d.mean + h };
}

/**
 * Mean curve of several runs with a band: series[j][k] is run j's value at grid index k (NaN or a
 * shorter series = missing). Each index aggregates the finite values there, so n may change along
 * the curve. Two passes over the data into typed accumulators, no allocation per point.
 */
export function meanCurve(series: readonly ArrayLike<number>[], kind: BandKind): MeanCurve {
  let len = 0;
  for (const s of series) len = Math.max(len, s.length);
  const count = new Int32Array(len);
  const mean = new Float64Array(len);
  for (const s of series) {
    for (let k = 0; k < s.length; k++) {
      const v = s[k]!;
      if (v - v === 0) {
        // finite (NaN and ±Infinity give NaN), without a call per point
        count[k]!++;
        mean[k]! += v;
      }
    }
  }
  for (let k = 0; k < len; k++) mean[k] = count[k]! > 0 ? mean[k]! / count[k]! : NaN;
  const ss = new Float64Array(len);
  for (const s of series) {
    for (let k = 0; k < s.length; k++) {
      const v = s[k]!;
      if (v - v === 0) {
        const dv = v - mean[k]!;
        ss[k]! += dv * dv;
      }
    }
  }
  const n = new Array<number>(len);
  const m = new Array<number>(len);
  const lo = new Array<number>(len);
  const hi = new Array<number>(len);
  for (let k = 0; k < len; k++) {
    const c = count[k]!;
    n[k] = c;
    m[k] = mean[k]!;
    const h = c > 1 ? halfWidth(kind, c, Math.sqrt(ss[k]! / (c - 1))) : 0;
    lo[k] = mean[k]! - h;
    hi[k] = mean[k]! + h;
  }
  return { n, mean: m, lo, hi };
}
