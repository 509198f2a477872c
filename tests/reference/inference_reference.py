"""Independent reference values for src/shared/inference.ts, from statsmodels, SciPy and mpmath.

Regenerate with Debian 12's python3 (python3-scipy 1.10.1, python3-statsmodels 0.13.5,
python3-numpy 1.24, python3-mpmath 1.2; the pyenv python3 first on PATH has no statsmodels):
    /usr/bin/python3 tests/reference/inference_reference.py
It writes tests/fixtures/inference_reference.json (library versions included), which
tests/unit/inference.test.ts compares against our TypeScript (built on @stdlib), so CI needs no
Python. Everything here is the libraries' own functions, not our code:
- adjust: statsmodels.stats.multitest.multipletests(p, method=...)[1] for holm, bonferroni,
  simes-hochberg and fdr_bh; a vector with None is adjusted over its non-None entries only (the
  family our adjustP sees) and the Nones put back;
- tost: statsmodels.stats.weightstats.ttost_paired(x1, x2, -margin, margin) (p, both one-sided p,
  df) on generated pairs; the TypeScript takes d = x1 - x2 (the same float64 subtraction);
- sign: scipy.stats.binomtest(k, n, 0.5).pvalue (two-sided);
- clopperPearson: statsmodels.stats.proportion.proportion_confint(k, n, alpha, method='beta');
- mcnemar: statsmodels.stats.contingency_tables.mcnemar(table, exact=True).pvalue;
- power: statsmodels TTestPower().power(effect_size, nobs, alpha, alternative='two-sided')
  ("statsmodels"), and the same formula, sf(c) + cdf(-c) of SciPy's (Boost's) noncentral t, with
  the exact critical value c = t_{n-1, 1-alpha/2} solved with mpmath at 30 digits ("power"). The
  second is the reference to match: SciPy 1.10's t.isf (cdflib's stdtrit) is itself off by up to
  ~1e-9 relative (t_{1, 0.9995}: 636.61924943 against the exact 636.61924877, the cotangent of
  0.0005 pi), and statsmodels' power inherits that; "critSciPy"/"critExact" record both. A few
  cases also carry "mpmath": the power by direct 30-digit integration of the noncentral t, a check
  on Boost (they agree to ~1e-15);
- mde: the root in effect size of the exact-critical-value power above (brentq, xtol 1e-15),
  times sd ("mde"); and statsmodels' TTestPower().solve_power(nobs=n, alpha, power) * sd
  ("statsmodels"), which stops at its own tolerance (~1e-5 relative, sometimes worse);
- seedsNeeded: the smallest n >= 2 whose power reaches the target, scanning n with the exact power
  ("n") and with statsmodels' power ("nStatsmodels", asserted equal; cases where the power at n or
  n-1 is within 1e-8 of the target are refused as too close to call), and
  ceil(TTestPower().solve_power(effect_size=effect/sd, alpha, power)) where that converges;
- predictiveBetter: (better + tied/2) / n and the documented interval: proportion_confint of
  floor(better + tied/2) for the lower bound and of ceil(...) for the upper, at alpha 0.05.
"""
import json
import math
import os
import warnings

import mpmath as mp
import numpy as np
import scipy
import scipy.stats as st
import statsmodels
from scipy.optimize import brentq
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import ttost_paired

warnings.simplefilter("ignore")  # Boost's nct warns on underflowing tails; solve_power on convergence
mp.mp.dps = 30
TP = TTestPower()

# ---------------------------------------------------------------------------------------------
# multiple comparisons

SM_METHOD = {"holm": "holm", "bonferroni": "bonferroni", "hochberg": "simes-hochberg", "bh": "fdr_bh"}
rng = np.random.default_rng(20240611)
p_vectors = {
    "mixed": [0.01, 0.04, 0.03, 0.005, 0.2],
    "ties": [0.02, 0.02, 0.02, 0.5, 0.01, 0.01],
    "exactly alpha": [0.05, 0.025, 0.0125, 0.05],
    "clipped at 1": [0.3, 0.6, 0.9, 0.45],
    "zeros and ones": [0.0, 1.0, 0.0, 0.5, 1.0],
    "single": [0.03],
    "step-up differs from step-down": [0.04, 0.045, 0.9, 0.01],
    "all equal": [0.2, 0.2, 0.2],
    "with nulls": [0.01, None, 0.04, None, 0.03],
    "all null": [None, None],
    "empty": [],
    "random 50": (rng.uniform(size=50) ** 3).tolist(),
    "random 20 rounded (ties)": np.round(rng.uniform(size=20) ** 2, 2).tolist(),
}
adjust = []
for name, p in p_vectors.items():
    idx = [i for i, v in enumerate(p) if v is not None]
    for method, sm in SM_METHOD.items():
        out = [None] * len(p)
        if idx:
            adj = multipletests(np.array([p[i] for i in idx], float), method=sm)[1]
            for j, i in enumerate(idx):
                out[i] = float(adj[j])
        adjust.append({"name": name, "method": method, "p": p, "adjusted": out})

