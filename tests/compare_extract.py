#!/usr/bin/env python3
"""Compare a `saex extract` output with a reference (tools/reference_extract.py).

usage: compare_extract.py OUTPUT EXPECTED [--precision f32|default] [--all-tokens]
                          [--exclude-bos] [--layer L] [--max-samples N]

Per sample of EXPECTED (located in OUTPUT by result_index / variation_index):
  - status "success", answer_start_position and total_tokens equal;
  - at last_token (and with --all-tokens at every token): the same top-k id
    set, k = the output's top_k_features, except where the reference's
    k-th / (k+1)-th activation margin is below MARGIN (then only the ids
    above the ambiguous band are compared);
  - activations of ids found in both: |d| <= REL * max(1, |a|) + ABS;
  - num_active_features: equal in f32 mode, within NACT_TOL in default mode;
    in default mode the id sets may also differ by up to NACT_TOL ids (a
    feature whose pre-activation sits at its JumpReLU threshold).

Tolerances
  f32      REL 1e-4, ABS 1e-5, MARGIN 1e-5, NACT_TOL 0
  default  REL 3e-2, ABS 1e-2, MARGIN 5e-2, NACT_TOL 3
  (default mode rounds matmul inputs to the bf16 weights' dtype, the
  reference runs in f32: differences of a few bf16 ulps are expected.)
Exit status 0 when everything matches, 1 otherwise (the first mismatches printed).
"""
import argparse
import json
import sys

TOL = {
    "f32": dict(rel=1e-4, abs=1e-5, margin=1e-5, nact=0),
    "default": dict(rel=3e-2, abs=1e-2, margin=5e-2, nact=3),
}


