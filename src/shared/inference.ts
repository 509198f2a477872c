// Inference beyond one paired test: multiple-comparison adjustment of a family of p-values,
// equivalence (TOST), sign and McNemar tests on win/loss counts, exact binomial intervals, and the
// power of the paired t-test (with the smallest detectable effect and the seeds needed for one).
// Used by Node code and the renderer, so it imports nothing but the @stdlib packages below.
// tests/unit/inference.test.ts checks it against SciPy 1.10 / statsmodels 0.13 (Debian 12's
// python3; tests/reference/inference_reference.py wrote tests/fixtures/inference_reference.json).
//
// Multiple comparisons (adjustP) follow statsmodels.stats.multitest.multipletests, written out
// here (one sort, the same arithmetic) because @stdlib/stats-padjust has no Hochberg step-up
// (and its Bonferroni overwrites its input). With the p-values sorted p(1) <= ... <= p(m):
//   bonferroni  m p(i);
//   holm        step-down, running maximum of (m - i + 1) p(i) from the smallest p;
//   hochberg    step-up (statsmodels 'simes-hochberg'), running minimum of (m - i + 1) p(i) from
//               the largest p;
//   bh          Benjamini–Hochberg FDR (statsmodels 'fdr_bh'), running minimum of p(i) / (i / m)
//               from the largest p;
// each clipped to 1 and put back in the caller's order. Tied p-values get equal adjusted values
// whatever order the sort leaves them in.
//
// Power of the paired t-test. With n pairs, df = n - 1 and noncentrality delta = (effect/sd) sqrt(n),
// the statistic T = (Z + delta) / sqrt(V / df) (Z standard normal, V chi-square with df degrees of
// freedom) is noncentral t. The two-sided level-alpha test rejects when |T| > c = t_{df, 1-alpha/2},
// so power = P(T > c) + P(T < -c), both tails counted as statsmodels' TTestPower does. @stdlib has
// no noncentral t, so we integrate over the chi-distributed W = sqrt(V):
//   P(T <= t) = E[ Phi(t W / sqrt(df) - delta) ],   P(T > t) = E[ Phi(delta - t W / sqrt(df)) ],
// each tail directly (no 1 - x, so a small tail keeps its relative precision; a power near 1 is
// 1 minus the directly integrated P(-c <= T <= c)), by adaptive Gauss–Kronrod (21 points) over the
// chi density's support, cut 14 units either side of its mode (the density there is below e^-98
// of its peak). The critical value is @stdlib's t quantile (within 4e-16 of the 30-digit one
// over the fixture's df and alpha); SciPy
// 1.10's t.isf, which statsmodels 0.13 uses, is off by up to ~1e-9 relative (cdflib), which moves
// statsmodels' power by up to ~3e-8 relative. So the fixture's reference is statsmodels' formula
// (Boost's noncentral t sf(c) + cdf(-c)) at the exact c, matched to 1e-10 relative (1500 random
// cases over n 2..1000, effect/sd 0..2000, alpha 0.001..0.2 agreed to 6e-13 in development), and
// statsmodels' own number to 5e-8.

import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import gammaln from '@stdlib/math-base-special-gammaln';

/** Multiple-comparison methods of adjustP (statsmodels names: holm, bonferroni, simes-hochberg, fdr_bh). */
export type PAdjustMethod = 'holm' | 'bonferroni' | 'hochberg' | 'bh' | 'none';

const ADJUST_METHODS: readonly PAdjustMethod[] = ['holm', 'bonferroni', 'hochberg', 'bh', 'none'];

function isCount(x: number): boolean {
  return Number.isInteger(x) && x >= 0;
}

function checkCount(fn: string, name: string, x: number): void {
  if (!isCount(x)) throw new Error(`${fn}: ${name} must be a non-negative integer, got ${x}`);
}

function checkAlpha(fn: string, alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new Error(`${fn}: alpha must be in (0, 1), got ${alpha}`);
}

/**
 * Adjusted p-values of a family of tests, in the same order as `p`, as
 * statsmodels.stats.multitest.multipletests(p, method=...)[1] with method holm, bonferroni,
 * simes-hochberg ('hochberg') or fdr_bh ('bh'); 'none' returns the p-values unchanged. A null is
 * not a test: it stays null and does not count in the family size m. Adjusted values are clipped
 * to 1. Throws when a p-value is not in [0, 1] or the method is unknown.
 */