# ---------------------------------------------------------------------------------------------
# TOST


def tost_case(name, n, shift, sd, margin, seed):
    g = np.random.default_rng(seed)
    x2 = g.normal(0.9, 0.01, n)
    x1 = x2 + shift + g.normal(0, sd, n)
    p, (t1, p1, df1), (t2, p2, df2) = ttost_paired(x1, x2, -margin, margin)
    return {"name": name, "x1": x1.tolist(), "x2": x2.tolist(), "margin": margin,
            "p": float(p), "pLower": float(p1), "pUpper": float(p2), "df": float(df1)}


tost = [
    tost_case("n=2 inside", 2, 0.0, 0.002, 0.01, 1),
    tost_case("n=3 inside", 3, 0.001, 0.002, 0.01, 2),
    tost_case("n=5 near lower bound", 5, -0.009, 0.003, 0.01, 3),
    tost_case("n=5 at upper bound", 5, 0.01, 0.003, 0.01, 4),
    tost_case("n=10 outside", 10, 0.02, 0.004, 0.01, 5),
    tost_case("n=10 far outside (p near 1)", 10, -0.05, 0.002, 0.01, 6),
    tost_case("n=30 half margin", 30, 0.005, 0.01, 0.01, 7),
    tost_case("n=200 tiny p", 200, 0.0, 0.002, 0.01, 8),
    tost_case("n=200 wide margin", 200, 0.3, 1.0, 1.0, 9),
    tost_case("n=4 large sd", 4, 0.0, 0.05, 0.01, 10),
]

# ---------------------------------------------------------------------------------------------
# sign test, Clopper-Pearson, McNemar

sign_cases = [(0, 1), (1, 1), (0, 2), (1, 2), (2, 2), (0, 5), (3, 10), (5, 10), (7, 10), (10, 10),
              (0, 20), (6, 20), (15, 20), (49, 100), (50, 101), (30, 100), (1, 60), (3, 1000),
              (450, 1000), (480, 1000), (2000, 5000), (2600, 5000)]
sign = [{"better": k, "worse": n - k, "p": float(st.binomtest(k, n, 0.5).pvalue)} for k, n in sign_cases]

cp_cases = [(0, 1, 0.95), (1, 1, 0.95), (0, 10, 0.95), (10, 10, 0.95), (1, 10, 0.95), (5, 10, 0.95),
            (9, 10, 0.95), (3, 7, 0.9), (3, 7, 0.99), (50, 100, 0.95), (1, 1000, 0.95), (999, 1000, 0.95),
            (500, 1000, 0.95), (2, 5, 0.5), (12, 40, 0.8), (0, 3, 0.999), (3, 3, 0.999), (17, 23, 0.95)]
clopper = []
for k, n, level in cp_cases:
    lo, up = proportion_confint(k, n, alpha=1 - level, method="beta")
    clopper.append({"k": k, "n": n, "level": level, "ci": [float(lo), float(up)]})

tables = [[[10, 3], [7, 5]], [[0, 0], [0, 0]], [[5, 0], [0, 9]], [[1, 0], [5, 2]], [[20, 12], [12, 3]],
          [[0, 1], [0, 0]], [[100, 40], [20, 80]], [[2, 25], [1, 3]], [[0, 300], [250, 0]], [[7, 0], [30, 1]]]
mcn = [{"table": t, "armOnly": t[0][1], "refOnly": t[1][0], "p": float(mcnemar(np.array(t), exact=True).pvalue)} for t in tables]

# ---------------------------------------------------------------------------------------------
# power of the paired t-test


def crit_exact(df, alpha):
    """t_{df, 1 - alpha/2} to 30 digits: the root of P(T <= -c) = alpha/2, P(T <= -c) = I_x(df/2, 1/2) / 2, x = df / (df + c^2)."""
    dfm = mp.mpf(df)
    target = mp.mpf(alpha) / 2
    f = lambda c: mp.betainc(dfm / 2, mp.mpf(1) / 2, 0, dfm / (dfm + c * c), regularized=True) / 2 - target
    return mp.findroot(f, mp.mpf(float(st.t.isf(alpha / 2, df))), tol=mp.mpf(10) ** -28)