def load_output(path):
    """Returns {(r, v): variation} for the results / list / JSONL forms."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text)
        lines = None
    except json.JSONDecodeError:
        doc, lines = None, [json.loads(line) for line in text.splitlines() if line.strip()]
    out = {}
    if isinstance(doc, dict):
        for r, res in enumerate(doc["results"]):
            for v, var in enumerate(res["variations"]):
                out[(r, v)] = var
    else:
        items = doc if isinstance(doc, list) else lines
        for i, var in enumerate(items):
            out[(i, 0)] = var
    return out


def compare_row(tag, got, exp, k, tol, problems, stats):
    """got: {"top_k_features": [...], "num_active_features": n}; exp: {"features", "num_active"}."""
    gfeat = [(e["id"], e["activation"]) for e in got["top_k_features"]]
    efeat = [(i, a) for i, a in exp["features"]]
    if len(gfeat) > k:
        problems.append(f"{tag}: {len(gfeat)} features listed, top_k is {k}")
    evals = [a for _, a in efeat]
    want = efeat[:k]
    # The reference lists at most its own top_k; comparing a wider output is impossible.
    if k > len(efeat) and exp["num_active"] > len(efeat):
        problems.append(f"{tag}: output top_k {k} is wider than the reference's list ({len(efeat)})")
        return
    margin = None
    if exp["num_active"] >= k and len(evals) >= k:
        nxt = evals[k] if len(evals) > k else 0.0
        margin = evals[k - 1] - nxt
    gids = [i for i, _ in gfeat]
    if margin is not None and margin < tol["margin"]:
        stats["near_ties"] += 1
        band = evals[k - 1] + tol["margin"]
        sure = {i for i, a in want if a > band}
        missing = sure - set(gids)
        if missing and len(missing) <= tol["nact"]:
            stats["flips"] += 1
        elif missing:
            problems.append(f"{tag}: ids {sorted(missing)} (clearly in the top {k}) missing")
    else:
        diff = set(gids) ^ {i for i, _ in want}
        if diff and len(diff) <= tol["nact"]:
            stats["flips"] += 1  # a feature just at its JumpReLU threshold, on one side only
        elif diff:
            problems.append(f"{tag}: top-{k} ids differ: got {sorted(gids)}, expected {sorted(i for i, _ in want)}")
    ref = dict(efeat)
    for i, a in gfeat:
        if i not in ref:
            continue
        d = abs(a - ref[i])
        stats["max_abs"] = max(stats["max_abs"], d)
        stats["values"] += 1
        if d > tol["rel"] * max(1.0, abs(ref[i])) + tol["abs"]:
            problems.append(f"{tag}: feature {i}: activation {a!r}, expected {ref[i]!r} (|d| = {d:.3g})")
    dn = abs(got["num_active_features"] - exp["num_active"])
    stats["max_nact"] = max(stats["max_nact"], dn)
    if dn > tol["nact"]:
        problems.append(f"{tag}: num_active_features {got['num_active_features']}, expected {exp['num_active']}")
    # order: largest first, ties to the lower id
    for (i1, a1), (i2, a2) in zip(gfeat, gfeat[1:]):
        if a1 < a2 or (a1 == a2 and i1 > i2):
            problems.append(f"{tag}: features not sorted (largest first): {i1}:{a1} before {i2}:{a2}")
            break
    stats["rows"] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("output")
    ap.add_argument("expected")
    ap.add_argument("--precision", choices=sorted(TOL), default="f32")
    ap.add_argument("--all-tokens", action="store_true")
    ap.add_argument("--exclude-bos", action="store_true")
    ap.add_argument("--layer", type=int, default=None)
    ap.add_argument("--max-samples", type=int, default=None)
    a = ap.parse_args()
    with open(a.expected, encoding="utf-8") as f:
        exp = json.load(f)
    layer = a.layer if a.layer is not None else exp["layer"]
    key = f"layer_{layer}"
    tol = TOL[a.precision]
    got = load_output(a.output)
    k = read_k(a.output, layer)
    if k is None:
        print(f"compare_extract: {a.output}: no sae_extraction_metadata.{key}.top_k_features")
        return 1
    problems = []
    stats = dict(rows=0, values=0, near_ties=0, flips=0, max_abs=0.0, max_nact=0)
    samples = exp["samples"][: a.max_samples] if a.max_samples else exp["samples"]
    for s in samples:
        tag = f"r{s['result_index']} v{s['variation_index']}"
        var = got.get((s["result_index"], s["variation_index"]))
        if var is None:
            problems.append(f"{tag}: not in the output")
            continue
        la = var.get("sae_activations", {}).get(key)
        if la is None:
            problems.append(f"{tag}: no sae_activations.{key}")
            continue
        if la.get("status") != "success":
            problems.append(f"{tag}: status {la.get('status')!r}: {la.get('reason')}")
            continue
        for field in ("answer_start_position", "total_tokens"):
            if la.get(field) != s[field]:
                problems.append(f"{tag}: {field} {la.get(field)}, expected {s[field]}")
        acts = la["activations"]
        asp = s["answer_start_position"]
        if a.all_tokens:
            first = 1 if a.exclude_bos else 0
            want_keys = {f"token_{t}" for t in range(first, s["total_tokens"])}
            if set(acts) != want_keys:
                problems.append(f"{tag}: activation keys {sorted(acts)[:4]}..., expected token_{first}..")
                continue
            for t in range(first, s["total_tokens"]):
                compare_row(f"{tag} token_{t}", acts[f"token_{t}"], s["all_tokens"][t], k, tol, problems, stats)
        else:
            if set(acts) != {"last_token"}:
                problems.append(f"{tag}: activation keys {sorted(acts)}, expected last_token")
                continue
            compare_row(f"{tag} last_token", acts["last_token"], s["all_tokens"][asp - 1], k, tol, problems,
                        stats)
    print(f"compare_extract: {len(samples)} samples, {stats['rows']} rows, {stats['values']} values, "
          f"max |d| {stats['max_abs']:.3g}, max d(num_active) {stats['max_nact']}, "
          f"{stats['near_ties']} near-tie rows, {stats['flips']} rows with threshold flips ({a.precision} tolerances)")
    for p in problems[:20]:
        print("  mismatch: " + p)
    if len(problems) > 20:
        print(f"  ... {len(problems) - 20} more")
    return 1 if problems else 0


def read_k(output_path, layer):
    try:
        with open(output_path, encoding="utf-8") as f:
            doc = json.load(f)
        meta = doc.get("sae_extraction_metadata") if isinstance(doc, dict) else None
    except (json.JSONDecodeError, OSError):
        meta = None
    if meta is None:
        try:
            with open(output_path + ".meta.json", encoding="utf-8") as f:
                meta = json.load(f)["sae_extraction_metadata"]
        except (OSError, KeyError, json.JSONDecodeError):
            meta = None
    if meta and f"layer_{layer}" in meta:
        return meta[f"layer_{layer}"]["top_k_features"]
    return None


if __name__ == "__main__":
    sys.exit(main())
