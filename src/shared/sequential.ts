// An anytime-valid confidence sequence (CS) for the mean of paired differences (arm - base per
// seed), so that a user may add seeds one at a time and look at the interval after every seed
// without the optional-stopping problem of the fixed-n t-interval: the t-interval looked at after
// every seed from n = 2 to 20 misses the true mean at some n far more often than its 5% (about 25%
// under Gaussian data; tests/unit/sequential.test.ts measures it), while this CS misses it at any n
// with probability at most alpha, however long one goes on and whenever one stops.
//
// Model: the differences are i.i.d. N(mu, sigma^2) with sigma unknown, the assumption of the paired
// t-interval. The CS is Lai's (1976) scale-invariant mixture (see Wang & Ramdas 2023, "Anytime-valid
// t-tests and confidence sequences for Gaussian means with unknown variance"; Howard et al. 2021):
// for H0: mu = mu0 put y_i = x_i - mu0, S = sum y_i, V = sum y_i^2. The maximal invariant of the
// data under scaling (y / |y|) has a distribution that depends on (mu - mu0) / sigma only; its
// likelihood ratio against 0, mixed over a N(0, 1/c) prior on that standardized effect, is
//     M_n(mu0) = sqrt(c / (n + c)) * (1 - S^2 / ((n + c) V))^(-n/2),     M_1 = 1,
// a nonnegative martingale under H0 whatever sigma is (the invariant's law under H0 does not
// involve sigma). Ville's inequality: P(exists n: M_n(mu) >= 1/alpha) <= alpha, so
// CS_n = {mu0 : M_n(mu0) < 1/alpha} contains mu at every n at once with probability >= 1 - alpha.
// Solving the inequality: with K = (1/alpha) sqrt((n + c) / c), R = (n + c)(1 - K^(-2/n)) and
// s2b = (1/n) sum (x_i - xbar)^2 (so S^2 / V = n delta^2 / (s2b + delta^2), delta = xbar - mu0),
//     R < n:   CS_n = xbar -+ sqrt(R s2b / (n - R))   (we return the closure, the closed interval);
//     R >= n:  the whole line (S^2 / V <= n always): not enough seeds yet for this alpha and c.
// tests/reference/sequential_reference.py computes M_n by integrating the mixture numerically (not
// from this closed form) and finds the endpoints by root-finding; tests/unit/sequential.test.ts
// compares.
//
// The mixing precision c must be fixed before the data are seen: a c chosen from the data (for
// instance the one that makes the current interval narrowest) mixes a different martingale at each
// n, and Ville's bound no longer applies. So the API takes a design parameter, targetN (the number
// of seeds at which the CS should be narrowest), and csMixing turns (alpha, targetN) into c by
// minimising the half-width relative to s at n = targetN, which depends on n, alpha and c only (R
// is unimodal in log c: it tends to n as c -> 0 and to infinity as c -> infinity). For alpha = 0.05
// and targetN = 10 that is c = 0.72240 (half-width 1.218 s at n = 10, against 0.715 s for the
// fixed-n t-interval; 2.958 s against 1.242 s at n = 5, 0.774 s against 0.468 s at n = 20, and the
// whole line at n = 2, 3 and 4, where the t-interval is 8.98 s, 2.48 s and 1.59 s; s is the sample
// SD, ddof = 1). The price of looking after every seed is
// a wider interval at each n.
//
// Zero spread: when every difference so far is the same value x (s2b = 0) and R < n, the CS is
// [x, x]. Under the model that is right only when the data are exactly constant, which happens with
// probability zero when sigma > 0: the scale-invariant likelihood ratio reads exactly equal values
// as infinitely precise, rejecting every mu0 != x. With quantized metrics (accuracies on a
// 10,000-image test set are multiples of 1e-4) identical differences do happen, and then this
// answer says only that the Gaussian model does not fit; the caller handles identical differences
// separately (as pairedComparison does for the t-interval), and csRunningIntersection leaves such
// prefixes out.
//
// Used by Node code and the renderer, so it imports nothing outside this folder.