CRIT = {}


def crit(df, alpha):
    if (df, alpha) not in CRIT:
        CRIT[(df, alpha)] = float(crit_exact(df, alpha))
    return CRIT[(df, alpha)]


def power_exact_crit(es, n, alpha):
    """statsmodels' ttest_power formula (nct sf(c) + nct cdf(-c)) with the exact critical value."""
    c = crit(n - 1, alpha)
    nc = es * math.sqrt(n)
    return float(st.nct.sf(c, n - 1, nc) + st.nct.cdf(-c, n - 1, nc))


def power_sm(es, n, alpha):
    return float(TP.power(effect_size=es, nobs=n, alpha=alpha, alternative="two-sided"))


def power_mpmath(es, n, alpha):
    """P(T > c) + P(T < -c) for T = (Z + delta) / (W / sqrt(df)), W ~ chi(df), by mpmath quadrature."""
    df = mp.mpf(n - 1)
    c = crit_exact(n - 1, alpha)
    delta = mp.mpf(es) * mp.sqrt(n)
    logc = (1 - df / 2) * mp.log(2) - mp.loggamma(df / 2)
    dens = lambda w: mp.exp(logc + (df - 1) * mp.log(w) - w * w / 2) if w > 0 else mp.mpf(0)
    m = mp.sqrt(df - 1)
    pts = sorted({mp.mpf(0), m / 2, m, m + 1, m + 3, m + 8, m + 20, max(delta * mp.sqrt(df) / c, mp.mpf(0))})
    up = mp.quad(lambda w: mp.ncdf(delta - c * w / mp.sqrt(df)) * dens(w), pts)
    lo = mp.quad(lambda w: mp.ncdf(-c * w / mp.sqrt(df) - delta) * dens(w), pts)
    return float(up + lo)


power = []
for n in [2, 3, 5, 8, 13, 20, 50, 100, 200]:
    for es in [0.0, 0.001, 0.05, 0.2, 0.5, 1.0, 2.0, 5.0]:
        for alpha in [0.001, 0.01, 0.05, 0.2]:
            power.append({"effect": es, "sd": 1.0, "n": n, "alpha": alpha,
                          "power": power_exact_crit(es, n, alpha), "statsmodels": power_sm(es, n, alpha),
                          "critExact": crit(n - 1, alpha), "critSciPy": float(st.t.isf(alpha / 2, n - 1))})
# effect and sd separately, negative effects (the power is symmetric), alpha at the brief's edges
for effect, sd, n, alpha in [(0.3, 2.5, 12, 0.05), (-0.3, 2.5, 12, 0.05), (-1.2, 1.0, 6, 0.01), (0.004, 0.01, 7, 0.1),
                             (-0.02, 0.003, 3, 0.05), (1.0, 0.5, 2, 0.2), (0.25, 1.0, 64, 0.05), (0.1, 1.0, 200, 0.001)]:
    es = effect / sd
    power.append({"effect": effect, "sd": sd, "n": n, "alpha": alpha,
                  "power": power_exact_crit(es, n, alpha), "statsmodels": power_sm(es, n, alpha),
                  "critExact": crit(n - 1, alpha), "critSciPy": float(st.t.isf(alpha / 2, n - 1))})
for c in power:
    if (c["n"], c["effect"], c["alpha"]) in [(2, 0.0, 0.001), (2, 5.0, 0.05), (3, 0.5, 0.2), (5, 1.0, 0.001), (13, 0.2, 0.05),
                                             (20, 0.001, 0.01), (50, 0.5, 0.01), (200, 0.2, 0.2), (200, 5.0, 0.001), (8, 2.0, 0.05)]:
        c["mpmath"] = power_mpmath(c["effect"] / c["sd"], c["n"], c["alpha"])
        assert abs(c["mpmath"] - c["power"]) <= 1e-13 * c["power"] + 1e-300, c

# ---------------------------------------------------------------------------------------------
# minimum detectable effect and seeds needed


def root_es(n, alpha, target):
    f = lambda es: power_exact_crit(es, n, alpha) - target
    hi = 1.0
    while f(hi) < 0:
        hi *= 2
    return brentq(f, 0.0, hi, xtol=1e-15, rtol=1e-15, maxiter=500)


