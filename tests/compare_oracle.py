"""The oracle of tests/e2e_compare.sh: recomputes a `saex compare` CSV from
the saex output it was made from, independently of saex's C code (json
module reading, its own aggregation over positions, pairing, ranks).

With the standard library alone (CI) it checks, per test: the set of
features, n_a / n_b, the active fractions, the means, the difference, the
test statistic (Wilcoxon min(R+, R-) / Mann-Whitney U of b) and the
rank-biserial correlation. With --scipy (the reference venv:
`.venv-ref/bin/python tests/compare_oracle.py --scipy ...`) it also checks
the p-values and BH-adjusted p-values against scipy.stats.wilcoxon /
mannwhitneyu / false_discovery_control (slow: SciPy's permutation test).

    python3 tests/compare_oracle.py OUTPUT CSV [--by F] [--pair-by F] [--positions P] [--scipy]

Exits 1 when a value differs by more than 1e-6 (relative) or a row is missing.
"""
import argparse
import csv
import json
import math
import struct
import sys

stats = None  # scipy.stats with --scipy


def variations(path):
    text = open(path, encoding="utf-8").read()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        doc = [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(doc, dict):
        for r in doc["results"]:
            for v in r["variations"]:
                yield v, r
    else:
        for v in doc:
            yield v, {}


def vector(layer, mode):
    acts = layer["activations"]
    a = layer["answer_start_position"]
    rows = {}
    for key, pos in acts.items():
        p = a - 1 if key == "last_token" else int(key[len("token_"):])
        rows[p] = {f["id"]: f32(f["activation"]) for f in pos["top_k_features"]}
    if mode == "last":
        sel = [a - 1]
    elif mode.startswith("prompt"):
        sel = [p for p in rows if p < a]
    else:
        sel = [p for p in rows if p >= a]
    sel = [p for p in sel if p in rows]
    if not sel:  # e.g. an empty response: no response positions, the sample is left out
        return None
    out = {}
    for p in sel:
        for f, v in rows.get(p, {}).items():
            out[f] = out.get(f, 0.0) + v if mode.endswith("mean") else max(out.get(f, 0.0), v)
    if mode.endswith("mean"):
        out = {f: v / len(sel) for f, v in out.items()}
    return out


def f32(v):
    """v rounded to float32, as saex holds activations (means included)."""
    return struct.unpack("f", struct.pack("f", v))[0]


def average_ranks(values):
    """1-based average ranks (ties share the mean of their positions)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def signed_rank_sums(d):
    """R+ and R- over the non-zero differences (zero_method 'wilcox')."""
    nz = [x for x in d if x != 0]
    r = average_ranks([abs(x) for x in nz])
    return sum(q for q, x in zip(r, nz) if x > 0), sum(q for q, x in zip(r, nz) if x < 0)


def mann_whitney_u(x, y):
    """U of x: rank sum of x among x + y minus its minimum."""
    r = average_ranks(list(x) + list(y))
    return sum(r[:len(x)]) - len(x) * (len(x) + 1) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("csv")
    ap.add_argument("--by", default="template_type")
    ap.add_argument("--pair-by")
    ap.add_argument("--positions", default="last")
    ap.add_argument("--scipy", action="store_true")
    a = ap.parse_args()
    global stats
    if a.scipy:
        from scipy import stats
    samples = []  # (cond, pair, {layer: vec})
    for v, r in variations(a.output):
        cond = v.get(a.by, r.get(a.by))
        pair = v.get(a.pair_by, r.get(a.pair_by)) if a.pair_by else None
        vecs = {}
        for key, layer in v.get("sae_activations", {}).items():
            if layer.get("status") in ("ok", "success"):
                vec = vector(layer, a.positions)
                if vec is not None:
                    vecs[int(key[len("layer_"):])] = vec
        samples.append((cond, pair, vecs))
    rows = list(csv.DictReader(open(a.csv)))
    tests = {}
    for row in rows:
        tests.setdefault((int(row["layer"]), row["condition_a"], row["condition_b"]), []).append(row)
    worst, checked = 0.0, 0
    for (layer, ca, cb), trows in tests.items():
        A = [s for s in samples if s[0] == ca and layer in s[2]]
        B = [s for s in samples if s[0] == cb and layer in s[2]]
        if a.pair_by:
            pa = {s[1]: s for s in A if s[1] is not None}
            pb = {s[1]: s for s in B if s[1] is not None}
            keys = [k for k in pa if k in pb]
            A, B = [pa[k] for k in keys], [pb[k] for k in keys]
        feats = sorted({f for s in A + B for f in s[2][layer]})
        ps, res = [], {}
        for f in feats:
            xa = [f32(s[2][layer].get(f, 0.0)) for s in A]
            xb = [f32(s[2][layer].get(f, 0.0)) for s in B]
            r = {"n_a": len(xa), "n_b": len(xb),
                 "frac_active_a": sum(v != 0 for v in xa) / len(xa), "frac_active_b": sum(v != 0 for v in xb) / len(xb),
                 "mean_a": sum(xa) / len(xa), "mean_b": sum(xb) / len(xb)}
            r["mean_diff"] = r["mean_b"] - r["mean_a"]
            if a.pair_by:
                rp, rm = signed_rank_sums([vb - va for va, vb in zip(xa, xb)])
                r["statistic"] = min(rp, rm)
                r["rank_biserial"] = (rp - rm) / (rp + rm) if rp + rm else 0.0
            else:
                u = mann_whitney_u(xb, xa)
                r["statistic"] = u
                r["rank_biserial"] = 2 * u / (len(xa) * len(xb)) - 1
            p = float("nan")
            if stats:
                try:
                    p = float((stats.wilcoxon(xb, xa) if a.pair_by else stats.mannwhitneyu(xb, xa)).pvalue)
                except ValueError:  # one pair with a zero difference: SciPy refuses, saex gives NaN
                    pass
                r["p_value"] = p
            res[f] = r
            ps.append(p)
        if stats:
            finite = [(f, p) for f, p in zip(feats, ps) if not math.isnan(p)]
            adj = stats.false_discovery_control([p for _, p in finite]) if finite else []
            for (f, _), q in zip(finite, adj):
                res[f]["p_adjusted"] = float(q)
        if len(trows) != len(feats):
            print(f"layer {layer} {ca}->{cb}: {len(trows)} rows, SciPy side has {len(feats)} features")
            worst = max(worst, 1.0)
        for row in trows:
            f = int(row["feature"])
            if f not in res:
                print(f"layer {layer} {ca}->{cb}: feature {f} should have no row")
                worst = max(worst, 1.0)
                continue
            for name, want in res[f].items():
                got = float(row[name]) if row[name] != "" else float("nan")
                if math.isnan(want) and math.isnan(got):
                    continue
                d = abs(got - want) / max(abs(want), 1e-9)
                if not d <= 1e-6:
                    print(f"layer {layer} {ca}->{cb} feature {f} {name}: saex {got!r}, oracle {want!r}")
                    worst = max(worst, d if d == d else 1.0)
        checked += len(trows)
    what = "with SciPy p-values" if stats else "without SciPy: p-values not checked"
    print(f"{checked} of {len(rows)} rows checked ({what}), largest relative difference {worst:.3g}")
    sys.exit(1 if worst > 1e-6 or checked != len(rows) or not rows else 0)


if __name__ == "__main__":
    main()
