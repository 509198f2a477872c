"""Independent reference values for src/shared/sequential.ts (anytime-valid confidence sequence)
and src/shared/bootstrap.ts (paired bootstrap CI of the mean difference).

Run with Debian's python3 (SciPy 1.10.1, NumPy 1.24; the pyenv python3 on PATH lacks SciPy):
    /usr/bin/python3 tests/reference/sequential_reference.py
It writes tests/fixtures/sequential_reference.json, which tests/unit/sequential.test.ts and
tests/unit/bootstrap.test.ts compare against our TypeScript, so CI needs no Python. It takes a few
minutes (numerical double integrals inside root-finding).

Confidence sequence ("sequential"): nothing here uses the closed form of sequential.ts. For
H0: mean = mu0 and y = x - mu0, the likelihood ratio of the maximal invariant of y under scaling
(Wijsman's representation, right Haar measure ds/s on the scale s) against theta = 0, mixed over a
N(0, 1/c) prior on the standardized effect theta, is
    M_n(mu0) = int dtheta N(theta; 0, 1/c) int_0^inf ds/s s^-n prod phi(y_i/s - theta)
               / int_0^inf ds/s s^-n prod phi(y_i/s).
We integrate both numerically with scipy.integrate.quad (t = log s over the real line, theta over the
real line, each split at the integrand's mode, in log space relative to the mode), find the CS
endpoints {mu0 : M_n(mu0) = 1/alpha} on each side of the mean with scipy.optimize.brentq, and call
the CS the whole line when M_n stays below 1/alpha far away (|mu0 - xbar| = 1e6 s). Also recorded:
log M_n at a few mu0, and the c that minimises the numerical half-width at n = targetN (bounded
minimize_scalar over log c), for csMixing.

Bootstrap ("bootstrap"): the bootstrap distribution of the mean of d, exact for small n,
- n <= 6 by brute force over all n^n index tuples (itertools.product), each of weight 1 / n^n;
- n = 7..9 by itertools.combinations_with_replacement (the multisets), each with its multinomial
  count n! / prod k_i! (a different enumeration from the TypeScript's compositions);
and from it the percentile and BCa intervals with the rules of bootstrap.ts (written out again here):
- quantile q(p) of a distribution of N equally likely resamples (counts w_j, sum N): the smallest
  value v with (number of resamples with mean <= v) >= p * N (p * N a float64 product), i.e. the
  inverse of the ECDF (numpy's 'inverted_cdf');
- z0 = Phi^-1(P), P = (#{mean* < mean} + #{mean* <= mean}) / (2 N), ties counted half as
  scipy.stats.bootstrap 1.10 does (_percentile_of_score, kind 'mean'); a resample mean within
  1e-9 max|d| of the observed mean counts as a tie (rounding in the sums must not decide it);
- a = sum U^3 / (6 (sum U^2)^1.5), U_i = (n - 1)(mean of jackknife means - jackknife mean i);
- BCa levels Phi(z0 + (z0 + z) / (1 - a (z0 + z))) at z = Phi^-1((1 - level)/2) and its negative.
For n = 15 and 25 (Monte Carlo in bootstrap.ts) scipy.stats.bootstrap(method='BCa' and 'percentile',
n_resamples=100000) is run with REPEATS = 20 random states; we record the mean of the endpoints and
their SD over the repeats (the Monte Carlo error of one run of 100,000), from which the test sets its
tolerance.
"""
import itertools
import json
import math
import os
import time
from collections import Counter

import numpy as np
import scipy
import scipy.stats as st
from scipy import integrate, optimize

t_start = time.time()

# ----------------------------------------------------------------------------------------------
# Confidence sequence