mde = []
for n in [2, 3, 5, 10, 20, 50, 200]:
    for alpha in [0.001, 0.05, 0.2]:
        for target in [0.5, 0.8, 0.95]:
            sd = 1.0 if (n + int(alpha * 1000) + int(target * 100)) % 2 else 0.37
            r = root_es(n, alpha, target)
            s = TP.solve_power(effect_size=None, nobs=n, alpha=alpha, power=target, alternative="two-sided")
            s = float(np.asarray(s).ravel()[0])
            mde.append({"sd": sd, "n": n, "alpha": alpha, "power": target, "mde": r * sd,
                        "statsmodels": s * sd if math.isfinite(s) else None})


def scan_n(es, alpha, target, power_fn, max_n=1000):
    for n in range(2, max_n + 1):
        if power_fn(es, n, alpha) >= target:
            return n
    return None


seeds = []
for effect, sd, alpha, target, max_n in [(0.5, 1.0, 0.05, 0.8, 1000), (1.0, 1.0, 0.05, 0.8, 1000), (0.2, 1.0, 0.05, 0.8, 1000),
                                         (0.1, 1.0, 0.05, 0.8, 1000), (0.05, 1.0, 0.05, 0.8, 1000), (3.0, 1.0, 0.05, 0.8, 1000),
                                         (10.0, 1.0, 0.05, 0.8, 1000), (50.0, 1.0, 0.05, 0.8, 1000), (0.3, 0.5, 0.01, 0.9, 1000),
                                         (-0.4, 1.0, 0.05, 0.8, 1000), (0.0, 1.0, 0.05, 0.8, 1000), (0.01, 0.004, 0.05, 0.8, 1000),
                                         (0.3, 1.0, 0.001, 0.99, 1000), (0.5, 1.0, 0.2, 0.5, 1000), (0.2, 1.0, 0.05, 0.8, 100),
                                         (0.8, 1.0, 0.05, 0.95, 1000)]:
    es = effect / sd
    n = scan_n(es, alpha, target, power_exact_crit, max_n)
    n_sm = scan_n(es, alpha, target, power_sm, max_n)
    assert n == n_sm, (effect, sd, alpha, target, n, n_sm)
    for m in ([n, n - 1] if n is not None and n > 2 else [n] if n is not None else []):
        assert abs(power_exact_crit(es, m, alpha) - target) > 1e-8, ("too close to call", effect, sd, m)
    ceil_sm = None
    if es > 0:
        s = float(np.asarray(TP.solve_power(effect_size=es, nobs=None, alpha=alpha, power=target, alternative="two-sided")).ravel()[0])
        # accept only a converged, unambiguous solution: power there is the target to 1e-6, and not near an integer
        if math.isfinite(s) and s >= 2 and abs(power_exact_crit(es, s, alpha) - target) < 1e-6 and abs(s - round(s)) > 1e-3:
            ceil_sm = math.ceil(s)
    seeds.append({"effect": effect, "sd": sd, "alpha": alpha, "power": target, "max": max_n, "n": n, "ceilSolvePower": ceil_sm})

# ---------------------------------------------------------------------------------------------
# probability of beating the reference on a new seed

predictive = []
for better, tied, n in [(7, 0, 10), (7, 1, 10), (0, 0, 5), (5, 0, 5), (3, 3, 10), (0, 1, 1), (1, 0, 1), (0, 0, 1), (12, 5, 20), (40, 2, 50)]:
    x = better + tied / 2
    lo = proportion_confint(math.floor(x), n, alpha=0.05, method="beta")[0]
    up = proportion_confint(math.ceil(x), n, alpha=0.05, method="beta")[1]
    predictive.append({"better": better, "tied": tied, "n": n, "estimate": x / n, "ci": [float(lo), float(up)]})

out = {
    "versions": {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__, "numpy": np.__version__, "mpmath": mp.__version__},
    "adjust": adjust, "tost": tost, "sign": sign, "clopperPearson": clopper, "mcnemar": mcn,
    "power": power, "mde": mde, "seedsNeeded": seeds, "predictiveBetter": predictive,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "inference_reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1, allow_nan=False)
print("wrote", os.path.normpath(path))
worst = max(abs(c["statsmodels"] - c["power"]) / c["power"] for c in power)
print(f"  power: {len(power)} cases; statsmodels (SciPy's t.isf) vs exact critical value: worst {worst:.2e} relative")
print(f"  mde: {len(mde)} cases; solve_power vs root: worst "
      f"{max(abs(c['statsmodels'] - c['mde']) / c['mde'] for c in mde if c['statsmodels'] is not None):.2e} relative")
print("  seedsNeeded:", [(c["effect"], c["sd"], c["n"], c["ceilSolvePower"]) for c in seeds])
