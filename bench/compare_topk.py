#!/usr/bin/env python3
"""Agreement of two top-k files (bench/saex_run.py / hf_cpu_baseline.py format).

    compare_topk.py A.txt B.txt --workload W.bin

Lines: "sample pos n_active id:activation ...". For every (sample, pos) in
both files, overlap = |ids(A) & ids(B)| / max(|ids(A)|, |ids(B)|) (1 when
both are empty). Reports the mean overlap at the last prompt token of each
sample (the number the benchmark gates on, >= 0.9) and over all shared
positions, plus the mean relative activation difference of shared ids.
Prints one "AGREE {json}" line. Plain python3, no numpy.
"""
import argparse
import json
import struct
import sys


def read_topk(path):
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            parts = line.split()
            key = (int(parts[0]), int(parts[1]))
            out[key] = {int(i): float(v) for i, v in (p.split(":") for p in parts[3:])}
    return out


def prompt_lens(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack_from("<I", data, 8)[0]
    off, lens = 12, {}
    for i in range(n):
        p, ln = struct.unpack_from("<II", data, off)
        lens[i] = p
        off += 8 + 4 * ln
    return lens


def overlap(a, b):
    if not a and not b:
        return 1.0
    return len(a.keys() & b.keys()) / max(len(a), len(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--workload", required=True)
    a = ap.parse_args()
    A, B = read_topk(a.a), read_topk(a.b)
    shared = sorted(A.keys() & B.keys())
    if not shared:
        sys.exit(f"compare_topk: {a.a} and {a.b} share no (sample, pos)")
    last = [k for k in shared if k[1] == prompt_lens(a.workload).get(k[0], -1) - 1]
    rel = []
    for k in shared:
        for i in A[k].keys() & B[k].keys():
            rel.append(abs(A[k][i] - B[k][i]) / max(abs(B[k][i]), 1e-6))
    res = {
        "shared_positions": len(shared),
        "last_positions": len(last),
        "overlap_last_mean": sum(overlap(A[k], B[k]) for k in last) / len(last) if last else None,
        "overlap_last_min": min(overlap(A[k], B[k]) for k in last) if last else None,
        "overlap_all_mean": sum(overlap(A[k], B[k]) for k in shared) / len(shared),
        "act_rel_diff_mean": sum(rel) / len(rel) if rel else None,
    }
    print("AGREE " + json.dumps(res))


if __name__ == "__main__":
    main()
