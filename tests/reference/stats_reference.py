"""Independent reference values for src/shared/stats.ts (paired multi-seed comparisons), from SciPy.

Run with a python3 that has SciPy >= 1.17 (Debian 12's python3-scipy is 1.10, whose wilcoxon
handles zeros and ties differently; the script refuses older versions):
    python3 tests/reference/stats_reference.py
It writes tests/fixtures/stats_reference.json, which tests/unit/stats.test.ts compares against our
TypeScript (built on @stdlib), so CI needs no Python. Everything here is SciPy/NumPy's own
functions with default arguments, not our code:
- paired cases (arm, base): scipy.stats.ttest_rel (statistic, pvalue, confidence_interval(0.95))
  and scipy.stats.wilcoxon(arm, base) with defaults (zero_method='wilcox', correction=False,
  method='auto'). SciPy 1.17's 'auto' picks, with N = number of pairs (zeros included):
    N > 50                             -> normal approximation, no continuity correction;
    N <= 50, no zero and no tied |d|   -> exact signed-rank distribution;
    N <= 13, zeros or ties             -> permutation test over all 2^N sign flips (exact; with
                                          zeros only it equals the exact test on the non-zero d);
    14 <= N <= 50, zeros or ties       -> normal approximation, no continuity correction.
  Each case records which branch SciPy took ("wilcoxonMethod"), and for the permutation-with-ties
  branch also the normal approximation with continuity correction ("wilcoxonAsymptoticCorrected",
  kept for comparison; stats.ts enumerates the sign flips as SciPy does);
- band cases: mean, std (ddof=1), sem, scipy.stats.t.ppf(0.975, n-1) and the 95% CI half-width;
- t quantiles t.ppf(0.975, df) for a list of df;
- a mean curve: a few series with missing (NaN) points, per index the count, mean and mean +- SD,
  SE and 95% CI half-width over the finite values.
Non-finite results (NaN, inf) are written as null (JSON has neither); the test knows which.
"""
import json
import math
import os
import warnings

import numpy as np
import scipy
import scipy.stats as st

major, minor = (int(p) for p in scipy.__version__.split(".")[:2])
assert (major, minor) >= (1, 17), f"needs SciPy >= 1.17 for wilcoxon's default method, found {scipy.__version__}"

warnings.simplefilter("ignore")  # n=1, zero variance: SciPy warns and returns nan/inf, recorded as null


def num(x):
    x = float(x)
    return x if math.isfinite(x) else None


def accuracies(n, seed, base_level, effect, noise, spread=0.01, decimals=4):
    """Test-set accuracies (multiples of 1e-4, a 10,000-image test set) of n seeds: the seed moves
    both arms together (pairing), the trick adds effect plus its own noise. decimals=None: a
    continuous metric (a final loss), which has no ties."""
    rng = np.random.default_rng(seed)
    seed_level = base_level + rng.normal(0, spread, n)
    base = seed_level + rng.normal(0, noise, n)
    arm = seed_level + effect + rng.normal(0, noise, n)
    if decimals is not None:
        base, arm = np.round(base, decimals), np.round(arm, decimals)
    return arm.tolist(), base.tolist()


def wilcoxon_method(d):
    nz = d[d != 0]
    ties = len(np.unique(np.abs(nz))) != len(nz)
    zeros = len(nz) != len(d)
    if len(d) > 50:
        return "asymptotic", ties, zeros
    if not (ties or zeros):
        return "exact", ties, zeros
    return ("permutation" if len(d) <= 13 else "asymptotic"), ties, zeros


def paired(name, arm, base, expect_ties=False, expect_zeros=False):
    x, y = np.array(arm, float), np.array(base, float)
    d = x - y
    method, ties, zeros = wilcoxon_method(d)
    # the generated data must be what the case's name says (rounding can create or remove ties)
    assert ties == expect_ties and zeros == expect_zeros, (name, d.tolist(), ties, zeros)
    t = st.ttest_rel(x, y)
    ci = t.confidence_interval(0.95)
    case = {
        "name": name, "arm": arm, "base": base, "n": len(arm),
        "delta": num(np.mean(d)) if len(d) else None,
        "sdDelta": num(np.std(d, ddof=1)) if len(d) > 1 else None,
        "ttestStatistic": num(t.statistic), "ttestP": num(t.pvalue), "ttestDf": int(t.df),
        "ttestCI": [num(ci.low), num(ci.high)],
        "hasTies": bool(ties), "hasZeros": bool(zeros), "nNonzero": int(np.count_nonzero(d)),
    }
    if np.count_nonzero(d) == 0:
        case["wilcoxonMethod"] = None
        case["wilcoxonP"] = None  # SciPy: nan
    else:
        case["wilcoxonMethod"] = method
        case["wilcoxonP"] = num(st.wilcoxon(x, y).pvalue)
        if method == "permutation" and ties:
            case["wilcoxonAsymptoticCorrected"] = num(st.wilcoxon(x, y, method="asymptotic", correction=True).pvalue)
    return case