export function adjustP(p: readonly (number | null)[], method: PAdjustMethod): (number | null)[] {
  if (!ADJUST_METHODS.includes(method)) throw new Error(`adjustP: method must be one of ${ADJUST_METHODS.join(', ')}, got ${String(method)}`);
  const idx: number[] = [];
  p.forEach((v, i) => {
    if (v === null) return;
    if (!(v >= 0 && v <= 1)) throw new Error(`adjustP: p[${i}] must be a probability in [0, 1] or null, got ${v}`);
    idx.push(i);
  });
  const out: (number | null)[] = p.slice();
  const m = idx.length;
  if (method === 'none' || m === 0) return out;
  const order = idx.slice().sort((a, b) => p[a]! - p[b]!);
  const sorted = order.map((i) => p[i]!);
  const adj = new Array<number>(m);
  if (method === 'bonferroni') {
    for (let i = 0; i < m; i++) adj[i] = sorted[i]! * m;
  } else if (method === 'holm') {
    let run = -Infinity;
    for (let i = 0; i < m; i++) adj[i] = run = Math.max(run, sorted[i]! * (m - i));
  } else if (method === 'hochberg') {
    let run = Infinity;
    for (let i = m - 1; i >= 0; i--) adj[i] = run = Math.min(run, (m - i) * sorted[i]!);
  } else {
    let run = Infinity;
    for (let i = m - 1; i >= 0; i--) adj[i] = run = Math.min(run, sorted[i]! / ((i + 1) / m));
  }
  for (let i = 0; i < m; i++) out[order[i]!] = Math.min(1, adj[i]!);
  return out;
}

/**
 * Equivalence test (TOST) of paired differences d = x1 - x2 within (-margin, margin): two one-sided
 * t-tests of the mean, H0 mean <= -margin (pLower = P(T > (mean + margin) / se)) and H0 mean >= margin
 * (pUpper = P(T < (mean - margin) / se)), se = sd(d, ddof=1) / sqrt(n), T ~ t(df = n - 1); p is the
 * larger, and equivalence is shown when p < alpha. Matches
 * statsmodels.stats.weightstats.ttost_paired(x1, x2, -margin, margin) (p, then the two p-values).
 * Differences with no variance (all equal): statsmodels divides by zero; here each one-sided p is 0
 * when the mean is strictly inside its bound and 1 otherwise, so p = 0 when |mean| < margin, else 1.
 * Throws when n < 2, margin is not a positive finite number or a difference is not finite.
 */
export function tostPaired(d: readonly number[], margin: number): { p: number; pLower: number; pUpper: number; df: number } {
  const n = d.length;
  if (n < 2) throw new Error(`tostPaired: d needs at least 2 differences, got ${n}`);
  if (!(margin > 0 && Number.isFinite(margin))) throw new Error(`tostPaired: margin must be a positive finite number, got ${margin}`);
  d.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`tostPaired: d[${i}] must be finite, got ${v}`);
  });
  const df = n - 1;
  if (d.every((v) => v === d[0])) {
    const mean = d[0]!;
    const pLower = mean > -margin ? 0 : 1;
    const pUpper = mean < margin ? 0 : 1;
    return { p: Math.max(pLower, pUpper), pLower, pUpper, df };
  }
  let sum = 0;
  for (const v of d) sum += v;
  const mean = sum / n;
  let ss = 0;
  for (const v of d) ss += (v - mean) ** 2;
  const se = Math.sqrt(ss / df) / Math.sqrt(n);
  const pLower = tCdf(-(mean + margin) / se, df); // P(T > t1), by symmetry
  const pUpper = tCdf((mean - margin) / se, df);
  return { p: Math.max(pLower, pUpper), pLower, pUpper, df };
}

/** Two-sided exact binomial p of k successes in n trials at probability 1/2: the distribution is
 * symmetric, so it is min(1, 2 P(X <= min(k, n - k))). */
function twoSidedHalfBinomial(k: number, n: number): number {
  if (n === 0) return 1;
  return Math.min(1, 2 * binomialCdf(Math.min(k, n - k), n, 0.5));
}

