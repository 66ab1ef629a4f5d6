#!/usr/bin/env python3
"""saex_run.py — runs the shipped `saex extract` on a benchmark workload and
reports it the way the bench scripts read it.

    saex_run.py run  --saex BIN --model DIR --layer L --workload W.bin --sae P.npz --mode last|all
                     --k K --batch-tokens N --threads T [--device cpu|cuda] --out TOPK.txt
    saex_run.py dump --saex BIN --model DIR --layer L --workload W.bin --sae P.npz --seqs 2 --out RESID.f32

The workload's token ids go in as `prompt_token_ids` / `response_token_ids`
(docs/cli.md), so saex packs and runs exactly what a user's run would. `run`
writes the top-k of every saved position (`sample pos n_active id:act ...`,
what compare_topk.py reads) and prints one `RESULT {json}` line from saex's
own log: tokens/s of the run, load and forward times, batches, peak RSS, the
weight bytes it loaded. `dump` writes the residual rows of the first SEQS
samples (every position) as raw float32, for calibrating the benchmark SAE."""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time


def read_workload(path: str) -> list:
    data = open(path, "rb").read()
    if data[:4] != b"SXWL":
        sys.exit(f"saex_run: {path}: not a workload file")
    n = struct.unpack_from("<I", data, 8)[0]
    off, out = 12, []
    for _ in range(n):
        p, ln = struct.unpack_from("<II", data, off)
        ids = list(struct.unpack_from(f"<{ln}i", data, off + 8))
        out.append((ids[:p], ids[p:]))
        off += 8 + 4 * ln
    return out


def write_input(samples: list, path: str) -> None:
    """Given ids; BOS is the workload's first id, so no second BOS is added."""
    with open(path, "w") as f:
        json.dump([{"prompt_token_ids": p, "response_token_ids": r} for p, r in samples], f)


def extract(a, inp: str, out: str, extra: list) -> tuple:
    cmd = [a.saex, "extract", "--input", inp, "--output", out, "--model", a.model, "--sae", a.sae,
           "--target-layer", str(a.layer), "--device", a.device, "--threads", str(a.threads),
           "--batch-tokens", str(a.batch_tokens), "--verbose", *extra]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"saex_run: {' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return r.stderr, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def read_safetensors(path: str) -> dict:
    import numpy as np
    data = open(path, "rb").read()
    n = struct.unpack_from("<Q", data, 0)[0]
    head = json.loads(data[8:8 + n])
    out = {}
    for name, t in head.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dt = {"F32": np.float32, "I32": np.int32}[t["dtype"]]
        out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype=dt).reshape(t["shape"])
    return out


def cmd_run(a) -> None:
    samples = read_workload(a.workload)
    with tempfile.TemporaryDirectory() as d:
        inp, out = os.path.join(d, "in.json"), os.path.join(d, "out.json")
        write_input(samples, inp)
        log, wall, maxrss = extract(a, inp, out, ["--top-k", str(a.k)] + (["--save-all-tokens"] if a.mode == "all" else []))
        batches = len(os.listdir(os.path.join(out + ".saex", "chunks")))
        doc = json.load(open(out))
    m = re.search(r"extracted (\d+) samples, (\d+) tokens in ([\d.]+) s \(([\d.]+) samples/s, (\d+) tok/s\)", log)
    load = re.search(r"loaded model .* in ([\d.]+) s \(blocks .*, (\d+) threads, ([\d.]+) GiB\)", log)
    fwd = re.search(r"timing: model \+ SAE ([\d.]+) s", log)
    if not (m and load and fwd):
        sys.exit(f"saex_run: unexpected saex log:\n{log[-2000:]}")
    tokens, run_s = int(m.group(2)), float(m.group(3))
    positions, active = 0, 0
    with open(a.out, "w") as f:
        for i, v in enumerate(doc):
            layer = v["sae_activations"][f"layer_{a.layer}"]
            if layer["status"] != "success":
                sys.exit(f"saex_run: sample {i} failed: {layer.get('reason')}")
            for key, pos in layer["activations"].items():
                p = layer["answer_start_position"] - 1 if key == "last_token" else int(key[6:])
                feats = " ".join(f"{x['id']}:{x['activation']}" for x in pos["top_k_features"])
                f.write(f"{i} {p} {pos['num_active_features']} {feats}\n")
                positions += 1
                active += pos["num_active_features"]
    result = {"side": "saex", "mode": a.mode, "tokens": tokens, "positions": positions, "batches": batches,
              "mean_batch_tokens": tokens / max(batches, 1), "load_s": float(load.group(1)), "run_s": run_s,
              "forward_s": float(fwd.group(1)), "wall_s": wall, "tok_s": tokens / run_s, "maxrss_kb": maxrss,
              "weight_bytes": int(float(load.group(3)) * 2**30), "threads": int(load.group(2)),
              "mean_active": active / max(positions, 1)}
    print("RESULT " + json.dumps(result))


def cmd_dump(a) -> None:
    import numpy as np
    samples = read_workload(a.workload)[:a.seqs]
    with tempfile.TemporaryDirectory() as d:
        inp, out, st = (os.path.join(d, n) for n in ("in.json", "out.json", "r.safetensors"))
        write_input(samples, inp)
        extract(a, inp, out, ["--top-k", "1", "--save-all-tokens", "--dump-residuals", st])
        rows = read_safetensors(st)[f"blocks.{a.layer}.hook_resid_post"]
        np.ascontiguousarray(rows, dtype="<f4").tofile(a.out)
    print(f"saex_run: {a.out}: {rows.shape[0]} residual rows of {rows.shape[1]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["run", "dump"])
    ap.add_argument("--saex", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--layer", type=int, required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--sae", required=True)
    ap.add_argument("--mode", choices=["last", "all"], default="last")
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--batch-tokens", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seqs", type=int, default=2)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cmd_run(a) if a.what == "run" else cmd_dump(a)


if __name__ == "__main__":
    main()
