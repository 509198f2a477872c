// Paired bootstrap confidence interval for the mean difference (arm - base per seed): resample the
// seeds' differences with replacement and read the interval off the distribution of the resample
// means, either its plain percentiles or Efron's (1987) bias-corrected and accelerated (BCa)
// percentiles. It asks less of the data than the t-interval (no normality), but with few seeds the
// bootstrap distribution is coarse and the interval tends to be too narrow (the percentile interval
// of the mean is roughly a z-interval with the ddof = 0 SD, against the t-interval's t quantile and
// ddof = 1 SD), so it complements the t-interval rather than replacing it.
//
// The bootstrap distribution. With n differences there are C(2n-1, n) distinct resamples (multisets
// of size n: compositions of n into n counts k_i), resample k having probability
// n! / (prod k_i!) / n^n. While C(2n-1, n) <= 50,000, that is n <= 9 (24,310 multisets; n = 10 has
// 92,378), we enumerate them and use the exact distribution, so the interval carries no Monte Carlo
// error and does not depend on the seed; beyond, we draw `resamples` resamples with MT19937
// (@stdlib/random-base-mt19937, seeded with seed + 1, as it takes positive seeds only; index
// floor(u n / 2^32) from its 32-bit outputs u, one draw per index: each index then has probability
// 1/n within n / 2^32 relative, below 3e-7 for n <= 1000). Weights are kept as integer counts out of N = n^n (exact in
// float64 for n <= 9) or out of N = resamples.
//
// Quantile rule (the same in tests/reference/sequential_reference.py): q(p) is the smallest resample
// mean v with (number of resamples whose mean <= v) >= p N, p N a float64 product: the inverse of
// the (weighted) ECDF, numpy's 'inverted_cdf'. It always returns a value the bootstrap can produce.
// scipy.stats.bootstrap interpolates linearly between order statistics instead; with 100,000
// resamples the two differ by far less than the Monte Carlo error.
//
// Percentile interval: [q((1-level)/2), q(1-(1-level)/2)].
// BCa, as scipy.stats.bootstrap 1.10 computes it (_bca_interval):
//   z0 = Phi^-1(P), P = (#{mean* < mean} + #{mean* <= mean}) / (2N): the share below the observed
//     mean, ties counted half (SciPy's _percentile_of_score with kind 'mean'; not the plain share
//     below). Ties matter here: the resample that is the sample itself has probability n!/n^n (2/9
//     at n = 3), and quantized metrics tie often. A resample mean within 1e-9 max|d| of the observed
//     mean counts as a tie, so that rounding in the sums does not decide it. P is clamped to
//     [1/(2N), 1 - 1/(2N)]: with spread in the data the exact P is never 0 or 1 (the resample of n
//     copies of the smallest difference lies below the mean), but a Monte Carlo P could be, and
//     Phi^-1 would then be infinite (SciPy returns NaN there).
//   a = sum U_i^3 / (6 (sum U_i^2)^(3/2)), U_i = (n-1)(mean of the jackknife means - jackknife
//     mean i), the jackknife acceleration (for the mean U_i = d_i - mean, |a| <= 1/6).
//   levels Phi(z0 + (z0 + z) / (1 - a (z0 + z))) at z = Phi^-1((1-level)/2) and at -z; when
//     1 - a (z0 + z) <= 0 (only for extreme levels or z0) the level is taken as 0 or 1, the end of the
//     bootstrap distribution on z's side, rather than letting the formula wrap around.
//   interval [q(level_lo), q(level_hi)].
// Identical differences (zero spread): every resample mean is d_0, and the answer is [d_0, d_0]
// for either method (BCa's a is 0/0 there, its z0 meaningless); the caller says so, as it does for
// the t-interval.
//
// Used by Node code and the renderer, so it imports nothing but the @stdlib packages below.

import mt19937 from '@stdlib/random-base-mt19937';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

export type BootstrapMethod = 'bca' | 'percentile';