/**
 * Sign test: two-sided exact binomial p of `better` wins in better + worse non-tied seeds at
 * probability 1/2, as scipy.stats.binomtest(better, better + worse, 0.5).pvalue (at 1/2 SciPy's sum
 * over outcomes no likelier than the observed one is 2 P(X <= min(k, n - k)), clipped to 1). Null
 * when better + worse = 0 (no informative seed). Throws unless both are non-negative integers.
 */
export function signTest(better: number, worse: number): number | null {
  checkCount('signTest', 'better', better);
  checkCount('signTest', 'worse', worse);
  const n = better + worse;
  return n === 0 ? null : twoSidedHalfBinomial(better, n);
}

/**
 * Exact (Clopper–Pearson) confidence interval of a binomial proportion with k successes in n
 * trials: [Beta_{alpha/2}(k, n - k + 1), Beta_{1-alpha/2}(k + 1, n - k)], alpha = 1 - level, with
 * the lower bound 0 at k = 0 and the upper 1 at k = n; as statsmodels'
 * proportion_confint(k, n, alpha=1-level, method='beta'). The upper bound is computed as
 * 1 - Beta_{alpha/2}(n - k, k + 1) (the same number; a lower-tail quantile keeps its precision).
 * Throws unless n is a positive integer, k an integer in 0..n and level in (0, 1).
 */
export function clopperPearson(k: number, n: number, level = 0.95): [number, number] {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`clopperPearson: n must be a positive integer, got ${n}`);
  if (!(Number.isInteger(k) && k >= 0 && k <= n)) throw new Error(`clopperPearson: k must be an integer in 0..n (n=${n}), got ${k}`);
  if (!(level > 0 && level < 1)) throw new Error(`clopperPearson: level must be in (0, 1), got ${level}`);
  const a2 = (1 - level) / 2;
  const lower = k === 0 ? 0 : betaQuantile(a2, k, n - k + 1);
  const upper = k === n ? 1 : 1 - betaQuantile(a2, n - k, k + 1);
  return [lower, upper];
}

/**
 * Exact two-sided McNemar test from the discordant counts of a paired 2x2 table (armOnly: seeds
 * only the arm got right / passed, refOnly: only the reference): min(1, 2 P(X <= min(b, c))), X ~
 * Binomial(b + c, 1/2), as statsmodels.stats.contingency_tables.mcnemar([[a, b], [c, d]],
 * exact=True).pvalue, which does not depend on the concordant a and d. 1 when both counts are 0.
 * Throws unless both are non-negative integers.
 */
export function mcnemarExact(armOnly: number, refOnly: number): number {
  checkCount('mcnemarExact', 'armOnly', armOnly);
  checkCount('mcnemarExact', 'refOnly', refOnly);
  return twoSidedHalfBinomial(armOnly, armOnly + refOnly);
}

// ---------------------------------------------------------------------------------------------
// Noncentral t by adaptive Gauss–Kronrod over the chi distribution (see the top of this file).

// QUADPACK's 21-point Kronrod abscissae on [-1, 1] (non-negative half, the last is the centre) and
// weights, and the weights of the embedded 10-point Gauss rule (at XGK[1], XGK[3], ..., XGK[9]).
const XGK = [
  0.995657163025808080735527280689003, 0.973906528517171720077964012084452, 0.930157491355708226001207180059508,
  0.865063366688984510732096688423493, 0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
  0.562757134668604683339000099272694, 0.433395394129247190799265943165784, 0.294392862701460198131126603103866,
  0.14887433898163121088482600112972, 0,
];
const WGK = [
  0.011694638867371874278064396062192, 0.03255816230796472747881897245939, 0.05475589657435199603138130024458,
  0.07503967481091995276704314091619, 0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
  0.123491976262065851077208980319316, 0.134709217311473325928054001771707, 0.142775938577060080797094273138717,
  0.147739104901338491374841515972068, 0.149445554002916905664936468389821,
];
const WG = [
  0.066671344308688137593568809893332, 0.149451349150580593145776339657697, 0.219086362515982043995534934228163,
  0.269266719309996355091226921569469, 0.295524224714752870173892994651338,
];

interface Piece {
  a: number;
  b: number;
  value: number;
  error: number;
}

