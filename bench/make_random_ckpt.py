#!/usr/bin/env python3
"""Random-weight Gemma-2 checkpoints of real shapes, for benchmarks.

    make_random_ckpt.py --shape 9b|2b|tiny --blocks N --out DIR [--device cpu|cuda] [--seed S]

writes DIR/config.json (HF Gemma2 config, num_hidden_layers = N),
DIR/model-0000i-of-0000n.safetensors (bf16, about 4 GB per shard) and
DIR/model.safetensors.index.json: the layout of a Hugging Face download,
so both saex and transformers load it. The weights are drawn with torch on
--device (cuda: generated on the GPU, then written; the slow part is the
disk). DIR/saex_random.json is written last and records the arguments: when
it matches, the checkpoint is complete and nothing is done.

Also usable as a module: random_sae() writes a Gemma Scope style params.npz.
"""
import argparse
import json
import os
import sys
import time

SHAPES = {
    "9b": dict(vocab_size=256000, hidden_size=3584, intermediate_size=14336, num_hidden_layers=42,
               num_attention_heads=16, num_key_value_heads=8, head_dim=256, query_pre_attn_scalar=256),
    "2b": dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
               num_attention_heads=8, num_key_value_heads=4, head_dim=256, query_pre_attn_scalar=256),
    # small, for correctness runs; head_dim 256 as the real models, window shorter than the test sequences
    "tiny": dict(vocab_size=2048, hidden_size=512, intermediate_size=1024, num_hidden_layers=4,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=256, query_pre_attn_scalar=256,
                 sliding_window=64, max_position_embeddings=1024),
}
COMMON = dict(sliding_window=4096, max_position_embeddings=8192, rms_norm_eps=1e-6, rope_theta=10000.0,
              attn_logit_softcapping=50.0, final_logit_softcapping=30.0, hidden_activation="gelu_pytorch_tanh",
              bos_token_id=2, eos_token_id=1, pad_token_id=0, tie_word_embeddings=True,
              attention_bias=False, attention_dropout=0.0, initializer_range=0.02)
SHARD_BYTES = 4 << 30
STAMP_VERSION = 1


def config_of(shape, blocks):
    cfg = dict(COMMON)
    cfg.update(SHAPES[shape])
    full = cfg["num_hidden_layers"]
    if not 1 <= blocks <= full:
        sys.exit(f"make_random_ckpt: --blocks {blocks} is outside 1..{full} for shape {shape}")
    cfg["num_hidden_layers"] = blocks
    cfg["layer_types"] = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(blocks)]
    cfg["rope_parameters"] = {"rope_type": "default", "rope_theta": cfg["rope_theta"]}
    cfg.update(architectures=["Gemma2ForCausalLM"], model_type="gemma2", dtype="bfloat16", torch_dtype="bfloat16")
    return cfg


def tensor_specs(cfg):
    """(name, shape, std) for every stored tensor, in file order."""
    d, f = cfg["hidden_size"], cfg["intermediate_size"]
    q = cfg["num_attention_heads"] * cfg["head_dim"]
    kv = cfg["num_key_value_heads"] * cfg["head_dim"]
    specs = [("model.embed_tokens.weight", (cfg["vocab_size"], d), d ** -0.5)]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        specs += [
            (p + "input_layernorm.weight", (d,), 0.1),
            (p + "self_attn.q_proj.weight", (q, d), d ** -0.5),
            (p + "self_attn.k_proj.weight", (kv, d), d ** -0.5),
            (p + "self_attn.v_proj.weight", (kv, d), d ** -0.5),
            (p + "self_attn.o_proj.weight", (d, q), q ** -0.5),
            (p + "post_attention_layernorm.weight", (d,), 0.1),
            (p + "pre_feedforward_layernorm.weight", (d,), 0.1),
            (p + "mlp.gate_proj.weight", (f, d), d ** -0.5),
            (p + "mlp.up_proj.weight", (f, d), d ** -0.5),
            (p + "mlp.down_proj.weight", (d, f), f ** -0.5),
            (p + "post_feedforward_layernorm.weight", (d,), 0.1),
        ]
    specs.append(("model.norm.weight", (d,), 0.1))
    return specs


def numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def stamp_of(args):
    return {"version": STAMP_VERSION, "shape": args.shape, "blocks": args.blocks, "seed": args.seed}


def is_complete(out, stamp):
    try:
        with open(os.path.join(out, "saex_random.json")) as fh:
            if json.load(fh) != stamp:
                return False
        with open(os.path.join(out, "model.safetensors.index.json")) as fh:
            files = set(json.load(fh)["weight_map"].values())
        return all(os.path.exists(os.path.join(out, f)) for f in files)
    except (OSError, ValueError, KeyError):
        return False


def write_checkpoint(args):
    import torch
    from safetensors.torch import save_file

    cfg = config_of(args.shape, args.blocks)
    stamp = stamp_of(args)
    if is_complete(args.out, stamp):
        print(f"make_random_ckpt: {args.out} already holds {stamp}; nothing to do")
        return
    os.makedirs(args.out, exist_ok=True)
    try:
        os.remove(os.path.join(args.out, "saex_random.json"))
    except FileNotFoundError:
        pass
    dev = torch.device(args.device)
    gen = torch.Generator(device=dev)
    gen.manual_seed(args.seed)
    specs = tensor_specs(cfg)
    # group tensors into shards of about SHARD_BYTES (bf16: 2 bytes each)
    shards, cur, cur_bytes = [], [], 0
    for spec in specs:
        b = 2 * numel(spec[1])
        if cur and cur_bytes + b > SHARD_BYTES:
            shards.append(cur)
            cur, cur_bytes = [], 0
        cur.append(spec)
        cur_bytes += b
    shards.append(cur)
    t0 = time.time()
    weight_map, total = {}, 0
    for si, shard in enumerate(shards):
        fname = f"model-{si + 1:05d}-of-{len(shards):05d}.safetensors"
        tensors = {}
        for name, shape, std in shard:
            t = torch.randn(shape, generator=gen, device=dev, dtype=torch.float32)
            t = t * std  # norms: Gemma scales by (1 + w), so w near 0
            tensors[name] = t.to(torch.bfloat16).cpu()
            weight_map[name] = fname
            total += 2 * numel(shape)
        save_file(tensors, os.path.join(args.out, fname), metadata={"format": "pt"})
        del tensors
        print(f"make_random_ckpt: wrote {fname} ({time.time() - t0:.1f} s)", flush=True)
    with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as fh:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, fh, indent=1)
    with open(os.path.join(args.out, "config.json"), "w") as fh:
        json.dump(cfg, fh, indent=1)
    with open(os.path.join(args.out, "saex_random.json"), "w") as fh:
        json.dump(stamp, fh)
    print(f"make_random_ckpt: {args.out}: {args.shape} x {args.blocks} blocks, {total / 2**30:.2f} GiB "
          f"in {time.time() - t0:.1f} s")


def random_sae(path, d_in, width, threshold, seed, device="cpu"):
    """Writes a Gemma Scope style params.npz at path: W_enc [d_in, width] with
    unit-norm columns, b_enc = 0, threshold constant, W_dec = W_enc^T, b_dec = 0.
    For a residual x the pre-activation of a feature is about N(0, rms(x)^2),
    so threshold = 2.5 rms(x) leaves roughly 0.6% of the features active."""
    import numpy as np
    import torch

    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    w = torch.randn((d_in, width), generator=gen, device=device, dtype=torch.float32)
    w = w / w.norm(dim=0, keepdim=True)
    w_enc = w.cpu().numpy()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    np.savez(path, W_enc=w_enc, b_enc=np.zeros(width, np.float32),
             threshold=np.full(width, threshold, np.float32), W_dec=np.ascontiguousarray(w_enc.T),
             b_dec=np.zeros(d_in, np.float32))
    return w_enc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--blocks", type=int, required=True, help="first N blocks of the model")
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    write_checkpoint(args)


if __name__ == "__main__":
    main()
