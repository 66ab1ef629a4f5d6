"""Writes tests/fixtures/stats/reference.json: SciPy's own answers for the
statistics that `saex compare` computes, on fixed data, so that
tests/test_stats.c checks src/analysis/stats.c against SciPy without SciPy.

Run from the repo root with a venv that has scipy (tools/requirements.txt):
    .venv-ref/bin/python tools/gen_stats_reference.py

Each test case records SciPy's result with its defaults (method='auto') and,
to pin down which method 'auto' chose, the p-value of every explicit method;
"method" names the explicit method whose p-value equals the auto one. The C
test then checks both the value and the method saex chose.
"""
import json
import os
import warnings

import numpy as np
import scipy
from scipy import stats

OUT = os.path.join("tests", "fixtures", "stats", "reference.json")


def rng_values(seed, n, lo=0.0, hi=5.0, zeros=0.0, decimals=None):
    """n values: a fraction `zeros` of exact zeros (features absent from a
    sample's top-k), the rest uniform; rounded to create ties when asked."""
    g = np.random.default_rng(seed)
    v = g.uniform(lo, hi, n)
    if decimals is not None:
        v = np.round(v, decimals)
    v[g.uniform(size=n) < zeros] = 0.0
    return v


def wilcoxon_cases():
    c = []
    add = lambda name, x, y: c.append((name, np.asarray(x, float), np.asarray(y, float)))
    add("n1_positive", [2.0], [1.0])
    add("n1_zero_difference", [1.5], [1.5])
    add("n3_no_ties", [1.0, 2.5, 4.0], [0.5, 3.0, 1.0])
    add("n8_no_ties_exact", rng_values(1, 8), rng_values(2, 8))
    add("n8_all_positive_exact", [3, 4, 5, 6, 7, 8, 9, 10], [0, 0, 0, 0, 0, 0, 0, 0.5])
    add("n10_ties_permutation", [1, 2, 2, 3, 5, 5, 5, 1, 0, 4], [0, 1, 1, 1, 2, 2, 2, 2, 2, 2])
    add("n12_zero_differences_permutation", [1, 2, 0, 0, 3, 1.5, 0, 2, 0, 1, 4, 0],
        [0, 2, 0, 0.5, 1, 1.5, 0, 0, 2, 0, 0, 0])
    add("n13_zeros_permutation", rng_values(3, 13, zeros=0.5, decimals=1), rng_values(4, 13, zeros=0.5, decimals=1))
    add("n14_zeros_asymptotic", rng_values(5, 14, zeros=0.5, decimals=1), rng_values(6, 14, zeros=0.5, decimals=1))
    add("n30_no_ties_exact", rng_values(7, 30), rng_values(8, 30))
    add("n50_no_ties_exact", rng_values(9, 50) + 0.3, rng_values(10, 50))
    add("n51_no_ties_asymptotic", rng_values(11, 51) + 0.3, rng_values(12, 51))
    add("n40_ties_asymptotic", rng_values(13, 40, decimals=0), rng_values(14, 40, decimals=0))
    add("n200_sparse_asymptotic", rng_values(15, 200, zeros=0.8), rng_values(16, 200, zeros=0.9))
    add("n13_all_zero_differences", np.zeros(13), np.zeros(13))
    add("n20_all_zero_differences", np.ones(20), np.ones(20))
    add("n6_all_equal_differences", np.full(6, 3.0), np.full(6, 1.0))
    add("n60_all_equal_differences", np.full(60, 2.0), np.zeros(60))
    add("n9_extreme_exact", np.arange(1, 10) + 10.0, np.zeros(9))
    add("n45_extreme_exact", np.arange(1, 46) + 100.0, np.zeros(45))
    return c


