#!/usr/bin/env python3
"""Workloads and random SAEs for the CPU benchmark (bench/cpu.sh).

    make_workload.py workload --n 16 --seed 0 --vocab 256000 --out W.bin
    make_workload.py sae --d-in 3584 --width 16384 --calib RESID.f32 --out DIR/params.npz

workload: N samples; each is a prompt + response of total length uniform in
[--min-len, --max-len] (128..768), the prompt a uniform 25..75 % of it;
token ids uniform in [3, vocab) after a leading BOS (id 2). Fixed seed.

File format (little-endian), read by bench/saex_run.py and
bench/hf_cpu_baseline.py:
    char magic[4] = "SXWL"; uint32 version = 1; uint32 n_samples;
    then per sample: uint32 prompt_len, uint32 total_len, int32 ids[total_len]

sae: a Gemma Scope style params.npz (float32; W_enc [d_in, width], b_enc,
threshold, W_dec, b_dec) with random unit-norm encoder columns and b_enc = 0,
so a feature's pre-activation is about N(0, rms(x)^2) for any residual x.
The threshold (one value for all features) is calibrated on real residuals
of the benchmark model (RESID.f32: raw float32 rows of d_in, as written by
saex_run.py dump) so that on average --target features (default 75)
fire per token; BOS rows (much larger norm) are left out of the calibration.
"""
import argparse
import os
import struct
import sys

import numpy as np


def write_workload(a):
    rng = np.random.default_rng(a.seed)
    with open(a.out + ".tmp", "wb") as f:
        f.write(b"SXWL" + struct.pack("<II", 1, a.n))
        total = 0
        for _ in range(a.n):
            n = int(rng.integers(a.min_len, a.max_len + 1))
            p = int(round(n * rng.uniform(0.25, 0.75)))
            p = min(max(p, 1), n - 1)
            ids = rng.integers(3, a.vocab, size=n, dtype=np.int64).astype("<i4")
            ids[0] = 2  # BOS
            f.write(struct.pack("<II", p, n))
            f.write(ids.tobytes())
            total += n
    os.replace(a.out + ".tmp", a.out)
    print(f"make_workload: {a.out}: {a.n} samples, {total} tokens (seed {a.seed})")


def write_sae(a):
    if a.calib is None:  # a first, uncalibrated SAE: only for `saex_run.py dump`, which needs one to run
        rng = np.random.default_rng(a.seed)
        w = rng.standard_normal((a.d_in, a.width), dtype=np.float32)
        w /= np.linalg.norm(w, axis=0, keepdims=True)
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        np.savez(a.out, W_enc=w, b_enc=np.zeros(a.width, np.float32), threshold=np.zeros(a.width, np.float32),
                 W_dec=np.ascontiguousarray(w.T), b_dec=np.zeros(a.d_in, np.float32))
        return
    resid = np.fromfile(a.calib, dtype="<f4")
    if resid.size == 0 or resid.size % a.d_in:
        sys.exit(f"make_workload: {a.calib}: {resid.size} floats is not a whole number of rows of {a.d_in}")
    x = resid.reshape(-1, a.d_in)
    rms = np.sqrt((x.astype(np.float64) ** 2).mean(axis=1))
    keep = rms < 4 * np.median(rms)  # drops BOS-like outlier rows
    x = x[keep]
    rng = np.random.default_rng(a.seed)
    w = rng.standard_normal((a.d_in, a.width), dtype=np.float32)
    w /= np.linalg.norm(w, axis=0, keepdims=True)
    pre = x @ w  # [rows, width]
    # JumpReLU fires where pre > thr (thr > 0): the global threshold is the
    # (1 - target/width) quantile of all calibration pre-activations.
    thr = float(np.quantile(pre, 1.0 - a.target / a.width))
    firing = (pre > thr).sum(axis=1)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp.npz"
    np.savez(tmp, W_enc=w, b_enc=np.zeros(a.width, np.float32), threshold=np.full(a.width, thr, np.float32),
             W_dec=np.ascontiguousarray(w.T), b_dec=np.zeros(a.d_in, np.float32))
    os.replace(tmp, a.out)
    print(f"make_workload: {a.out}: SAE {a.d_in} x {a.width}, threshold {thr:.4g} "
          f"(median rms {np.median(rms):.4g}; {len(x)} calibration rows, features firing "
          f"mean {firing.mean():.1f}, min {firing.min()}, max {firing.max()})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("workload")
    w.add_argument("--n", type=int, default=16)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--vocab", type=int, default=256000)
    w.add_argument("--min-len", type=int, default=128)
    w.add_argument("--max-len", type=int, default=768)
    w.add_argument("--out", required=True)
    s = sub.add_parser("sae")
    s.add_argument("--d-in", type=int, required=True)
    s.add_argument("--width", type=int, default=16384)
    s.add_argument("--calib", help="residual rows (raw float32); without: an uncalibrated SAE")
    s.add_argument("--target", type=float, default=75.0)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "workload":
        if a.n < 1 or not 2 <= a.min_len <= a.max_len:
            sys.exit("make_workload: need --n >= 1 and 2 <= --min-len <= --max-len")
        write_workload(a)
    else:
        write_sae(a)


if __name__ == "__main__":
    main()