/** How the mixing precision c is fixed, before seeing data: by the number of seeds at which the CS
 * should be narrowest (default 10), or directly (c > 0; it must not depend on the data). */
export interface CsOptions {
  /** Seeds at which the CS half-width (relative to s) is smallest; c = csMixing(alpha, targetN). Default 10. */
  targetN?: number;
  /** Mixing precision of the N(0, 1/c) prior on the standardized effect; overrides targetN. */
  c?: number;
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new Error(`confidence sequence: alpha must be in (0, 1), got ${alpha}`);
}

/** R = (n + c)(1 - K^(-2/n)), K = (1/alpha) sqrt((n + c)/c), computed through log K and expm1 so that
 * it stays accurate for large c (K near 1/alpha) and small c. */
function radiusR(n: number, alpha: number, c: number): number {
  const logK = -Math.log(alpha) + 0.5 * Math.log1p(n / c);
  return (n + c) * -Math.expm1((-2 / n) * logK);
}

/**
 * Half-width of the CS at n seeds in units of the sample SD s (ddof = 1): sqrt(R (n-1) / (n (n-R))),
 * Infinity when R >= n (the CS is the whole line). It depends on n, alpha and c only.
 */
export function csHalfWidthFactor(n: number, alpha: number, c: number): number {
  checkAlpha(alpha);
  if (!(n >= 2)) return Infinity;
  const r = radiusR(n, alpha, c);
  if (!(r < n)) return Infinity;
  return Math.sqrt((r * (n - 1)) / (n * (n - r)));
}

const mixingCache = new Map<string, number>();

/**
 * The mixing precision c that makes the CS narrowest at n = targetN for this alpha: minimises R(c)
 * (the half-width increases with R) over log c by a grid on [-20, 20] (0.01 apart) and golden-section
 * search between the grid points around the best one, to 1e-12 in log c. Deterministic and free of
 * data, as validity requires. csMixing(0.05, 10) = 0.72240 (to 5 digits).
 */