def mwu_cases():
    c = []
    add = lambda name, x, y: c.append((name, np.asarray(x, float), np.asarray(y, float)))
    add("n1_n1", [2.0], [1.0])
    add("n1_n5", [2.0], [1.0, 3.0, 4.0, 0.5, 5.0])
    add("n1_n1_tie", [1.0], [1.0])
    add("n3_n4_exact", [1.0, 2.5, 4.0], [0.5, 3.0, 1.5, 6.0])
    add("n8_n8_exact", rng_values(21, 8), rng_values(22, 8))
    add("n8_n40_exact", rng_values(23, 8) + 1, rng_values(24, 40))
    add("n2_n100_exact", [4.9, 5.1], rng_values(25, 100))
    add("n9_n9_asymptotic", rng_values(26, 9), rng_values(27, 9))
    add("n5_n6_ties_asymptotic", [0, 0, 1, 2, 2], [0, 1, 1, 3, 4, 0])
    add("n30_n25_sparse", rng_values(28, 30, zeros=0.7), rng_values(29, 25, zeros=0.4))
    add("n300_n200_sparse", rng_values(30, 300, zeros=0.9), rng_values(31, 200, zeros=0.85))
    add("all_equal", np.zeros(7), np.zeros(9))
    add("all_equal_small", [1.0, 1.0], [1.0])
    add("n4_n4_separated_exact", [5, 6, 7, 8], [1, 2, 3, 4])
    add("n8_n12_extreme_exact", np.arange(8) + 100.0, np.arange(12) * 0.5)
    add("negative_values", [-1.0, -3.0, 2.0, 0.0], [-2.5, 1.0, 4.0, 3.5, -0.5])
    return c


def explicit_p(fn, x, y, methods):
    out = {}
    for name, m in methods.items():
        try:
            out[name] = float(fn(x, y, method=m).pvalue)
        except ValueError:
            pass
    return out


def which(auto_p, by_method):
    same = [k for k, p in by_method.items() if (np.isnan(p) and np.isnan(auto_p)) or p == auto_p]
    # For data where two methods agree to the bit, any of them is "the" method.
    return same


def num(v):
    v = float(v)
    return None if np.isnan(v) else v


def main():
    warnings.simplefilter("ignore")
    cases = []
    wmethods = {"exact": "exact", "asymptotic": "asymptotic", "permutation": stats.PermutationMethod()}
    for name, x, y in wilcoxon_cases():
        try:
            r = stats.wilcoxon(x, y)
        except ValueError as e:
            # SciPy refuses some inputs (one pair whose difference is zero:
            # its permutation test needs two observations); saex answers NaN.
            cases.append({"test": "wilcoxon", "name": name, "x": x.tolist(), "y": y.tolist(),
                          "scipy_error": str(e)})
            continue
        by = explicit_p(stats.wilcoxon, x, y, wmethods)
        d = x - y
        dz = float(np.mean(d) / np.std(d, ddof=1)) if len(d) > 1 else float("nan")
        cases.append({"test": "wilcoxon", "name": name, "x": x.tolist(), "y": y.tolist(),
                      "statistic": num(r.statistic), "pvalue": num(r.pvalue),
                      "methods": which(float(r.pvalue), by),
                      "cohens_d": num(dz) if np.isfinite(dz) else None})
    mmethods = {"exact": "exact", "asymptotic": "asymptotic"}
    for name, x, y in mwu_cases():
        r = stats.mannwhitneyu(x, y)
        by = explicit_p(stats.mannwhitneyu, x, y, mmethods)
        nx, ny = len(x), len(y)
        sp = np.sqrt(((nx - 1) * np.var(x, ddof=1 if nx > 1 else 0) + (ny - 1) * np.var(y, ddof=1 if ny > 1 else 0))
                     / (nx + ny - 2)) if nx + ny > 2 else float("nan")
        d = float((np.mean(x) - np.mean(y)) / sp) if sp and np.isfinite(sp) else float("nan")
        cases.append({"test": "mannwhitneyu", "name": name, "x": x.tolist(), "y": y.tolist(),
                      "statistic": num(r.statistic), "pvalue": num(r.pvalue),
                      "methods": which(float(r.pvalue), by),
                      "cohens_d": num(d) if np.isfinite(d) else None})
    bh_inputs = {
        "bh_basic": [0.01, 0.04, 0.03, 0.005, 0.5, 0.2],
        "bh_ties": [0.02, 0.02, 0.02, 0.5, 0.5, 1.0, 0.0],
        "bh_single": [0.3],
        "bh_monotone_fix": [0.001, 0.049, 0.05, 0.051, 0.9, 0.049],
        "bh_random_500": np.random.default_rng(40).uniform(size=500).tolist(),
    }
    for name, p in bh_inputs.items():
        adj = stats.false_discovery_control(p)
        cases.append({"test": "bh", "name": name, "p": list(map(float, p)), "adjusted": [float(a) for a in adj]})
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"scipy": scipy.__version__, "numpy": np.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases (scipy {scipy.__version__})")


if __name__ == "__main__":
    main()