function gk21(f: (x: number) => number, a: number, b: number): Piece {
  const c = (a + b) / 2;
  const h = (b - a) / 2;
  const fc = f(c);
  let k = fc * WGK[10]!;
  let g = 0;
  for (let j = 0; j < 10; j++) {
    const dx = h * XGK[j]!;
    const s = f(c - dx) + f(c + dx);
    k += WGK[j]! * s;
    if (j % 2 === 1) g += WG[(j - 1) / 2]! * s;
  }
  return { a, b, value: k * h, error: Math.abs((k - g) * h) };
}

/** Integral of f over [a, b] split first at `breaks`, then bisecting the piece with the largest
 * error estimate |K21 - G10| until the estimates add up to at most relTol of the integral (or
 * absTol), QUADPACK QAG-style. */
function integrate(f: (x: number) => number, a: number, b: number, breaks: number[], relTol = 1e-13, absTol = 1e-300): number {
  const cuts = [a, ...breaks.filter((x) => x > a && x < b).sort((x, y) => x - y), b];
  const pieces: Piece[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) if (cuts[i + 1]! > cuts[i]!) pieces.push(gk21(f, cuts[i]!, cuts[i + 1]!));
  for (let iter = 0; iter < 2000; iter++) {
    let value = 0;
    let error = 0;
    let worst = 0;
    for (let i = 0; i < pieces.length; i++) {
      value += pieces[i]!.value;
      error += pieces[i]!.error;
      if (pieces[i]!.error > pieces[worst]!.error) worst = i;
    }
    if (error <= Math.max(relTol * Math.abs(value), absTol)) return value;
    const w = pieces[worst]!;
    const mid = (w.a + w.b) / 2;
    if (!(mid > w.a && mid < w.b)) return value; // cannot split further in float64
    pieces.splice(worst, 1, gk21(f, w.a, mid), gk21(f, mid, w.b));
  }
  return pieces.reduce((s, x) => s + x.value, 0);
}

/** Tail of the noncentral t: P(T > t) when upper, else P(T <= t); df >= 1, any finite delta; to
 * 1e-13 relative or absTol absolute, whichever is larger. */
function nctTail(t: number, df: number, delta: number, upper: boolean, absTol: number): number {
  const rootDf = Math.sqrt(df);
  const logNorm = (1 - df / 2) * Math.LN2 - gammaln(df / 2); // chi density: w^(df-1) e^(-w^2/2) 2^(1-df/2) / Gamma(df/2)
  const density = (w: number) => Math.exp(logNorm + (df === 1 ? 0 : (df - 1) * Math.log(w)) - (w * w) / 2);
  const sign = upper ? -1 : 1;
  const f = (w: number) => normalCdf(sign * ((t * w) / rootDf - delta), 0, 1) * density(w);
  const mode = Math.sqrt(df - 1);
  const lo = Math.max(0, mode - 14);
  const hi = mode + 14;
  // Break points, so that no piece hides a feature between its 21 nodes: the density's mode and
  // its unit scale around it, and where Phi's argument crosses 0 (the integrand's step, width
  // sqrt(df) / |t| in w) with geometrically spaced points on either side out to 16 widths
  // (Phi(-16) < 1e-57: beyond them the integrand is the smooth density or nothing).
  const breaks = [mode - 5, mode - 2, mode, mode + 2, mode + 5];
  if (t !== 0) {
    const w0 = (delta * rootDf) / t;
    const width = rootDf / Math.abs(t);
    breaks.push(w0);
    for (let k = 1; k <= 16; k *= 2) breaks.push(w0 - k * width, w0 + k * width);
  }
  return integrate(f, lo, hi, breaks, 1e-13, absTol);
}

function checkPowerArgs(fn: string, effect: number, sd: number, n: number, alpha: number): void {
  if (!Number.isFinite(effect)) throw new Error(`${fn}: effect must be finite, got ${effect}`);
  if (!(sd > 0 && Number.isFinite(sd))) throw new Error(`${fn}: sd must be a positive finite number, got ${sd}`);
  if (!(Number.isInteger(n) && n >= 2)) throw new Error(`${fn}: n must be an integer >= 2, got ${n}`);
  checkAlpha(fn, alpha);
}