export function csMixing(alpha: number, targetN: number): number {
  checkAlpha(alpha);
  if (!(Number.isInteger(targetN) && targetN >= 2)) throw new Error(`csMixing: targetN must be an integer >= 2, got ${targetN}`);
  const key = `${alpha}|${targetN}`;
  const cached = mixingCache.get(key);
  if (cached !== undefined) return cached;
  const f = (logC: number) => radiusR(targetN, alpha, Math.exp(logC));
  const lo0 = -20;
  const step = 0.01;
  const steps = 4000;
  let best = 0;
  let bestV = Infinity;
  for (let i = 0; i <= steps; i++) {
    const v = f(lo0 + i * step);
    if (v < bestV) {
      bestV = v;
      best = i;
    }
  }
  let a = lo0 + Math.max(0, best - 1) * step;
  let b = lo0 + Math.min(steps, best + 1) * step;
  const g = (Math.sqrt(5) - 1) / 2;
  let x1 = b - g * (b - a);
  let x2 = a + g * (b - a);
  let f1 = f(x1);
  let f2 = f(x2);
  while (b - a > 1e-12) {
    if (f1 < f2) {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - g * (b - a);
      f1 = f(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + g * (b - a);
      f2 = f(x2);
    }
  }
  const c = Math.exp((a + b) / 2);
  mixingCache.set(key, c);
  return c;
}

function mixingOf(alpha: number, opts: CsOptions): number {
  if (opts.c !== undefined) {
    if (!(opts.c > 0 && Number.isFinite(opts.c))) throw new Error(`confidence sequence: c must be positive, got ${opts.c}`);
    return opts.c;
  }
  return csMixing(alpha, opts.targetN ?? 10);
}

function checkFinite(d: readonly number[]): void {
  for (const v of d) if (!Number.isFinite(v)) throw new Error(`confidence sequence: non-finite difference ${v} (drop it before)`);
}

/**
 * log M_n(mu0), the log of the mixture martingale above for the differences d against the mean mu0
 * (c > 0): 0 for n = 1 (and n = 0). When every d_i equals mu0 (S = V = 0) the invariant is undefined;
 * we return -Infinity (nothing speaks against mu0). Exported for tests and for showing the evidence.
 */
export function csLogMartingale(d: readonly number[], mu0: number, c: number): number {
  const n = d.length;
  if (n < 2) return 0;
  let s = 0;
  let v = 0;
  for (const x of d) {
    s += x - mu0;
    v += (x - mu0) * (x - mu0);
  }
  if (v === 0) return -Infinity;
  // 1 - S^2/((n+c)V), clipped at 0 from rounding when S^2 = nV (all y_i equal) and c is tiny
  const q = Math.max(0, 1 - (s * s) / ((n + c) * v));
  return 0.5 * Math.log(c / (n + c)) - (n / 2) * Math.log(q);
}

/** The CS of d (n >= 2, finite) with mixing c, as in the header; no validation. */
function csOf(d: readonly number[], alpha: number, c: number): [number, number] {
  const n = d.length;
  const r = radiusR(n, alpha, c);
  if (!(r < n)) return [-Infinity, Infinity];
  let sum = 0;
  for (const x of d) sum += x;
  const mean = sum / n;
  if (d.every((x) => x === d[0])) return [d[0]!, d[0]!];
  let ss = 0;
  for (const x of d) ss += (x - mean) * (x - mean);
  const half = Math.sqrt(((r * ss) / n) / (n - r));
  return [mean - half, mean + half];
}

/**
 * Anytime-valid (1 - alpha) confidence sequence for the mean of the differences d, at n = d.length:
 * [lo, hi], [-Infinity, Infinity] while R >= n (too few seeds for this alpha and c), [x, x] when all
 * differences equal x (see the header); null when n < 2 (as the t-interval). The mixing c comes from
 * opts (default targetN = 10), never from d. Throws on a non-finite difference or alpha outside (0, 1).
 */
export function tConfidenceSequence(d: readonly number[], alpha: number, opts: CsOptions = {}): [number, number] | null {
  checkAlpha(alpha);
  const c = mixingOf(alpha, opts);
  checkFinite(d);
  if (d.length < 2) return null;
  return csOf(d, alpha, c);
}

/**
 * The CS after each prefix of d: element i is the CS of d[0..i] (n = i + 1 seeds), the whole line
 * for n = 1 (M_1 = 1 < 1/alpha for every mu0). Same mixing c at every n, as validity requires.
 */
export function csPath(d: readonly number[], alpha: number, opts: CsOptions = {}): [number, number][] {
  checkAlpha(alpha);
  const c = mixingOf(alpha, opts);
  checkFinite(d);
  const out: [number, number][] = [];
  for (let n = 1; n <= d.length; n++) out.push(n < 2 ? [-Infinity, Infinity] : csOf(d.slice(0, n), alpha, c));
  return out;
}

/**
 * Running intersection of the CS over n: element i is the intersection of csPath's elements 0..i,
 * null once it is empty. Still valid: the event that every CS_n contains mu (probability >= 1 - alpha)
 * implies that their intersection does, so the running intersection covers mu at every n at once
 * with the same guarantee, and is never wider. Prefixes whose differences are all equal ([x, x], see
 * the header) are left out (their element is the intersection of the other CSs up to there):
 * intersecting fewer sets only gives a superset, so validity holds, and with quantized metrics an
 * early tie would otherwise pin the interval to a point. An empty
 * intersection happens only when some CS_n missed mu (probability <= alpha under the model) or the
 * model does not fit.
 */
export function csRunningIntersection(d: readonly number[], alpha: number, opts: CsOptions = {}): ([number, number] | null)[] {
  const path = csPath(d, alpha, opts);
  const out: ([number, number] | null)[] = [];
  let lo = -Infinity;
  let hi = Infinity;
  let empty = false;
  for (let i = 0; i < path.length; i++) {
    const [a, b] = path[i]!;
    const degenerate = i >= 1 && d.slice(0, i + 1).every((x) => x === d[0]);
    if (!degenerate && !empty) {
      lo = Math.max(lo, a);
      hi = Math.min(hi, b);
      if (lo > hi) empty = true;
    }
    out.push(empty ? null : [lo, hi]);
  }
  return out;
}
