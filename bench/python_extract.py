#!/usr/bin/env python3
"""bench/python_extract.py — the Python package against `saex extract` on the
same workload, in the same run: load + extract_batch + save_results_to_json
versus the CLI's whole run (each includes loading the model), best of
--repeat. Both run libsaex's pipeline; the ratio shows what the binding costs.

    .venv-test/bin/python bench/python_extract.py [--variations 4000] [--all-tokens] [--lazy] [--top-k 50]

Needs the saex package installed in that python (tests/e2e_python.sh makes
.venv-test) and build/saex. Uses the demo model in examples/."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import saex

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples"


def workload(n: int, path: Path) -> None:
    """n variations: the demo's, each prompt numbered so that none repeats."""
    sys.path.insert(0, str(ROOT / "bench"))
    from make_results_workload import workload as make
    path.write_text(json.dumps(make(n, response_filler=""), ensure_ascii=False))


def run_cli(inp: Path, out: Path, args: argparse.Namespace) -> float:
    cmd = [str(ROOT / "build" / "saex"), "extract", "--input", str(inp), "--output", str(out), "--model",
           str(EX / "model"), "--sae", str(EX / "sae"), "--target-layer", "2", "--top-k", str(args.top_k),
           "--device", "cpu", "--run-dir", str(out) + ".saex", "--fresh"]
    if args.all_tokens:
        cmd.append("--save-all-tokens")
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t


def run_python(inp: Path, out: Path, args: argparse.Namespace) -> float:
    t = time.perf_counter()
    config = saex.ExtractionConfig(model_name=str(EX / "model"), sae_path=str(EX / "sae"), target_layer=2,
                                   top_k_features=args.top_k, device="cpu")
    with saex.SAEActivationExtractor(config, progress=False) as ex:
        ex.load_model_and_sae()
        samples = saex.load_samples_from_json(inp)
        results = ex.extract_batch(samples, save_all_tokens=args.all_tokens, lazy=args.lazy)
        saex.save_results_to_json(inp, results, out, config)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variations", type=int, default=4000)
    ap.add_argument("--top-k", type=int, default=50)
    ap.add_argument("--all-tokens", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lazy", action="store_true", help="extract_batch(..., lazy=True)")
    args = ap.parse_args()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs ({cpu}); saex {saex.__version__}")
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        inp = d / "in.json"
        workload(args.variations, inp)
        cli = min(run_cli(inp, d / "cli.json", args) for _ in range(args.repeat))
        py = min(run_python(inp, d / "py.json", args) for _ in range(args.repeat))
        same = (d / "cli.json").read_bytes() == (d / "py.json").read_bytes()
    mode = ("every token" if args.all_tokens else "last token") + (", lazy=True" if args.lazy else "")
    print(f"{args.variations} variations, {mode}, top-k {args.top_k}, best of {args.repeat}:")
    print(f"  saex extract            {cli:7.3f} s")
    print(f"  Python extract_batch    {py:7.3f} s   (load + extract_batch + save_results_to_json)")
    print(f"  Python / CLI time       {py / cli:7.3f}   outputs identical: {same}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
