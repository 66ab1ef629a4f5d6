#!/usr/bin/env python3
"""saex on the GPU against HF transformers, for bench/gpu.sh.

    gpu_check.py prepare --dir W [--device cuda|cpu]
        tiny random Gemma-2 checkpoint in W/tiny (bench/make_random_ckpt.py),
        HF eager reference residuals (f32 and bf16) of the four sequences
        `bench/saex_gpu.py check` runs, and a random JumpReLU SAE for the
        last captured layer (W/sae/params.npz, threshold 2.5 x residual rms).
    gpu_check.py compare --dir W --f32 F32.safetensors --bf16 BF16.safetensors
        the driver's outputs against the references; exits 1 on failure:
        f32: relative error per token <= 1e-4; default (bf16): cosine per
        token >= 0.999; top-k overlap with a torch f32 JumpReLU >= 0.95.
    gpu_check.py tokens --model DIR --out FILE [--samples 256] [--min-len 128] [--max-len 768] [--seed 7]
        the benchmark's token sequences (numpy, BOS = 2 first) for `bench/saex_gpu.py bench`
        and hf_gpu_baseline.py: int32 n, lens[n], then the tokens.
    gpu_check.py sae --d-in D --width W --out NPZ [--calibrate RESID.safetensors --layer L]
        a random JumpReLU SAE (make_random_ckpt.random_sae, seed 11). With
        --calibrate: threshold 2.5 x the mean rms of resid_L (BOS rows left
        out) in a `saex_gpu.py check` output, which leaves ~0.6% of features
        active; without: threshold 0 (the SAE that calibration runs with).
    gpu_check.py overlap --work W --saex S.json
        top-k overlap of W/saex_topk.bin and W/hf_topk.bin, added to S.json.
    gpu_check.py table --saex S.json --hf H.json --roofline R.json [--mem M.json]
        the benchmark table.
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
LAYERS = (1, 3)     # captured by the check run; the SAE sits on the last
LENS = (1, 17, 100, 150)
K = 32
SAE_WIDTH = 2048


def driver_tokens(vocab):
    """The token sequences of the check run (bench/saex_gpu.py check) (same LCG, BOS = 2 first)."""
    r, toks = 2024, []
    for _ in range(sum(LENS)):
        r = (r * 1664525 + 1013904223) & 0xFFFFFFFF
        toks.append((r >> 8) % vocab)
    seqs, o = [], 0
    for n in LENS:
        s = toks[o:o + n]
        s[0] = 2
        seqs.append(s)
        o += n
    return seqs


def hf_residuals(model_dir, dtype, device, seqs):
    import torch
    from transformers import Gemma2Model

    m = Gemma2Model.from_pretrained(model_dir, dtype=dtype, attn_implementation="eager").to(device).eval()
    got = {}
    hooks = [m.layers[l].register_forward_hook(
        lambda _m, _i, out, l=l: got.__setitem__(l, (out[0] if isinstance(out, tuple) else out)[0].float().cpu()))
        for l in LAYERS]
    res = {l: [] for l in LAYERS}
    with torch.no_grad():
        for s in seqs:
            m(input_ids=torch.tensor([s], device=device))
            for l in LAYERS:
                res[l].append(got[l].numpy())
    for h in hooks:
        h.remove()
    return {l: np.concatenate(res[l]) for l in LAYERS}


def prepare(a):
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    sys.path.insert(0, HERE)
    import make_random_ckpt as mrc

    tiny = os.path.join(a.dir, "tiny")
    mrc.write_checkpoint(argparse.Namespace(shape="tiny", blocks=4, out=tiny, device="cpu", seed=3))
    cfg = json.load(open(os.path.join(tiny, "config.json")))
    seqs = driver_tokens(cfg["vocab_size"])
    ref = {}
    for name, dt in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        r = hf_residuals(tiny, dt, a.device, seqs)
        for l in LAYERS:
            ref[f"{name}_{l}"] = r[l]
    last = ref[f"f32_{LAYERS[-1]}"]
    rms = float(np.sqrt((last.astype(np.float64) ** 2).mean(axis=1)).mean())
    mrc.random_sae(os.path.join(a.dir, "sae", "params.npz"), cfg["hidden_size"], SAE_WIDTH, 2.5 * rms, seed=5)
    np.savez(os.path.join(a.dir, "hf_ref.npz"), **ref)
    print(f"gpu_check: prepared {a.dir} (rms at layer {LAYERS[-1]}: {rms:.3f})")


def read_st(path):
    from safetensors.numpy import load_file
    return load_file(path)


def topk_ref(x, sae, k):
    """JumpReLU top-k in float64 (ties to the lower id)."""
    pre = x.astype(np.float64) @ sae["W_enc"].astype(np.float64) + sae["b_enc"]
    f = np.where(pre > sae["threshold"], np.maximum(pre, 0), 0)
    ids = []
    for row in f:
        order = np.lexsort((np.arange(row.size), -row))[:k]
        ids.append([int(i) for i in order if row[i] > 0])
    return ids


def compare(a):
    ref = np.load(os.path.join(a.dir, "hf_ref.npz"))
    sae = np.load(os.path.join(a.dir, "sae", "params.npz"))
    ok = True
    for mode, path in (("f32", a.f32), ("bf16", a.bf16)):
        got = read_st(path)
        for l in LAYERS:
            s = got[f"resid_{l}"].astype(np.float64)
            for refname in (mode, "f32" if mode == "bf16" else None):
                if refname is None:
                    continue
                h = ref[f"{refname}_{l}"].astype(np.float64)
                rel = np.linalg.norm(s - h, axis=1) / np.maximum(np.linalg.norm(h, axis=1), 1e-30)
                cos = (s * h).sum(1) / np.maximum(np.linalg.norm(s, axis=1) * np.linalg.norm(h, axis=1), 1e-30)
                gate = ""
                if mode == "f32" and refname == "f32":
                    passed = rel.max() <= 1e-4
                    gate = f"rel err <= 1e-4: {'ok' if passed else 'FAIL'}"
                    ok &= bool(passed)
                elif mode == "bf16" and refname == "bf16":
                    passed = cos.min() >= 0.999
                    gate = f"cosine >= 0.999: {'ok' if passed else 'FAIL'}"
                    ok &= bool(passed)
                print(f"  saex {mode:4s} vs HF {refname:4s} layer {l}: max rel err {rel.max():.2e}, "
                      f"min cosine {cos.min():.6f}  {gate}")
        lt = LAYERS[-1]
        want = topk_ref(ref[f"f32_{lt}"], sae, K)
        ids = got["topk_ids"]
        inter = tot = 0
        for t, w in enumerate(want):
            g = set(int(i) for i in ids[t] if i >= 0)
            inter += len(g & set(w))
            tot += max(len(w), 1)
        ov = inter / tot
        nact = got["n_active"]
        passed = ov >= 0.95
        ok &= passed
        print(f"  saex {mode:4s} top-{K} overlap with HF f32 + JumpReLU: {ov:.4f} (mean active {nact.mean():.1f})"
              f"  >= 0.95: {'ok' if passed else 'FAIL'}")
    print("gpu_check: correctness", "ok" if ok else "FAILED")
    return 0 if ok else 1


def draw_tokens(n, lo, hi, vocab, seed):
    rng = np.random.default_rng(seed)
    lens = rng.integers(lo, hi + 1, size=n).astype(np.int32)
    seqs = [rng.integers(3, vocab, size=int(length)).astype(np.int32) for length in lens]
    for s in seqs:
        s[0] = 2  # BOS
    return lens, seqs


def tokens(a):
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    lens, seqs = draw_tokens(a.samples, a.min_len, a.max_len, cfg["vocab_size"], a.seed)
    with open(a.out, "wb") as fh:
        np.array([len(lens)], np.int32).tofile(fh)
        lens.tofile(fh)
        for s in seqs:
            s.tofile(fh)
    print(f"gpu_check: {a.out}: {len(lens)} sequences, {int(lens.sum())} tokens")
    return 0


def sae(a):
    sys.path.insert(0, HERE)
    import make_random_ckpt as mrc

    thr = 0.0
    if a.calibrate:
        got = read_st(a.calibrate)
        x = got[f"resid_{a.layer}"].astype(np.float64)
        starts = got["seq_start"].astype(np.int64)[:-1] if "seq_start" in got else np.array([0])
        keep = np.ones(len(x), bool)
        keep[starts] = False  # BOS rows: a scale of their own
        rms = float(np.sqrt((x[keep] ** 2).mean(axis=1)).mean())
        thr = 2.5 * rms
        print(f"gpu_check: residual rms at layer {a.layer}: {rms:.4f} over {int(keep.sum())} tokens")
    mrc.random_sae(a.out, a.d_in, a.width, thr, seed=11)
    print(f"gpu_check: {a.out}: SAE {a.d_in} x {a.width}, threshold {thr:.4f}")
    return 0


def table(a):
    s = json.load(open(a.saex))
    h = json.load(open(a.hf))
    r = json.load(open(a.roofline))
    mem = json.load(open(a.mem)) if a.mem and os.path.exists(a.mem) else {}
    bound = r["tok_per_s_bound"]
    rows = [("saex (CUDA, bf16)", s["tok_per_s"], mem.get("saex_peak_gib")),
            ("HF transformers bf16 eager", h["tok_per_s"], mem.get("hf_peak_gib", h.get("torch_peak_gib")))]
    print(f"\n{s['tokens']} tokens, layer {s['layer']}, top-{s['k']}; cuBLAS roofline {r['tflops']:.0f} TFLOP/s "
          f"-> {bound:.0f} tokens/s bound at {r['gflop_per_token']} GFLOP/token")
    print(f"{'':28s} {'tokens/s':>10s} {'vs HF':>7s} {'% roofline':>10s} {'peak GiB':>9s}")
    for name, tps, peak in rows:
        print(f"{name:28s} {tps:10.0f} {tps / h['tok_per_s']:7.2f} {100 * tps / bound:9.1f}% "
              f"{(f'{peak:.1f}' if peak else '-'):>9s}")
    if "topk_overlap_vs_hf" in s:
        print(f"top-k overlap saex vs HF (bf16, 9b shapes): {s['topk_overlap_vs_hf']:.3f}")
    return 0


def overlap(a):
    """Top-k overlap of saex and HF on the benchmark tokens (added to --saex json)."""
    s = json.load(open(a.saex))
    k = s["k"]
    h = np.fromfile(os.path.join(a.work, "hf_topk.bin"), np.int32).reshape(-1, k)
    g = np.fromfile(os.path.join(a.work, "saex_topk.bin"), np.int32).reshape(-1, k)
    inter = tot = 0
    for hr, gr in zip(h, g):
        hs = set(int(i) for i in hr if i >= 0)
        inter += len(hs & set(int(i) for i in gr if i >= 0))
        tot += max(len(hs), 1)
    s["topk_overlap_vs_hf"] = inter / tot
    json.dump(s, open(a.saex, "w"))
    print(f"gpu_check: top-{k} overlap saex vs HF on {len(h)} tokens: {inter / tot:.4f}")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--dir", required=True)
    p.add_argument("--device", default="cuda")
    c = sub.add_parser("compare")
    c.add_argument("--dir", required=True)
    c.add_argument("--f32", required=True)
    c.add_argument("--bf16", required=True)
    t = sub.add_parser("table")
    t.add_argument("--saex", required=True)
    t.add_argument("--hf", required=True)
    t.add_argument("--roofline", required=True)
    t.add_argument("--mem")
    o = sub.add_parser("overlap")
    o.add_argument("--work", required=True)
    o.add_argument("--saex", required=True)
    w = sub.add_parser("tokens")
    w.add_argument("--model", required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--samples", type=int, default=256)
    w.add_argument("--min-len", type=int, default=128)
    w.add_argument("--max-len", type=int, default=768)
    w.add_argument("--seed", type=int, default=7)
    e = sub.add_parser("sae")
    e.add_argument("--d-in", type=int, required=True)
    e.add_argument("--width", type=int, default=16384)
    e.add_argument("--out", required=True)
    e.add_argument("--calibrate")
    e.add_argument("--layer", type=int, default=20)
    a = ap.parse_args()
    if a.cmd == "tokens":
        return tokens(a)
    if a.cmd == "sae":
        return sae(a)
    if a.cmd == "prepare":
        return prepare(a) or 0
    if a.cmd == "compare":
        return compare(a)
    if a.cmd == "overlap":
        return overlap(a)
    return table(a)


if __name__ == "__main__":
    sys.exit(main())