/** Power at standardized effect es with n pairs (arguments already checked). */
function powerAt(es: number, n: number, alpha: number): number {
  const df = n - 1;
  const c = -tQuantile(alpha / 2, df); // t_{df, 1 - alpha/2}, from the lower tail (precise for small alpha)
  const delta = Math.abs(es) * Math.sqrt(n); // the power is symmetric in the effect
  // the test is unbiased (power >= alpha), so an absolute 1e-16 alpha per tail is 1e-16 relative
  const absTol = 1e-16 * alpha;
  const upper = nctTail(c, df, delta, true, absTol);
  const lower = nctTail(-c, df, delta, false, absTol);
  if (upper <= 0.5) return upper + lower;
  // power near 1: 1 - P(-c <= T <= c), the type II error computed directly (to its own relative
  // precision), so the power keeps ~1e-16 absolute precision instead of the upper tail's 1e-13
  const inside = nctTail(c, df, delta, false, absTol) - lower;
  return Math.min(1, 1 - inside);
}

/**
 * Power of the two-sided paired (one-sample) t-test at level alpha with n pairs, when the true mean
 * difference is `effect` and the SD of the differences is `sd`: P(T > c) + P(T < -c) for T
 * noncentral t with df = n - 1 and noncentrality (effect / sd) sqrt(n), c = t_{df, 1 - alpha/2}
 * (see the top of this file). This is statsmodels.stats.power.TTestPower().power(effect_size=
 * effect / sd, nobs=n, alpha=alpha, alternative='two-sided'), to 1e-10 relative with an exact
 * critical value and to ~3e-8 against statsmodels' own (SciPy 1.10's t.isf); equals alpha at
 * effect 0 and is symmetric in the effect. Throws unless effect is finite, sd positive and finite,
 * n an integer >= 2 and alpha in (0, 1).
 */
export function pairedTPower(effect: number, sd: number, n: number, alpha: number): number {
  checkPowerArgs('pairedTPower', effect, sd, n, alpha);
  return powerAt(effect / sd, n, alpha);
}

function checkPower(fn: string, power: number): void {
  if (!(power > 0 && power < 1)) throw new Error(`${fn}: power must be in (0, 1), got ${power}`);
}

/**
 * Minimum detectable effect: the smallest |effect| whose pairedTPower with n pairs at level alpha
 * reaches `power`, found on the standardized effect by a bracketing root finder (Illinois with
 * bisection steps) to 1e-13 relative (power rises with |effect|). This is the root of statsmodels'
 * TTestPower().power(...) = power (at an exact critical value, see pairedTPower), times sd; it
 * agrees with TTestPower().solve_power(nobs=n, alpha=alpha, power=power, alternative='two-sided')
 * * sd only to that solver's own tolerance (about 1e-5 relative). 0 when power <= alpha (the test
 * rejects that often with no effect at all). Null when n < 2 or sd is not a positive finite number
 * (no variance estimate to plan with). Throws unless alpha and power are in (0, 1) and n is an
 * integer.
 */
export function mde(sd: number, n: number, alpha: number, power = 0.8): number | null {
  checkAlpha('mde', alpha);
  checkPower('mde', power);
  if (!Number.isInteger(n)) throw new Error(`mde: n must be an integer, got ${n}`);
  if (n < 2 || !(sd > 0 && Number.isFinite(sd))) return null;
  if (power <= alpha) return 0;
  // bracket: power(0) = alpha < power, then double until the power is reached
  const g = (es: number) => powerAt(es, n, alpha) - power;
  let lo = 0;
  let gLo = alpha - power;
  let hi = 1;
  let gHi = g(hi);
  while (gHi < 0) {
    lo = hi;
    gLo = gHi;
    hi *= 2;
    if (hi > 1e12) return null; // not reached: power -> 1 as the effect grows, for any n >= 2
    gHi = g(hi);
  }
  // Illinois (regula falsi that halves the stale end's value), every fourth step a bisection so the
  // bracket surely shrinks; stops when it is 1e-13 of hi wide, keeping g(hi) >= 0 throughout (hi is
  // the answer: the power there reaches the target)
  let side = 0;
  for (let iter = 0; hi - lo > 1e-13 * hi && iter < 400; iter++) {
    let x = iter % 4 === 3 ? (lo + hi) / 2 : hi - (gHi * (hi - lo)) / (gHi - gLo);
    if (!Number.isFinite(x)) x = (lo + hi) / 2;
    // at least 0.4 of the final width inside the bracket: next to the root, the step then lands
    // on its other side and closes the bracket instead of creeping up on it
    const step = 4e-14 * hi;
    x = Math.min(Math.max(x, lo + step), hi - step);
    if (!(x > lo && x < hi)) break; // adjacent floats
    const gx = g(x);
    if (gx >= 0) {
      hi = x;
      gHi = gx;
      if (side === 1) gLo /= 2;
      side = 1;
    } else {
      lo = x;
      gLo = gx;
      if (side === -1) gHi /= 2;
      side = -1;
    }
  }
  return hi * sd;
}