def log_m_numeric(x, mu0, c):
    """log M_n(mu0) by numerical integration of the invariant mixture likelihood ratio."""
    y = np.asarray(x, dtype=float) - mu0
    n = len(y)
    if n < 2:
        return 0.0
    r = math.sqrt(float(np.mean(y * y)))
    if r == 0:
        return -math.inf
    # M is invariant under y -> y / r (the maximal invariant is unchanged); r keeps s near 1
    z = y / r
    S = float(z.sum())
    Q = float(np.dot(z, z))
    lp = 0.5 * math.log(c / (2 * math.pi))  # log prior density constant

    # log of the integrands, t = log s: ds/s s^-n = e^(-n t) dt; sum (z_i e^-t - theta)^2 expanded
    # with sum z_i = S, sum z_i^2 = Q (the (2 pi)^(-n/2) cancels in the ratio)
    def g(t, th):
        u = math.exp(-t)
        return lp - 0.5 * c * th * th - n * t - 0.5 * (u * u * Q - 2 * u * th * S + n * th * th)

    def h(t):
        if t < -300:
            return -math.inf
        u = math.exp(-t)
        return -n * t - 0.5 * u * u * Q

    def th_mode(t):  # argmax over theta of g(t, .), a quadratic in theta
        return math.exp(-t) * S / (n + c)

    prof = optimize.minimize_scalar(lambda t: -g(t, th_mode(t)), bracket=(-1.0, 1.0), tol=1e-12)
    t_star = float(prof.x)
    g_star = g(t_star, th_mode(t_star))
    opts = dict(epsabs=0.0, epsrel=1e-12, limit=400)

    def inner(t):
        if t < -300:  # s < e^-300: the integrand is exp(-O(e^600)), and exp(-t) would overflow
            return 0.0
        m = th_mode(t)
        f = lambda th: math.exp(g(t, th) - g_star)
        return integrate.quad(f, -math.inf, m, **opts)[0] + integrate.quad(f, m, math.inf, **opts)[0]

    num = integrate.quad(inner, -math.inf, t_star, **opts)[0] + integrate.quad(inner, t_star, math.inf, **opts)[0]
    h_prof = optimize.minimize_scalar(lambda t: -h(t), bracket=(-1.0, 1.0), tol=1e-12)
    h_t = float(h_prof.x)
    h_star = h(h_t)
    fh = lambda t: math.exp(h(t) - h_star)
    den = integrate.quad(fh, -math.inf, h_t, **opts)[0] + integrate.quad(fh, h_t, math.inf, **opts)[0]
    return g_star + math.log(num) - h_star - math.log(den)


def cs_numeric(x, alpha, c):
    """CS endpoints by root-finding on the numerical log M; None for an infinite side."""
    x = np.asarray(x, dtype=float)
    xbar = float(np.mean(x))
    s = float(np.std(x, ddof=1))
    target = math.log(1 / alpha)
    f = lambda mu0: log_m_numeric(x, mu0, c) - target
    assert f(xbar) < 0, "M_n(xbar) = sqrt(c/(n+c)) < 1 <= 1/alpha"
    ends = []
    for sign in (-1, 1):
        far = xbar + sign * 1e6 * s
        if f(far) < 0:
            ends.append(None)
            continue
        # log M increases with |mu0 - xbar| (checked on a coarse scan), so one root on each side
        ks = [0.0, 0.25, 0.5, 1, 2, 4, 8, 16, 64, 256, 1e3, 1e4, 1e5, 1e6]
        vals = [f(xbar + sign * k * s) for k in ks]
        assert all(b >= a - 1e-9 for a, b in zip(vals, vals[1:])), ("not monotone", vals)
        j = next(i for i, v in enumerate(vals) if v >= 0)
        lo_k, hi_k = ks[j - 1], ks[j]
        root = optimize.brentq(f, xbar + sign * lo_k * s, xbar + sign * hi_k * s, xtol=1e-13 * s, rtol=4 * np.finfo(float).eps, maxiter=200)
        ends.append(root)
    return ends


def half_width_numeric(n, alpha, c):
    """CS half-width in units of s at n for one fixed data set (it depends on n, alpha, c only)."""
    x = np.linspace(-1.0, 1.0, n) + 0.1 * np.sin(np.arange(n))  # any non-constant data
    s = float(np.std(x, ddof=1))
    lo, hi = cs_numeric(x, alpha, c)
    if hi is None:
        return math.inf
    return (hi - float(np.mean(x))) / s


def mixing_numeric(alpha, target_n):
    res = optimize.minimize_scalar(
        lambda lc: half_width_numeric(target_n, alpha, math.exp(lc)), bounds=(math.log(0.05), math.log(20.0)), method="bounded", options={"xatol": 1e-7}
    )
    return math.exp(res.x), float(res.fun)


C_DEFAULT = 0.7224  # about csMixing(0.05, 10); the TypeScript test passes c explicitly

rng = np.random.default_rng(20240611)
seq_cases = []


def add_seq(name, x, alpha, c):
    x = [float(v) for v in x]
    lo, hi = cs_numeric(x, alpha, c)
    xbar = float(np.mean(x))
    s = float(np.std(x, ddof=1))
    mu0s = [xbar, xbar + 0.5 * s, xbar - 1.3 * s, xbar + 4 * s]
    seq_cases.append(
        {
            "name": name,
            "d": x,
            "alpha": alpha,
            "c": c,
            "lo": lo,  # None: -infinity
            "hi": hi,  # None: +infinity
            "logM": [{"mu0": m, "logM": log_m_numeric(x, m, c)} for m in mu0s],
        }
    )
    print(f"  {name}: n={len(x)} alpha={alpha} c={c}: [{lo}, {hi}]  ({time.time() - t_start:.0f}s)", flush=True)


