// Statistics for paired multi-seed comparisons: summaries and bands of a metric over seeds, the
// paired t-test and Wilcoxon signed-rank test of an arm against its base, and mean curves over runs.
// Used by Node code and the renderer, so it imports nothing but the @stdlib packages below; the
// distributions are theirs, this module only decides which test applies and how to read it.
// tests/unit/stats.test.ts checks it against SciPy 1.17 (tests/reference/stats_reference.py).
//
// Wilcoxon p-values follow scipy.stats.wilcoxon's defaults (zero_method='wilcox': zero differences
// are dropped; correction=False; method='auto'), which choose by N, the number of pairs, zeros
// included:
//   N > 50                          normal approximation, no continuity correction;
//   N <= 50, no zero, no tied |d|   exact signed-rank distribution;
//   N <= 13, zeros but no ties      SciPy's permutation test, which then equals the exact test on
//                                   the non-zero differences (what we compute);
//   14 <= N <= 50, zeros or ties    normal approximation, no continuity correction.
// N <= 13 with tied |d| (e.g. identical differences): SciPy runs an exact permutation test over
// all 2^m sign flips of the non-zero differences with average ranks; @stdlib has no exact test with
// ties, so signFlipP below enumerates those at most 2^13 flips (counting, not a distribution).

import ttest from '@stdlib/stats-ttest';
import wilcoxon from '@stdlib/stats-wilcoxon';
import { describe } from './bands';

export * from './bands';

/** An arm against its base over matched seeds; differences are arm - base. */
export interface PairedComparison {
  /** Pairs with both values finite. */
  n: number;
  /** Mean difference arm - base; null when n=0. */
  delta: number | null;
  /** Sample SD of the differences (ddof=1); null when n<2. */
  sdDelta: number | null;
  /** 95% t-interval of the mean difference; null when n<2, [delta, delta] when the differences have no variance. */
  ci95: [number, number] | null;
  /** Two-sided paired t-test p; null when n<2 or the differences have no variance. */
  pTTest: number | null;
  /** Two-sided Wilcoxon signed-rank p (SciPy's default; see the top of this file); null when no difference is non-zero. */
  pWilcoxon: number | null;
  /** Why pTTest is null, for a table cell; null when it is not. */
  tTestNote: string | null;
  /** Why pWilcoxon is null, or how to read it (too few seeds to ever reach p<0.05, approximated); null otherwise. */
  wilcoxonNote: string | null;
  /** The exact test with at most 5 non-zero differences: its smallest two-sided p (2 / 2^m) is
   * above 0.05, so no outcome could be significant; a comparison table shows the note, not the number. */
  wilcoxonTooFew: boolean;
  /** Pairs where the arm is strictly better (higher or lower, per higherIsBetter). */
  betterIn: number;
  /** Pairs where the arm is strictly worse. */
  worseIn: number;
  /** Pairs with equal values. */
  tiedIn: number;
}

/** True when the sorted values have two equal neighbours. */
function hasTies(sorted: Float64Array): boolean {
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) return true;
  return false;
}

/**
 * Exact two-sided signed-rank p of differences with no zeros and no ties. @stdlib computes the upper
 * tail as 1 - CDF, which loses all precision for tiny p (2 / 2^30 when 30 differences agree), so we
 * hand it the orientation whose rank sum is below its mean (the two-sided p is symmetric) and clip
 * to 1 as SciPy does (a rank sum exactly at the mean gives 2·CDF > 1). One difference: the exact
 * distribution is two equally likely outcomes, p = 1 (SciPy's answer; @stdlib needs two values).
 */
function exactWilcoxon(nonzero: Float64Array): number {
  const m = nonzero.length;
  if (m === 1) return 1;
  let r = wilcoxon(nonzero);
  if (r.statistic > (m * (m + 1)) / 4) r = wilcoxon(nonzero.map((v) => -v));
  return Math.min(1, r.pValue);
}

/** Two-sided p of the signed-rank sum W+ over every sign flip of the non-zero differences (each of
 * the 2^m equally likely under the null), with average ranks for tied |d|: the exact permutation
 * test SciPy runs for N <= 13 with ties. p = min(1, 2 min(P(W <= w), P(W >= w))). */