/**
 * Seeds (pairs) needed: the smallest integer n >= 2 whose pairedTPower(effect, sd, n, alpha)
 * reaches `power`, searched from the z-test's sample size by galloping and bisection over n
 * (power rises with n); null when none up to `max` (including effect 0, whose power stays alpha),
 * or when sd is not a positive finite number.
 * Matches the smallest integer n at which statsmodels' TTestPower().power reaches `power`, i.e.
 * ceil of TTestPower().solve_power(effect_size=effect/sd, alpha=alpha, power=power,
 * alternative='two-sided') where that is >= 2. Throws unless effect is finite, alpha and power are
 * in (0, 1) and max is an integer >= 2.
 */
export function seedsNeeded(effect: number, sd: number, alpha: number, power = 0.8, max = 1000): number | null {
  if (!Number.isFinite(effect)) throw new Error(`seedsNeeded: effect must be finite, got ${effect}`);
  checkAlpha('seedsNeeded', alpha);
  checkPower('seedsNeeded', power);
  if (!(Number.isInteger(max) && max >= 2)) throw new Error(`seedsNeeded: max must be an integer >= 2, got ${max}`);
  if (!(sd > 0 && Number.isFinite(sd))) return null;
  const es = effect / sd;
  const ok = (m: number) => powerAt(es, m, alpha) >= power;
  // Start from the z-test's sample size ((z_{1-alpha/2} + z_power) / es)^2 + 1 (the t-test needs
  // about that many or a few more), gallop from there to bracket the answer, then bisect: usually
  // 2-4 power evaluations. Invariant: ok(hi), and lo fails (lo = 1 stands for "below 2").
  const z = normalQuantile(1 - alpha / 2, 0, 1) + normalQuantile(power, 0, 1);
  let guess = z <= 0 ? 2 : Math.ceil((z / Math.abs(es)) ** 2) + 1;
  if (!Number.isFinite(guess) || guess > max) guess = max;
  guess = Math.max(2, guess);
  let lo: number;
  let hi: number;
  if (ok(guess)) {
    hi = guess;
    let step = 1;
    lo = hi - step;
    while (lo >= 2 && ok(lo)) {
      hi = lo;
      step *= 2;
      lo = hi - step;
    }
    lo = Math.max(lo, 1);
  } else {
    if (guess === max) return null;
    lo = guess;
    let step = 1;
    for (;;) {
      hi = lo + step;
      if (hi >= max) {
        hi = max;
        if (!ok(max)) return null;
        break;
      }
      if (ok(hi)) break;
      lo = hi;
      step *= 2;
    }
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * Probability that the arm beats the reference on a new seed, from n seeds of which it won
 * `better` and tied `tied` (a tie counts half): estimate (better + tied/2) / n, with a 95%
 * Clopper–Pearson interval on that count (clopperPearson). When tied is odd the count x is a half
 * integer, which has no exact binomial interval; we take the union of the intervals of floor(x)
 * and ceil(x): lower bound of floor(x), upper bound of ceil(x) (conservative: it covers whichever
 * way the half tie would fall). Null when n = 0. Throws unless all are non-negative integers with
 * better + tied <= n.
 */
export function predictiveBetter(better: number, tied: number, n: number): { estimate: number; ci: [number, number] } | null {
  checkCount('predictiveBetter', 'better', better);
  checkCount('predictiveBetter', 'tied', tied);
  checkCount('predictiveBetter', 'n', n);
  if (better + tied > n) throw new Error(`predictiveBetter: better + tied (${better} + ${tied}) must be at most n (${n})`);
  if (n === 0) return null;
  const x = better + tied / 2;
  const lower = clopperPearson(Math.floor(x), n)[0];
  const upper = clopperPearson(Math.ceil(x), n)[1];
  return { estimate: x / n, ci: [lower, upper] };
}