print("confidence sequence cases", flush=True)
for n in (2, 3, 4, 5, 7, 10, 15, 20, 30):
    add_seq(f"gaussian n={n}", rng.normal(0.01, 0.005, n), 0.05, C_DEFAULT)
# (2, 0.05, 0.00126), (2, 0.2, 0.02), (3, 0.1, 0.06), (3, 0.2, 0.14): near the c that minimises the
# width at that n, the only way to get a finite CS at n = 2 or 3
for n, alpha, c in ((2, 0.05, 0.00126), (2, 0.2, 0.02), (3, 0.1, 0.06), (3, 0.2, 0.14), (5, 0.2, 0.5), (6, 0.1, 1.0), (8, 0.01, 0.4), (12, 0.05, 5.0), (25, 0.05, 25.0), (10, 0.05, 0.1), (4, 0.2, 2.0), (30, 0.01, 3.0)):
    add_seq(f"n={n} alpha={alpha} c={c}", rng.normal(-2.0, 3.0, n), alpha, c)
# quantized accuracies (multiples of 1e-4), a skewed sample, and a large offset (scale invariance)
add_seq("quantized n=10", np.round(rng.normal(0.004, 0.003, 10), 4), 0.05, C_DEFAULT)
add_seq("skewed n=12", rng.exponential(1.0, 12) - 0.5, 0.1, 1.0)
add_seq("offset n=8", 1000.0 + rng.normal(0, 1e-3, 8), 0.05, C_DEFAULT)

print("mixing", flush=True)
mixing = []
for alpha, target_n in ((0.05, 10), (0.1, 5)):
    c_opt, hw = mixing_numeric(alpha, target_n)
    mixing.append({"alpha": alpha, "targetN": target_n, "c": c_opt, "halfWidth": hw})
    print(f"  alpha={alpha} targetN={target_n}: c={c_opt} half-width={hw} s  ({time.time() - t_start:.0f}s)", flush=True)

# ----------------------------------------------------------------------------------------------
# Bootstrap

TIE_REL = 1e-9


def exact_distribution(d):
    """(means, counts, N): every resample of d, brute force for n <= 6, multisets for n <= 9."""
    n = len(d)
    means, counts = [], []
    if n <= 6:
        for tup in itertools.product(range(n), repeat=n):
            means.append(sum(d[i] for i in tup) / n)
            counts.append(1)
        return means, counts, n**n
    for combo in itertools.combinations_with_replacement(range(n), n):
        w = math.factorial(n)
        for k in Counter(combo).values():
            w //= math.factorial(k)
        means.append(sum(d[i] for i in combo) / n)
        counts.append(w)
    assert sum(counts) == n**n
    return means, counts, n**n


def quantile(means, counts, total, p):
    order = sorted(range(len(means)), key=lambda j: means[j])
    target = p * total
    cum = 0
    for j in order:
        cum += counts[j]
        if cum >= target:
            return means[j]
    return means[order[-1]]


def intervals(d, level, means, counts, total):
    n = len(d)
    obs = sum(d) / n
    tol = TIE_REL * max(abs(v) for v in d)
    below = sum(w for m, w in zip(means, counts) if m < obs - tol)
    ties = sum(w for m, w in zip(means, counts) if abs(m - obs) <= tol)
    p = (2 * below + ties) / (2 * total)
    p = min(max(p, 1 / (2 * total)), 1 - 1 / (2 * total))
    z0 = float(st.norm.ppf(p))
    jack = [(sum(d) - d[i]) / (n - 1) for i in range(n)]
    jdot = sum(jack) / n
    U = [(n - 1) * (jdot - j) for j in jack]
    a = sum(u**3 for u in U) / (6 * sum(u**2 for u in U) ** 1.5)
    alpha = (1 - level) / 2
    za = float(st.norm.ppf(alpha))
    levels = []
    for z in (za, -za):
        levels.append(float(st.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))))
    perc = [quantile(means, counts, total, alpha), quantile(means, counts, total, 1 - alpha)]
    bca = [quantile(means, counts, total, levels[0]), quantile(means, counts, total, levels[1])]
    if all(w == 1 for w in counts):  # brute force: the rule is numpy's inverted_cdf
        for q, v in zip((alpha, 1 - alpha, levels[0], levels[1]), perc + bca):
            assert v == float(np.quantile(np.asarray(means), q, method="inverted_cdf")), (q, v)
    return {"percentile": perc, "bca": bca, "z0": z0, "a": a, "bcaLevels": levels, "pBelow": p}