cases = []
# realistic: ~91% accuracy, a trick worth ~+0.4 points, seed-to-seed spread 1 point
for n, seed in ((2, 1), (3, 2), (5, 3), (8, 4), (10, 5), (20, 6)):
    cases.append(paired(f"accuracy n={n}", *accuracies(n, seed, 0.91, 0.004, 0.003)))
# a trick that hurts: negative deltas
cases.append(paired("negative deltas n=8", *accuracies(8, 11, 0.88, -0.006, 0.003)))
# exact test at larger N (continuous metric, so no ties), down to tiny p-values (all 30 positive:
# 2 / 2^30), and the largest N SciPy still treats exactly
cases.append(paired("loss n=30", *accuracies(30, 12, 0.6, -0.01, 0.03, 0.05, None)))
cases.append(paired("loss strong effect n=30", *accuracies(30, 13, 0.6, -0.1, 0.02, 0.05, None)))
cases.append(paired("loss n=50 (largest exact)", *accuracies(50, 14, 0.6, -0.01, 0.03, 0.05, None)))
# accuracies in steps of 1e-4 tie once there are a few dozen seeds: normal approximation
cases.append(paired("accuracy n=30 (ties)", *accuracies(30, 12, 0.9, 0.002, 0.003), expect_ties=True))
cases.append(paired("accuracy n=50 (ties)", *accuracies(50, 14, 0.9, 0.001, 0.003), expect_ties=True))
# N > 50: normal approximation without continuity correction, with and without ties
cases.append(paired("loss n=60", *accuracies(60, 15, 0.6, -0.01, 0.03, 0.05, None)))
cases.append(paired("accuracy n=60 (ties)", *accuracies(60, 15, 0.9, 0.001, 0.003), expect_ties=True, expect_zeros=True))
cases.append(paired("accuracy strong effect n=60 (ties)", *accuracies(60, 16, 0.9, 0.006, 0.003), expect_ties=True))
# zeros: N <= 13 (permutation = exact on the non-zero d), N in 14..50 and N > 50 (approximation)
cases.append(paired("one zero difference n=6",
                    [0.912, 0.9071, 0.9155, 0.9013, 0.9202, 0.9088],
                    [0.9101, 0.9071, 0.9117, 0.9042, 0.9149, 0.9035], expect_zeros=True))
arm20, base20 = accuracies(20, 21, 0.9, 0.003, 0.003)
base20[3], base20[11] = arm20[3], arm20[11]
cases.append(paired("two zero differences n=20", arm20, base20, expect_ties=True, expect_zeros=True))
# (no ties: dropping the zeros and using the exact test would give a different p than SciPy's)
arm20, base20 = accuracies(20, 23, 0.6, -0.03, 0.03, 0.05, None)
base20[0], base20[7] = arm20[0], arm20[7]
cases.append(paired("loss two zero differences n=20", arm20, base20, expect_zeros=True))
arm60, base60 = accuracies(60, 22, 0.9, 0.002, 0.003)
base60[5] = arm60[5]
cases.append(paired("one zero difference n=60", arm60, base60, expect_ties=True, expect_zeros=True))
# ties among |d| (integers, so the differences are exact): N <= 13 -> SciPy's permutation test
cases.append(paired("ties n=6", [3.0, 5.0, 4.0, 9.0, 2.0, 7.0], [1.0, 3.0, 5.0, 6.0, 1.0, 3.0], expect_ties=True))
cases.append(paired("ties and a zero n=7", [3.0, 5.0, 4.0, 9.0, 2.0, 7.0, 6.0], [1.0, 3.0, 5.0, 6.0, 1.0, 3.0, 6.0],
                    expect_ties=True, expect_zeros=True))