export interface BootstrapOptions {
  /** Confidence level in (0, 1); default 0.95. */
  level?: number;
  /** Default 'bca'. */
  method?: BootstrapMethod;
  /** Seed of the Monte Carlo bootstrap (n > EXACT_BOOTSTRAP_MAX_N), an integer in [0, 2^32 - 2]; default 0. */
  seed?: number;
  /** Monte Carlo resamples (n > EXACT_BOOTSTRAP_MAX_N); default 10,000. */
  resamples?: number;
}

export interface BootstrapCI {
  ci: [number, number];
  method: BootstrapMethod;
  /** 'exact': the whole bootstrap distribution was enumerated (n <= EXACT_BOOTSTRAP_MAX_N). */
  resamples: number | 'exact';
}

/** A bootstrap distribution of the mean: resample means sorted ascending, each with its count out of total. */
export interface BootstrapDistribution {
  means: Float64Array;
  counts: Float64Array;
  total: number;
}

/** Most multisets we enumerate; C(2n-1, n) <= this for n <= 9. */
const EXACT_MAX_MULTISETS = 50_000;

/** C(2n-1, n), the number of distinct resamples (multisets of size n from n differences). */
function multisets(n: number): number {
  let r = 1;
  for (let i = 1; i <= n; i++) r = (r * (n - 1 + i)) / i; // C(n-1+i, i), an integer at every step
  return Math.round(r);
}

/** Largest n whose bootstrap distribution is enumerated exactly (9). */
export const EXACT_BOOTSTRAP_MAX_N = (() => {
  let n = 1;
  while (multisets(n + 1) <= EXACT_MAX_MULTISETS) n++;
  return n;
})();

function sortByMean(means: Float64Array, counts: Float64Array, total: number): BootstrapDistribution {
  const order = Array.from(means.keys()).sort((i, j) => means[i]! - means[j]!);
  return { means: Float64Array.from(order, (i) => means[i]!), counts: Float64Array.from(order, (i) => counts[i]!), total };
}

/**
 * The exact bootstrap distribution of the mean of d (1 <= n <= EXACT_BOOTSTRAP_MAX_N): every
 * multiset of size n with its count n! / prod k_i! out of n^n. Resample means are sum k_i d_i / n,
 * summed in the order of d.
 */
export function exactBootstrapDistribution(d: readonly number[]): BootstrapDistribution {
  const n = d.length;
  if (n < 1 || n > EXACT_BOOTSTRAP_MAX_N) throw new Error(`exactBootstrapDistribution: n must be 1..${EXACT_BOOTSTRAP_MAX_N}, got ${n}`);
  const size = multisets(n);
  const means = new Float64Array(size);
  const counts = new Float64Array(size);
  const fact = [1];
  for (let i = 1; i <= n; i++) fact.push(fact[i - 1]! * i);
  let m = 0;
  // counts k_0..k_{n-1} summing to n, built index by index; sum and the product of k_i! carried along
  const rec = (i: number, left: number, sum: number, denom: number) => {
    if (i === n - 1) {
      means[m] = (sum + left * d[i]!) / n;
      counts[m] = fact[n]! / (denom * fact[left]!);
      m++;
      return;
    }
    for (let k = 0; k <= left; k++) rec(i + 1, left - k, sum + k * d[i]!, denom * fact[k]!);
  };
  rec(0, n, 0, 1);
  return sortByMean(means, counts, n ** n);
}

/** `resamples` Monte Carlo resample means of d, MT19937 seeded with seed + 1. */
function monteCarloDistribution(d: readonly number[], resamples: number, seed: number): BootstrapDistribution {
  const n = d.length;
  const rand = mt19937.factory({ seed: seed + 1 });
  const scale = n / 4294967296; // u * scale < n, exact in float64 for n < 2^21
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += d[Math.floor(rand() * scale)]!;
    means[b] = sum / n;
  }
  means.sort();
  return { means, counts: new Float64Array(resamples).fill(1), total: resamples };
}

/** q(p): the smallest mean with cumulative count >= p * total (the inverse ECDF; see the header). */
export function bootstrapQuantile(dist: BootstrapDistribution, p: number): number {
  const target = p * dist.total;
  let cum = 0;
  for (let i = 0; i < dist.means.length; i++) {
    cum += dist.counts[i]!;
    if (cum >= target) return dist.means[i]!;
  }
  return dist.means[dist.means.length - 1]!;
}