print("bootstrap exact cases", flush=True)
boot_exact = []
brng = np.random.default_rng(7)
exact_sets = [
    ("n=2", [0.003, -0.001], 0.95),
    # p N exactly a cumulative count (0.25 * 4 = 1, 0.25 * 256 = 64): '>=' against '>' in the rule
    ("n=2 level 0.5", [0.5, -0.25], 0.5),
    ("n=4 level 0.5", [0.0011, 0.0003, -0.0004, 0.0020], 0.5),
    ("n=3 symmetric integers (ties at the mean)", [-1.0, 0.0, 1.0], 0.95),
    ("n=3", list(brng.normal(0.01, 0.004, 3)), 0.95),
    ("n=4 quantized", list(np.round(brng.normal(0.002, 0.003, 4), 4)), 0.95),
    ("n=5 skewed", list(brng.exponential(1.0, 5)), 0.95),
    ("n=5 level 0.9", list(brng.normal(0, 1, 5)), 0.9),
    ("n=6 with a duplicate", [0.0012, 0.0031, 0.0012, -0.0007, 0.0045, 0.0019], 0.95),
    ("n=6 skewed level 0.8", list(brng.lognormal(0, 1, 6)), 0.8),
    ("n=7", list(brng.normal(0.5, 1, 7)), 0.95),
    ("n=8 quantized", list(np.round(brng.normal(0.003, 0.004, 8), 4)), 0.95),
    ("n=9 skewed", list(brng.exponential(2.0, 9) - 1.0), 0.95),
]
for name, d, level in exact_sets:
    d = [float(v) for v in d]
    means, counts, total = exact_distribution(d)
    r = intervals(d, level, means, counts, total)
    boot_exact.append({"name": name, "d": d, "level": level, "enumeration": "product" if len(d) <= 6 else "multisets", **r})
    print(f"  {name}: perc {r['percentile']} bca {r['bca']}  ({time.time() - t_start:.0f}s)", flush=True)

print("bootstrap Monte Carlo cases (scipy.stats.bootstrap)", flush=True)
REPEATS = 20
B_SCIPY = 100000
boot_mc = []
# lattice: the spacing of the resample means when d lies on a grid (accuracies in multiples of 1e-4:
# means in multiples of 1e-4 / n), where our inverse-ECDF quantile and SciPy's linear interpolation
# can differ by up to one step; 0 for continuous data (the gap between order statistics is ~1e-5 s)
mc_sets = [
    ("n=15 skewed", list(brng.exponential(1.0, 15) - 0.3), 0.95, 0.0),
    ("n=25 skewed", list(brng.lognormal(0, 0.8, 25)), 0.95, 0.0),
    ("n=25 quantized accuracies", list(np.round(brng.normal(0.004, 0.006, 25), 4)), 0.9, 1e-4 / 25),
]
for name, d, level, lattice in mc_sets:
    d = [float(v) for v in d]
    arr = np.asarray(d)
    entry = {"name": name, "d": d, "level": level, "nResamples": B_SCIPY, "repeats": REPEATS, "lattice": lattice}
    for method, key in (("BCa", "bca"), ("percentile", "percentile")):
        ends = []
        for rep in range(REPEATS):
            res = st.bootstrap((arr,), np.mean, confidence_level=level, n_resamples=B_SCIPY, method=method, random_state=1000 + rep, vectorized=True)
            ends.append([float(res.confidence_interval.low), float(res.confidence_interval.high)])
        ends = np.asarray(ends)
        entry[key] = {"mean": ends.mean(axis=0).tolist(), "sd": ends.std(axis=0, ddof=1).tolist()}
    boot_mc.append(entry)
    print(f"  {name}: {entry['bca']} {entry['percentile']}  ({time.time() - t_start:.0f}s)", flush=True)

out = {
    "scipy": scipy.__version__,
    "numpy": np.__version__,
    "python": ".".join(map(str, __import__("sys").version_info[:3])),
    "sequential": {"cases": seq_cases, "mixing": mixing},
    "bootstrap": {"tieRel": TIE_REL, "exact": boot_exact, "monteCarlo": boot_mc},
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "sequential_reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1, allow_nan=False)
print(f"wrote {path} in {time.time() - t_start:.0f}s")
