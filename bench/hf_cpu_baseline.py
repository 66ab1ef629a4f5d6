#!/usr/bin/env python3
"""The best HF transformers CPU pipeline for the saex benchmark (bench/cpu.sh).

    hf_cpu_baseline.py --model DIR --layer L --workload W.bin --sae params.npz
                       [--mode last|all] [--k 32] [--batch-tokens 4096] [--threads N] [--out TOPK.txt]

Run with .venv-ref/bin/python (scripts/setup.sh --ref). What makes it the best HF can do here:
  - bf16 weights and activations (the checkpoint dtype), torch.inference_mode;
  - only blocks 0..L exist (config num_hidden_layers = L + 1), and a forward
    hook on block L captures resid_post and raises, so the final norm (and
    the lm_head: we call the base model) never run;
  - samples sorted by length and packed into right-padded batches (attention
    mask) whose padded size stays under --batch-tokens;
  - attention "eager": Gemma2 declares sdpa unsupported (no logit softcapping
    in SDPA, and transformers refuses it), so eager is the fastest correct
    choice; it honours sliding_window through the sliding-window causal mask;
  - torch.set_num_threads(cores).
JumpReLU top-k in torch, f32: pre = x W_enc + b_enc; f = (pre > thr) * relu(pre); topk.
Prints a "RESULT {json}" line and writes the same top-k text format as bench/saex_run.py.
"""
import argparse
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch


class Stop(Exception):
    """Raised by the hook at block L: nothing after it needs to run."""