/** BCa's z0 and a for the mean of d over its bootstrap distribution (see the header). */
export function bcaParameters(d: readonly number[], dist: BootstrapDistribution): { z0: number; a: number } {
  const n = d.length;
  let sum = 0;
  let maxAbs = 0;
  for (const v of d) {
    sum += v;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  const observed = sum / n;
  const tol = 1e-9 * maxAbs;
  let below = 0;
  let ties = 0;
  for (let i = 0; i < dist.means.length; i++) {
    const m = dist.means[i]!;
    if (m < observed - tol) below += dist.counts[i]!;
    else if (m <= observed + tol) ties += dist.counts[i]!;
  }
  const half = 1 / (2 * dist.total);
  const p = Math.min(Math.max((2 * below + ties) / (2 * dist.total), half), 1 - half);
  const z0 = normalQuantile(p, 0, 1);
  const jack = d.map((v) => (sum - v) / (n - 1));
  let jdot = 0;
  for (const j of jack) jdot += j;
  jdot /= n;
  let u2 = 0;
  let u3 = 0;
  for (const j of jack) {
    const u = (n - 1) * (jdot - j);
    u2 += u * u;
    u3 += u * u * u;
  }
  return { z0, a: u3 / (6 * u2 ** 1.5) };
}

/** BCa's adjusted level for the normal quantile z (see the header). */
function bcaLevel(z0: number, a: number, z: number): number {
  const w = z0 + z;
  const den = 1 - a * w;
  if (!(den > 0)) return z > 0 ? 1 : 0;
  return normalCdf(z0 + w / den, 0, 1);
}

/**
 * Paired bootstrap CI of the mean of the differences d (finite; arm - base per seed): exact for
 * n <= EXACT_BOOTSTRAP_MAX_N, else Monte Carlo; percentile or BCa (default) as in the header.
 * null when n < 2; [d_0, d_0] when all differences are equal. Throws on a non-finite difference or
 * a bad option.
 */
export function bootstrapMeanCI(d: readonly number[], opts: BootstrapOptions = {}): BootstrapCI | null {
  const level = opts.level ?? 0.95;
  const method = opts.method ?? 'bca';
  const seed = opts.seed ?? 0;
  const resamplesOpt = opts.resamples ?? 10_000;
  if (!(level > 0 && level < 1)) throw new Error(`bootstrapMeanCI: level must be in (0, 1), got ${level}`);
  if (method !== 'bca' && method !== 'percentile') throw new Error(`bootstrapMeanCI: unknown method ${String(method)}`);
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 2 ** 32 - 2)) throw new Error(`bootstrapMeanCI: seed must be an integer in [0, 2^32 - 2], got ${seed}`);
  if (!(Number.isInteger(resamplesOpt) && resamplesOpt >= 1)) throw new Error(`bootstrapMeanCI: resamples must be a positive integer, got ${resamplesOpt}`);
  for (const v of d) if (!Number.isFinite(v)) throw new Error(`bootstrapMeanCI: non-finite difference ${v} (drop it before)`);
  const n = d.length;
  if (n < 2) return null;
  const exact = n <= EXACT_BOOTSTRAP_MAX_N;
  const resamples: number | 'exact' = exact ? 'exact' : resamplesOpt;
  if (d.every((v) => v === d[0])) return { ci: [d[0]!, d[0]!], method, resamples };
  const dist = exact ? exactBootstrapDistribution(d) : monteCarloDistribution(d, resamplesOpt, seed);
  const tail = (1 - level) / 2;
  if (method === 'percentile') return { ci: [bootstrapQuantile(dist, tail), bootstrapQuantile(dist, 1 - tail)], method, resamples };
  const { z0, a } = bcaParameters(d, dist);
  const z = normalQuantile(tail, 0, 1);
  const lo = bcaLevel(z0, a, z);
  const hi = bcaLevel(z0, a, -z);
  return { ci: [bootstrapQuantile(dist, lo), bootstrapQuantile(dist, hi)], method, resamples };
}
