"""Recomputes a `saex compare` CSV from the saex output with SciPy, to check
the whole path (reading, positions, pairing, tests, BH) on real outputs.
Not needed by the tests (tests/test_stats.c checks the statistics against a
committed SciPy reference); run by hand with a venv that has scipy:

    .venv-ref/bin/python tools/check_compare_scipy.py OUTPUT.json CSV [--by F] [--pair-by F]
        [--positions last|prompt-mean|prompt-max|response-mean|response-max]

Prints the largest relative differences and exits 1 when one exceeds 1e-6.
"""
import argparse
import csv
import json
import math
import sys

import numpy as np
from scipy import stats


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
        rows[p] = {f["id"]: f["activation"] for f in pos["top_k_features"]}
    if mode == "last":
        sel = [a - 1]
    elif mode.startswith("prompt"):
        sel = [p for p in rows if p < a]
    else:
        sel = [p for p in rows if p >= a]
    out = {}
    for p in sel:
        for f, v in rows.get(p, {}).items():
            out[f] = out.get(f, 0.0) + v if mode.endswith("mean") else max(out.get(f, 0.0), v)
    if mode.endswith("mean"):
        out = {f: v / len(sel) for f, v in out.items()}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("csv")
    ap.add_argument("--by", default="template_type")
    ap.add_argument("--pair-by")
    ap.add_argument("--positions", default="last")
    a = ap.parse_args()
    samples = []  # (cond, pair, {layer: vec})
    for v, r in variations(a.output):
        cond = v.get(a.by, r.get(a.by))
        pair = v.get(a.pair_by, r.get(a.pair_by)) if a.pair_by else None
        vecs = {}
        for key, layer in v.get("sae_activations", {}).items():
            if layer.get("status") in ("ok", "success"):
                vecs[int(key[len("layer_"):])] = vector(layer, a.positions)
        samples.append((cond, pair, vecs))
    rows = list(csv.DictReader(open(a.csv)))
    tests = {}
    for row in rows:
        tests.setdefault((int(row["layer"]), row["condition_a"], row["condition_b"]), []).append(row)
    worst = 0.0
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
            xa = np.array([s[2][layer].get(f, 0.0) for s in A], dtype=np.float32).astype(float)
            xb = np.array([s[2][layer].get(f, 0.0) for s in B], dtype=np.float32).astype(float)
            if a.pair_by:
                try:
                    t = stats.wilcoxon(xb, xa)
                    p, stat = float(t.pvalue), float(t.statistic)
                except ValueError:
                    p, stat = float("nan"), float("nan")
            else:
                t = stats.mannwhitneyu(xb, xa)
                p, stat = float(t.pvalue), float(t.statistic)
            res[f] = (xa.mean(), xb.mean(), p, stat)
            ps.append(p)
        finite = [p for p in ps if not math.isnan(p)]
        adj = dict(zip([f for f, p in zip(feats, ps) if not math.isnan(p)],
                       stats.false_discovery_control(finite) if finite else []))
        if len(trows) != len(feats):
            print(f"layer {layer} {ca}->{cb}: {len(trows)} rows, SciPy side has {len(feats)} features")
            worst = max(worst, 1.0)
        for row in trows:
            f = int(row["feature"])
            ma, mb, p, stat = res[f]
            for name, want in (("mean_a", ma), ("mean_b", mb), ("p_value", p), ("statistic", stat),
                               ("p_adjusted", adj.get(f, float("nan")))):
                got = float(row[name]) if row[name] != "" else float("nan")
                if math.isnan(want) and math.isnan(got):
                    continue
                d = abs(got - want) / max(abs(want), 1e-12)
                if d > worst:
                    worst = d
                    print(f"layer {layer} {ca}->{cb} feature {f} {name}: saex {got!r} SciPy {want!r}")
    print(f"{len(rows)} rows, largest relative difference {worst:.3g}")
    sys.exit(1 if worst > 1e-6 else 0)


if __name__ == "__main__":
    main()