def load_workload(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"SXWL" or struct.unpack_from("<I", data, 4)[0] != 1:
        sys.exit(f"hf_cpu_baseline: {path}: not a version-1 SXWL workload")
    n = struct.unpack_from("<I", data, 8)[0]
    off, out = 12, []
    for i in range(n):
        p, ln = struct.unpack_from("<II", data, off)
        ids = np.frombuffer(data, dtype="<i4", count=ln, offset=off + 8)
        out.append((i, p, ids))
        off += 8 + 4 * ln
    return out


def vm_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def batches(samples, budget):
    """Length-sorted samples packed so that rows * longest <= budget (padded tokens)."""
    cur = []
    for s in sorted(samples, key=lambda s: (len(s[2]), s[0])):
        if cur and (len(cur) + 1) * len(s[2]) > budget:
            yield cur
            cur = []
        cur.append(s)
    if cur:
        yield cur


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--layer", type=int, required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--sae", required=True)
    ap.add_argument("--mode", choices=["last", "all"], default="last")
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--batch-tokens", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--attn", default="eager", help="attn_implementation (Gemma2 supports eager; sdpa is refused)")
    ap.add_argument("--out")
    a = ap.parse_args()

    from transformers import AutoConfig, AutoModelForCausalLM

    torch.set_num_threads(a.threads)
    samples = load_workload(a.workload)
    t0 = time.time()
    cfg = AutoConfig.from_pretrained(a.model)
    if a.layer >= cfg.num_hidden_layers:
        sys.exit(f"hf_cpu_baseline: layer {a.layer} but the checkpoint has {cfg.num_hidden_layers} blocks")
    cfg.num_hidden_layers = a.layer + 1
    if getattr(cfg, "layer_types", None):
        cfg.layer_types = cfg.layer_types[: a.layer + 1]
    model = AutoModelForCausalLM.from_pretrained(a.model, config=cfg, dtype=torch.bfloat16, attn_implementation=a.attn)
    model.eval()
    base = model.model
    weight_bytes = sum(p.numel() * p.element_size() for p in base.parameters())
    sae = np.load(a.sae)
    W = torch.from_numpy(np.ascontiguousarray(sae["W_enc"], dtype=np.float32))
    b = torch.from_numpy(np.ascontiguousarray(sae["b_enc"], dtype=np.float32))
    thr = torch.from_numpy(np.ascontiguousarray(sae["threshold"], dtype=np.float32))
    load_s = time.time() - t0
    rss_loaded = vm_kb("VmRSS")

    captured = {}

    def hook(_mod, _inp, out):
        captured["x"] = out[0] if isinstance(out, tuple) else out
        raise Stop()

    base.layers[a.layer].register_forward_hook(hook)
    out = open(a.out, "w") if a.out else None
    if out:
        out.write("# hf top-k: sample pos n_active id:activation...\n")
    tokens = padded = positions = n_batches = 0
    active_sum = 0
    run_s = fwd_s = 0.0
    with torch.inference_mode():
        for batch in batches(samples, a.batch_tokens):
            longest = max(len(s[2]) for s in batch)
            ids = torch.zeros((len(batch), longest), dtype=torch.long)
            mask = torch.zeros((len(batch), longest), dtype=torch.long)
            for r, (_, _, t) in enumerate(batch):
                ids[r, : len(t)] = torch.from_numpy(t.astype(np.int64))
                mask[r, : len(t)] = 1
            t1 = time.time()
            try:
                base(input_ids=ids, attention_mask=mask, use_cache=False)
                sys.exit("hf_cpu_baseline: the hook at block L did not fire")
            except Stop:
                pass
            t2 = time.time()
            x = captured.pop("x")  # [rows, longest, D] bf16
            rows, cols = [], []
            for r, (_, p, t) in enumerate(batch):
                if a.mode == "all":
                    rows += [r] * len(t)
                    cols += list(range(len(t)))
                else:
                    rows.append(r)
                    cols.append(p - 1)
            sel = x[torch.tensor(rows), torch.tensor(cols)].float()  # [n, D]
            vals_all, ids_all, nact_all = [], [], []
            for c0 in range(0, sel.shape[0], 256):  # bounds the [rows, d_sae] pre-activations
                pre = sel[c0 : c0 + 256] @ W + b
                f = torch.where(pre > thr, torch.relu(pre), torch.zeros_like(pre))
                v, i = torch.topk(f, a.k, dim=1)
                vals_all.append(v)
                ids_all.append(i)
                nact_all.append((f > 0).sum(dim=1))
            vals, fids, nact = torch.cat(vals_all), torch.cat(ids_all), torch.cat(nact_all)
            t3 = time.time()
            fwd_s += t2 - t1
            run_s += t3 - t1
            bt = sum(len(s[2]) for s in batch)
            tokens += bt
            padded += len(batch) * longest
            positions += len(rows)
            n_batches += 1
            active_sum += int(nact.sum())
            if out:
                for j, (r, c) in enumerate(zip(rows, cols)):
                    parts = [f"{batch[r][0]} {c} {int(nact[j])}"]
                    parts += [f"{int(fi)}:{float(v):.6g}" for fi, v in zip(fids[j], vals[j]) if v > 0]
                    out.write(" ".join(parts) + "\n")
            print(f"hf: batch {n_batches}: {len(batch)} seqs, {bt} tokens ({len(batch) * longest} padded), "
                  f"{t3 - t1:.2f} s ({bt / (t3 - t1):.1f} tok/s)", file=sys.stderr, flush=True)
    if out:
        out.close()
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"hf: {tokens} tokens ({padded} padded) in {n_batches} batches, {run_s:.2f} s (forward {fwd_s:.2f} s): "
          f"{tokens / run_s:.2f} tok/s; load {load_s:.2f} s; peak RSS {maxrss // 1024} MiB; "
          f"weights {weight_bytes / 2**20:.0f} MiB; attn {a.attn}; threads {a.threads}")
    res = dict(side="hf", mode=a.mode, tokens=tokens, padded_tokens=padded, positions=positions, batches=n_batches,
               load_s=load_s, run_s=run_s, forward_s=fwd_s, tok_s=tokens / run_s, maxrss_kb=maxrss,
               vmhwm_kb=vm_kb("VmHWM"), rss_after_load_kb=rss_loaded, weight_bytes=weight_bytes, threads=a.threads,
               attn=a.attn, mean_active=active_sum / positions)
    print("RESULT " + json.dumps(res))


if __name__ == "__main__":
    main()