function signFlipP(nonzero: Float64Array): number {
  const m = nonzero.length;
  const order = Array.from(nonzero.keys()).sort((i, j) => Math.abs(nonzero[i]!) - Math.abs(nonzero[j]!));
  const ranks = new Float64Array(m);
  for (let i = 0; i < m; ) {
    let j = i;
    while (j + 1 < m && Math.abs(nonzero[order[j + 1]!]!) === Math.abs(nonzero[order[i]!]!)) j++;
    for (let k = i; k <= j; k++) ranks[order[k]!] = (i + j) / 2 + 1; // average of ranks i+1 .. j+1
    i = j + 1;
  }
  let observed = 0;
  for (let i = 0; i < m; i++) if (nonzero[i]! > 0) observed += ranks[i]!;
  const total = 2 ** m;
  let le = 0;
  let ge = 0;
  const eps = 1e-9; // ranks are multiples of 0.5, sums exact; this only guards the comparison
  for (let mask = 0; mask < total; mask++) {
    let w = 0;
    for (let i = 0; i < m; i++) if (mask & (1 << i)) w += ranks[i]!;
    if (w <= observed + eps) le++;
    if (w >= observed - eps) ge++;
  }
  return Math.min(1, (2 * Math.min(le, ge)) / total);
}

/** The "cannot reach p<0.05" note when the exact test's smallest two-sided p, 2 / 2^m, is above 0.05. */
function minPNote(m: number, n: number): string | null {
  if (m > 5) return null;
  const who = m === n ? `n=${n}` : `${m} non-zero of ${n}`;
  return `${who}: cannot reach p<0.05 (min ${2 / 2 ** m})`;
}

/** Two-sided Wilcoxon signed-rank p of the differences d (finite), as scipy.stats.wilcoxon's defaults; see the top of this file. */
function wilcoxonTest(d: Float64Array): { p: number | null; note: string | null; tooFew: boolean } {
  const n = d.length;
  if (n === 0) return { p: null, note: 'no paired seeds', tooFew: false };
  const nonzero = d.filter((v) => v !== 0);
  const m = nonzero.length;
  if (m === 0) return { p: null, note: 'all differences zero', tooFew: false };
  const ties = hasTies(nonzero.map(Math.abs).sort());
  const zeros = m < n;
  if (n > 50 || (n > 13 && (ties || zeros))) {
    // normal approximation without continuity correction, zeros dropped, tie-corrected variance
    // (@stdlib drops the zeros itself with its default zeroMethod 'wilcox'; n >= 14 here); its p
    // has no floor, so no "cannot reach" note
    return { p: wilcoxon(d, { correction: false }).pValue, note: null, tooFew: false };
  }
  // exact: the signed-rank distribution, or SciPy's permutation test over sign flips for N <= 13
  // with tied |d| (so m >= 2); either way the smallest two-sided p is 2 / 2^m
  const p = ties ? signFlipP(nonzero) : exactWilcoxon(nonzero);
  const note = minPNote(m, n);
  return { p, note, tooFew: note !== null };
}

/**
 * Differences that are equal in exact arithmetic but not in float64 (metrics stored as float64
 * from float32 sums: an exactly +3-image gain on 10,000 images reads 3.0000000000000078e-4 in one
 * seed and 2.9999999999996696e-4 in another) are snapped to one value: sorted by value, a
 * difference within `tol` of the first of its group joins the group, and |d| <= tol is a zero.
 * tol = 1e-9 x the largest |value| compared: rounding leaves a few ulps (~1e-16 relative) of the
 * values, while a real difference between two training runs changes a metric in its 3rd to 7th
 * digit, so 1e-9 separates the two by orders of magnitude either way. Counts need none of this:
 * the caller passes exact integers (see pairedComparison's `divisor`).
 */
export function snapDifferences(d: Float64Array, tol: number): Float64Array {
  if (tol <= 0) return d;
  const out = Float64Array.from(d, (v) => (Math.abs(v) <= tol ? 0 : v));
  const order = Array.from(out.keys()).sort((i, j) => out[i]! - out[j]!);
  for (let i = 0; i < order.length; ) {
    const first = out[order[i]!]!;
    let j = i + 1;
    while (j < order.length && out[order[j]!]! - first <= tol) out[order[j++]!] = first;
    i = j;
  }
  // |d| ties across signs (+x and -x) decide the signed-rank test's ranks: snap magnitudes too
  const mags = Array.from(out.keys()).filter((i) => out[i] !== 0).sort((i, j) => Math.abs(out[i]!) - Math.abs(out[j]!));
  for (let i = 0; i < mags.length; ) {
    const first = Math.abs(out[mags[i]!]!);
    let j = i + 1;
    while (j < mags.length && Math.abs(out[mags[j]!]!) - first <= tol) {
      out[mags[j]!] = Math.sign(out[mags[j]!]!) * first;
      j++;
    }
    i = j;
  }
  return out;
}