cases.append(paired("ties n=8", [12.0, 15.0, 11.0, 14.0, 18.0, 13.0, 16.0, 10.0], [10.0, 12.0, 12.0, 12.0, 14.0, 10.0, 12.0, 9.0],
                    expect_ties=True))
# ties with N in 14..50: normal approximation without correction, tie-corrected variance
arm_t = [float(10 + v) for v in (2, 3, 1, 4, 2, 5, -1, 3, 2, 6, 1, -2, 4, 3, 2, 5)]
cases.append(paired("ties n=16", arm_t, [10.0] * 16, expect_ties=True))
# every difference the same (non-zero): zero variance for the t-test, all |d| tied for Wilcoxon
cases.append(paired("all differences equal n=5", [3.0, 4.0, 5.0, 6.0, 7.0], [2.0, 3.0, 4.0, 5.0, 6.0], expect_ties=True))
cases.append(paired("all differences zero n=4", [0.91, 0.92, 0.9, 0.93], [0.91, 0.92, 0.9, 0.93], expect_zeros=True))
# rank sum exactly at its mean: exact two-sided p is 1 (clipped)
cases.append(paired("symmetric n=3", [1.0, 2.0, 0.0], [0.0, 0.0, 3.0]))
cases.append(paired("n=1", [0.915], [0.91]))
cases.append(paired("n=2 opposite signs", [0.915, 0.9], [0.91, 0.907]))

bands = []
for name, values in (
    ("n=1", [0.91]),
    ("n=2", [0.91, 0.93]),
    ("accuracy n=5", np.round(np.random.default_rng(31).normal(0.9, 0.01, 5), 4).tolist()),
    ("accuracy n=20", np.round(np.random.default_rng(32).normal(0.9, 0.01, 20), 4).tolist()),
    ("loss n=8", np.random.default_rng(33).lognormal(-1.0, 0.3, 8).tolist()),
    ("constant n=4", [0.5, 0.5, 0.5, 0.5]),
):
    v = np.array(values)
    n = len(v)
    b = {"name": name, "values": values, "n": n, "mean": float(np.mean(v))}
    if n > 1:
        b["std"] = float(np.std(v, ddof=1))
        b["se"] = float(st.sem(v))
        b["t975"] = float(st.t.ppf(0.975, n - 1))
        b["ci95HalfWidth"] = b["t975"] * b["se"]
    else:
        b["std"] = b["se"] = b["t975"] = b["ci95HalfWidth"] = None
    bands.append(b)

t_quantiles = [{"df": df, "q": float(st.t.ppf(0.975, df))} for df in (1, 2, 3, 4, 5, 7, 9, 19, 29, 49, 59, 100, 1000, 2.5)]

# mean curve: 4 runs on a 7-point grid, NaN = run has no value there (shorter run, missed eval)
nan = float("nan")
series = [
    [0.50, 0.61, 0.70, 0.74, 0.78, 0.80, nan],
    [0.48, 0.60, nan, 0.73, 0.77, nan, nan],
    [0.52, 0.63, 0.71, 0.76, 0.79, 0.81, 0.82],
    [nan, 0.59, 0.69, 0.75, nan, nan, nan],
]
m = np.array(series)
curve = {"series": [[num(v) for v in row] for row in series], "n": [], "mean": [], "sd": [], "se": [], "ci95": []}
for k in range(m.shape[1]):
    col = m[:, k][np.isfinite(m[:, k])]
    n = len(col)
    curve["n"].append(n)
    curve["mean"].append(num(np.mean(col)) if n else None)
    if n > 1:
        sd = float(np.std(col, ddof=1))
        se = float(st.sem(col))
        curve["sd"].append(sd)
        curve["se"].append(se)
        curve["ci95"].append(float(st.t.ppf(0.975, n - 1)) * se)
    else:  # n=1: zero-width band; n=0: no band
        for key in ("sd", "se", "ci95"):
            curve[key].append(0.0 if n == 1 else None)

out = {"scipy": scipy.__version__, "numpy": np.__version__, "paired": cases, "bands": bands, "tQuantiles": t_quantiles, "curve": curve}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "stats_reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1, allow_nan=False)
print("wrote", os.path.normpath(path))
for c in cases:
    print(f"  {c['name']:40s} t p={c['ttestP']}  wilcoxon p={c['wilcoxonP']} ({c['wilcoxonMethod']})")
