#!/usr/bin/env python3
"""HF transformers baseline of the saex GPU benchmark (bench/gpu.sh).

    hf_gpu_baseline.py --model DIR --work W --tokens FILE --sae NPZ [--layer 20] [--k 50]
                       [--batch-tokens 32768] [--device cuda] --json OUT.json [--roofline R.json]

The tokens and the SAE are the ones saex ran on (gpu_check.py tokens / sae,
made before either side runs, so that saex's figure does not depend on this
script).
1. with --roofline: times one 16384 x 3584 x 14336 bf16 GEMM and writes the
   tokens/s bound at 8.32 GFLOP per token (gemma-2-9b, 21 blocks);
2. loads DIR (the first blocks of a Gemma-2, e.g. 21 random 9b blocks) as a
   bf16 Gemma2Model with eager attention (the one that applies softcap);
3. times length-sorted, right-padded batches of at most --batch-tokens
   (padded) tokens, after a warm-up batch: forward with a hook after
   --layer, JumpReLU + top-k in torch (f32) at every real position; writes
   W/hf_topk.bin (int32 [T, k], in token-file order) and the tokens/s to --json.
"""
import argparse
import json
import os
import time

import numpy as np
import torch


def read_tokens(path):
    """gpu_check.py tokens' file: int32 n, lens[n], then the tokens."""
    raw = np.fromfile(path, np.int32)
    n = int(raw[0])
    lens = raw[1:1 + n].copy()
    offs = np.concatenate([[1 + n], 1 + n + np.cumsum(lens)])
    return lens, [raw[offs[i]:offs[i + 1]] for i in range(n)]


def batches_of(lens, budget):
    """Length-sorted batches whose padded size (n * longest) fits the budget."""
    order = sorted(range(len(lens)), key=lambda i: -int(lens[i]))
    out, cur = [], []
    for i in order:
        if cur and (len(cur) + 1) * int(lens[cur[0]]) > budget:
            out.append(cur)
            cur = []
        cur.append(i)
    if cur:
        out.append(cur)
    return out


def roofline(device):
    m, k, n = 16384, 3584, 14336
    a = torch.randn(m, k, device=device, dtype=torch.bfloat16)
    b = torch.randn(k, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    reps = 20
    t0 = time.time()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    dt = (time.time() - t0) / reps
    tflops = 2 * m * k * n / dt / 1e12
    gflop_tok = 8.32
    return {"gemm": [m, k, n], "seconds": dt, "tflops": tflops, "gflop_per_token": gflop_tok,
            "tok_per_s_bound": tflops * 1e12 / (gflop_tok * 1e9)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--sae", required=True)
    ap.add_argument("--layer", type=int, default=20)
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--batch-tokens", type=int, default=32768)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--json", required=True)
    ap.add_argument("--roofline")
    a = ap.parse_args()
    from transformers import Gemma2Model

    dev = torch.device(a.device)
    os.makedirs(a.work, exist_ok=True)
    lens, seqs = read_tokens(a.tokens)
    total = int(lens.sum())
    print(f"hf: {len(lens)} sequences, {total} tokens", flush=True)

    if a.roofline and dev.type == "cuda":
        r = roofline(dev)
        json.dump(r, open(a.roofline, "w"))
        print(f"hf: roofline {r['tflops']:.0f} TFLOP/s -> {r['tok_per_s_bound']:.0f} tokens/s", flush=True)

    t0 = time.time()
    model = Gemma2Model.from_pretrained(a.model, dtype=torch.bfloat16, attn_implementation="eager").to(dev).eval()
    t_load = time.time() - t0
    print(f"hf: loaded in {t_load:.1f} s", flush=True)
    captured = {}
    model.layers[a.layer].register_forward_hook(
        lambda _m, _i, out: captured.__setitem__("x", out[0] if isinstance(out, tuple) else out))
    bl = batches_of(lens, a.batch_tokens)

    def run_batch(idx):
        L = int(max(lens[i] for i in idx))
        ids = torch.zeros((len(idx), L), dtype=torch.long)
        mask = torch.zeros((len(idx), L), dtype=torch.long)
        for r, i in enumerate(idx):
            ids[r, :lens[i]] = torch.from_numpy(seqs[i].astype(np.int64))
            mask[r, :lens[i]] = 1
        ids, mask = ids.to(dev), mask.to(dev)
        model(input_ids=ids, attention_mask=mask, use_cache=False)
        return captured["x"], mask.bool()

    sae = np.load(a.sae)
    W = torch.from_numpy(sae["W_enc"]).to(dev)
    b = torch.from_numpy(sae["b_enc"]).to(dev)
    thr = torch.from_numpy(sae["threshold"]).to(dev)
    print(f"hf: SAE {a.sae} (threshold {float(sae['threshold'][0]):.3f})", flush=True)
    with torch.no_grad():
        run_batch(bl[0])  # warm-up
        topk = np.full((total, a.k), -1, np.int32)
        offs = np.concatenate([[0], np.cumsum(lens)])
        if dev.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.time()
        results = []
        n_active = 0
        for idx in bl:
            x, mask = run_batch(idx)
            pre = x.float()[mask] @ W + b  # [real tokens, width], row order = batch rows, then positions
            f = torch.where(pre > thr, pre.clamp_min(0), torch.zeros_like(pre))
            vals, ids = torch.topk(f, a.k, dim=-1)
            ids = torch.where(vals > 0, ids, torch.full_like(ids, -1))
            n_active += int((f > 0).sum())
            results.append((idx, ids))
        if dev.type == "cuda":
            torch.cuda.synchronize()
        dt = time.time() - t0
        for idx, ids in results:
            ids = ids.cpu().numpy()
            o = 0
            for i in idx:
                topk[offs[i]:offs[i + 1]] = ids[o:o + lens[i]]
                o += lens[i]
    topk.tofile(os.path.join(a.work, "hf_topk.bin"))
    padded = sum(len(i) * int(max(lens[j] for j in i)) for i in bl)
    out = {"tokens": total, "padded_tokens": padded, "batches": len(bl), "seconds": dt, "tok_per_s": total / dt,
           "load_seconds": t_load, "mean_active": n_active / total, "k": a.k, "layer": a.layer,
           "torch_peak_gib": (torch.cuda.max_memory_allocated() / 2**30) if dev.type == "cuda" else None}
    json.dump(out, open(a.json, "w"))
    print(f"hf: {total} tokens ({padded} padded) in {len(bl)} batches, {dt:.2f} s: {total / dt:.0f} tokens/s, "
          f"mean active {out['mean_active']:.1f}", flush=True)


if __name__ == "__main__":
    main()
