#!/usr/bin/env python3
"""saex_gpu.py — bench/gpu.sh's runs of the shipped `saex extract` on the GPU.

    saex_gpu.py check --saex BIN --model M --sae P.npz --precision f32|default --layers 1,3 --k 32 --out X.safetensors
    saex_gpu.py bench --saex BIN --model M --sae P.npz --tokens T.bin --layer 20 --k 50 --batch-tokens N
                      --topk-out F.bin --json J.json

Both feed token ids as `prompt_token_ids` (docs/cli.md), run saex extract
with every token saved, and read the results from its run store (columnar
safetensors, docs/run-store.md) rather than from the JSON:
- check: the sequences of gpu_check.driver_tokens; writes resid_{L} F32
  [T, d_model] per layer, topk_ids I32 [T, k] and n_active I32 [T] of the
  last layer, seq_start I32 [n+1], for gpu_check.py compare / sae;
- bench: the sequences of a gpu_check.py tokens file; writes the top-k ids
  of every token (int32 [T, k], token-file order, what gpu_check.py overlap
  reads) and {tokens, batches, seconds, tok_per_s, load_seconds, layer, k}
  from saex's own log."""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def read_st(path: str) -> dict:
    data = open(path, "rb").read()
    n = int.from_bytes(data[:8], "little")
    head = json.loads(data[8:8 + n])
    dtypes = {"F32": np.float32, "I32": np.int32, "I64": np.int64, "U8": np.uint8}
    out = {}
    for name, t in head.items():
        if name != "__metadata__":
            a, b = t["data_offsets"]
            out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype=dtypes[t["dtype"]]).reshape(t["shape"])
    return out


def write_st(tensors: dict, path: str) -> None:
    names = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}
    head, off = {}, 0
    for k, v in tensors.items():
        head[k] = {"dtype": names[v.dtype], "shape": list(v.shape), "data_offsets": [off, off + v.nbytes]}
        off += v.nbytes
    h = json.dumps(head).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h)
        for v in tensors.values():
            f.write(v.tobytes())


def run_saex(a, seqs, layers, extra, d):
    """saex extract over seqs (each a whole prompt, BOS first); returns (store rows, log)."""
    inp, out = os.path.join(d, "in.json"), os.path.join(d, "out.json")
    with open(inp, "w") as f:
        json.dump([{"prompt_token_ids": [int(t) for t in s], "response": ""} for s in seqs], f)
    cmd = [a.saex, "extract", "--input", inp, "--output", out, "--model", a.model, "--sae", a.sae,
           "--layers", ",".join(map(str, layers)), "--device", a.device, "--top-k", str(a.k),
           "--save-all-tokens", "--verbose", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"saex_gpu: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    chunks = sorted(glob.glob(os.path.join(out + ".saex", "chunks", "*.safetensors")))
    parts = [read_st(c) for c in chunks]
    return parts, r.stderr


def gather(parts, names):
    """Rows of every chunk in (sample, position) order: {name: array}."""
    key_s, key_p, cols = [], [], {n: [] for n in names}
    for c in parts:
        off = c["pos_off"]
        per_row_sample = np.repeat(c["sample"], np.diff(off))
        key_s.append(per_row_sample)
        key_p.append(c["position"])
        for n in names:
            cols[n].append(c[n])
    s, p = np.concatenate(key_s), np.concatenate(key_p)
    order = np.lexsort((p, s))
    return {n: np.concatenate(v)[order] for n, v in cols.items()}, s[order]


def check(a):
    sys.path.insert(0, HERE)
    import gpu_check

    cfg = json.load(open(os.path.join(a.model, "config.json")))
    seqs = gpu_check.driver_tokens(cfg["vocab_size"])
    layers = [int(x) for x in a.layers.split(",")]
    with tempfile.TemporaryDirectory() as d:
        parts, _ = run_saex(a, seqs, layers, ["--precision", a.precision, "--dump-residuals",
                                              os.path.join(d, "r.safetensors")], d)
        last = layers[-1]
        names = [f"layer_{l}.resid" for l in layers] + [f"layer_{last}.ids", f"layer_{last}.n_active"]
        cols, _ = gather(parts, names)
    out = {f"resid_{l}": np.ascontiguousarray(cols[f"layer_{l}.resid"], np.float32) for l in layers}
    out["topk_ids"] = np.ascontiguousarray(cols[f"layer_{last}.ids"], np.int32)
    out["n_active"] = np.ascontiguousarray(cols[f"layer_{last}.n_active"], np.int32)
    out["seq_start"] = np.concatenate([[0], np.cumsum([len(s) for s in seqs])]).astype(np.int32)
    write_st(out, a.out)
    print(f"saex_gpu: {a.out}: {len(out['topk_ids'])} positions, layers {layers}")


def bench(a):
    raw = np.fromfile(a.tokens, np.int32)
    n = int(raw[0])
    lens = raw[1:1 + n]
    seqs, o = [], 1 + n
    for ln in lens:
        seqs.append(raw[o:o + ln])
        o += ln
    with tempfile.TemporaryDirectory() as d:
        parts, log = run_saex(a, seqs, [a.layer], ["--batch-tokens", str(a.batch_tokens)], d)
        cols, _ = gather(parts, [f"layer_{a.layer}.ids"])
    np.ascontiguousarray(cols[f"layer_{a.layer}.ids"], np.int32).tofile(a.topk_out)
    m = re.search(r"extracted \d+ samples, (\d+) tokens in ([\d.]+) s \([\d.]+ samples/s, (\d+) tok/s\)", log)
    load = re.search(r"loaded model .* in ([\d.]+) s", log)
    if not m:
        sys.exit(f"saex_gpu: unexpected saex log:\n{log[-2000:]}")
    res = {"tokens": int(m.group(1)), "batches": len(parts), "seconds": float(m.group(2)),
           "tok_per_s": float(m.group(3)), "load_seconds": float(load.group(1)) if load else None,
           "layer": a.layer, "k": a.k}
    json.dump(res, open(a.json, "w"))
    print(f"saex (saex extract, CUDA): {res['tokens']} tokens in {res['seconds']:.2f} s = {res['tok_per_s']:.0f} tok/s, "
          f"{res['batches']} batches; model load {res['load_seconds']} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["check", "bench"])
    ap.add_argument("--saex", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--sae", required=True)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--precision", default="default")
    ap.add_argument("--layers", default="1,3")
    ap.add_argument("--out")
    ap.add_argument("--tokens")
    ap.add_argument("--layer", type=int, default=20)
    ap.add_argument("--batch-tokens", type=int, default=32768)
    ap.add_argument("--topk-out")
    ap.add_argument("--json")
    a = ap.parse_args()
    check(a) if a.what == "check" else bench(a)


if __name__ == "__main__":
    main()
