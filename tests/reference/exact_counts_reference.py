"""Reference values for paired comparisons of accuracies as exact counts (src/shared/stats.ts,
pairedComparison with `divisor`), from SciPy on the integer differences.

Accuracies are correct / n. As float64 the differences of equal gains differ in their last bits
(+3 images of 10,000: 3.0000000000000078e-4 vs 2.9999999999996696e-4), which hides ties from the
signed-rank test and defeats "all differences equal". tests/fixtures/stats_reference.json was made
by SciPy 1.17 on those floats; this script takes its accuracy cases (values that are k / 10000),
turns them into counts and computes what SciPy says about the integers, so the ties are real:
    /usr/bin/python3 tests/reference/exact_counts_reference.py
(Debian 12: SciPy 1.10). It writes tests/fixtures/exact_counts_reference.json.

- t-test: scipy.stats.ttest_rel on the counts; p is scale-free, the CI is divided by 10000 here.
- Wilcoxon, with SciPy 1.17's choice of method (see stats_reference.py), N = pairs, zeros included:
  N > 50, or 14 <= N <= 50 with zeros or tied |d|: scipy.stats.wilcoxon(method='approx',
  correction=False, zero_method='wilcox') (1.10's approximation: zeros dropped, tie-corrected
  variance, as 1.17's); no zeros and no ties: method='exact'; N <= 13 with zeros or ties: the
  permutation test over every sign flip of the non-zero differences with average ranks
  (scipy.stats.rankdata), enumerated below with itertools (1.10 has no such method).
"""
import itertools
import json
import os

import numpy as np
import scipy
import scipy.stats as st

HERE = os.path.dirname(os.path.abspath(__file__))
N_TEST = 10000


def permutation_p(d):
    nz = d[d != 0]
    ranks = st.rankdata(np.abs(nz))  # average ranks for ties
    observed = ranks[nz > 0].sum()
    sums = [sum(r for r, s in zip(ranks, signs) if s) for signs in itertools.product([0, 1], repeat=len(nz))]
    sums = np.array(sums)
    le = np.sum(sums <= observed + 1e-9)
    ge = np.sum(sums >= observed - 1e-9)
    return min(1.0, 2 * min(le, ge) / len(sums))


def wilcoxon(d):
    n = len(d)
    nz = d[d != 0]
    if len(nz) == 0:
        return None, None
    ties = len(np.unique(np.abs(nz))) < len(nz)
    zeros = len(nz) < n
    if n > 50 or (n > 13 and (ties or zeros)):
        return float(st.wilcoxon(d, zero_method="wilcox", correction=False, method="approx").pvalue), "asymptotic"
    if not ties and not zeros:
        if len(nz) == 1:
            return 1.0, "exact"
        return float(st.wilcoxon(d, zero_method="wilcox", correction=False, method="exact").pvalue), "exact"
    return permutation_p(d), "permutation"


def case(name, arm, base):
    arm = np.array(arm, dtype=np.int64)
    base = np.array(base, dtype=np.int64)
    d = arm - base
    n = len(d)
    out = {"name": name, "armCorrect": arm.tolist(), "baseCorrect": base.tolist(), "total": N_TEST, "n": n}
    out["delta"] = float(d.mean()) / N_TEST
    out["identical"] = bool(n >= 2 and np.all(d == d[0]))
    if n >= 2 and not out["identical"]:
        t = st.ttest_rel(arm, base)
        sd = d.std(ddof=1)
        half = st.t.ppf(0.975, n - 1) * sd / np.sqrt(n)
        out["ttestP"] = float(t.pvalue)
        out["ci95"] = [float(d.mean() - half) / N_TEST, float(d.mean() + half) / N_TEST]
        p, method = wilcoxon(d.astype(float))
    else:
        out["ttestP"] = None
        out["ci95"] = [out["delta"], out["delta"]] if out["identical"] else None
        p, method = (None, None) if out["identical"] else wilcoxon(d.astype(float))
    out["wilcoxonP"] = p
    out["wilcoxonMethod"] = method
    out["betterIn"] = int(np.sum(d > 0))
    out["worseIn"] = int(np.sum(d < 0))
    out["tiedIn"] = int(np.sum(d == 0))
    return out


def main():
    fx = json.load(open(os.path.join(HERE, "../fixtures/stats_reference.json")))
    cases = []
    for c in fx["paired"]:
        vals = np.array(c["arm"] + c["base"])
        counts = np.round(vals * N_TEST)
        if c["n"] < 2 or np.any(vals > 1) or np.max(np.abs(counts / N_TEST - vals)) > 1e-9:
            continue  # not accuracies on 10,000 images
        cases.append(case(c["name"], np.round(np.array(c["arm"]) * N_TEST).astype(int).tolist(), np.round(np.array(c["base"]) * N_TEST).astype(int).tolist()))
    # the cases: +3 images in each of 3 seeds; equal gains in some seeds hidden by float noise
    cases.append(case("+3 images in every seed n=3", [9103, 9110, 9097], [9100, 9107, 9094]))
    cases.append(case("equal gains among others n=6", [9103, 9113, 9097, 9120, 9088, 9105], [9100, 9110, 9099, 9112, 9090, 9100]))
    cases.append(case("equal gains n=16", [9100 + g + b for g, b in zip([3, 3, -3, 5, 5, 2, 3, -1, 4, 3, 2, 6, 3, -2, 5, 1], range(16))], [9100 + b for b in range(16)]))
    json.dump({"scipy": scipy.__version__, "numpy": np.__version__, "cases": cases}, open(os.path.join(HERE, "../fixtures/exact_counts_reference.json"), "w"), indent=1)
    print(f"{len(cases)} cases")


main()