/** Which way the signed-rank statistic points: +1 when the ranks of the positive differences sum
 * to more than those of the negative ones (W+ > W-), -1 when less, 0 when equal or no non-zero
 * difference. A significant signed-rank test says "this way", whatever the mean says (one
 * collapsed seed can pull the mean the other way). Ties get average ranks; d as snapped. */
export function signedRankDirection(d: readonly number[]): number {
  const nz = d.filter((v) => v !== 0);
  const order = nz.map((_, i) => i).sort((i, j) => Math.abs(nz[i]!) - Math.abs(nz[j]!));
  let w = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && Math.abs(nz[order[j + 1]!]!) === Math.abs(nz[order[i]!]!)) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) w += Math.sign(nz[order[k]!]!) * rank;
    i = j + 1;
  }
  return Math.sign(w);
}

export interface PairedOptions {
  /** The values are exact integer counts (correct images); differences are integers and every
   * reported difference, SD and interval is divided by `divisor` (the test-set size). The t and
   * signed-rank statistics do not change under scaling, so the p-values are the counts' own. */
  divisor?: number;
}

/**
 * Paired comparison of an arm with its base over seeds: arm[i] and base[i] are the same seed (the
 * caller matched them). Pairs with a non-finite value are dropped. Differences are arm - base, so a
 * positive delta means the arm's metric is higher; higherIsBetter only decides betterIn / worseIn.
 * With `divisor` the values are integer counts (see PairedOptions); otherwise ties, zeros and
 * "all equal" are judged after snapDifferences. All differences equal: no t-test and no
 * signed-rank p (`identical`), whatever n — the data then say nothing about spread.
 * Throws when the lengths differ, or when counts are not integers.
 */
export function pairedComparison(arm: readonly number[], base: readonly number[], higherIsBetter: boolean, opts: PairedOptions = {}): PairedComparison & { identical: boolean; exact: boolean; rankDirection: number } {
  if (arm.length !== base.length) throw new Error(`pairedComparison: ${arm.length} arm values but ${base.length} base values`);
  const divisor = opts.divisor ?? 1;
  const exact = opts.divisor !== undefined;
  if (exact && !(Number.isInteger(divisor) && divisor > 0)) throw new Error(`pairedComparison: divisor must be a positive integer, got ${divisor}`);
  const raw: number[] = [];
  let scaleOfValues = 0;
  for (let i = 0; i < arm.length; i++) {
    const a = arm[i]!;
    const b = base[i]!;
    if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
    if (exact && !(Number.isInteger(a) && Number.isInteger(b))) throw new Error(`pairedComparison: counts must be integers, got ${a} and ${b}`);
    raw.push(a - b);
    scaleOfValues = Math.max(scaleOfValues, Math.abs(a), Math.abs(b));
  }
  const d = snapDifferences(Float64Array.from(raw), exact ? 0 : 1e-9 * scaleOfValues);
  let betterIn = 0;
  let worseIn = 0;
  let tiedIn = 0;
  for (const v of d) {
    if (v === 0) tiedIn++;
    else if (v > 0 === higherIsBetter) betterIn++;
    else worseIn++;
  }
  const n = d.length;
  const identical = n >= 2 && d.every((v) => v === d[0]);
  const desc = describe(Array.from(raw));
  const delta = desc.mean === null ? null : desc.mean / divisor;
  let sdDelta = desc.std === null ? null : desc.std / divisor;
  let ci95: [number, number] | null = null;
  let pTTest: number | null = null;
  let tTestNote: string | null = null;
  let w: { p: number | null; note: string | null; tooFew: boolean };
  if (n === 0) tTestNote = 'no paired seeds';
  else if (n === 1) tTestNote = 'n=1: needs at least 2 seeds';
  if (identical) {
    // no variance: t is ±infinity (SciPy returns p = 0) or 0/0 (all zero, SciPy: NaN); neither is
    // a test, and a signed-rank p of identical differences only counts signs (the sign test says that)
    sdDelta = 0;
    const v = d[0]! / divisor;
    ci95 = [v, v];
    tTestNote = d[0] === 0 ? 'all differences zero' : 'all differences equal: no variance';
    w = { p: null, note: tTestNote, tooFew: false };
  } else {
    if (n >= 2) {
      const t = ttest(Float64Array.from(raw));
      pTTest = t.pValue;
      ci95 = [t.ci[0]! / divisor, t.ci[1]! / divisor];
    }
    w = wilcoxonTest(d);
  }
  return { n, delta, sdDelta, ci95, pTTest, pWilcoxon: w.p, tTestNote, wilcoxonNote: w.note, wilcoxonTooFew: w.tooFew, betterIn, worseIn, tiedIn, identical, exact, rankDirection: signedRankDirection(Array.from(d)) };
}
