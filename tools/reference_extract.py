#!/usr/bin/env python3
"""Reference pipeline: what `saex` does, done with HF transformers + SAELens.

For each variation of each result in an experiment-results JSON:
  prompt ids   = tokenizer(prompt)                       (with <bos>)
  response ids = tokenizer(response, add_special_tokens=False)
  input        = prompt ids + response ids
runs the HF Gemma-2 (eager attention, f32 weights), takes resid_post of
block L with a forward hook, encodes it with the SAELens SAE and records the
top-k features (largest first, ties to the lower id, only non-zero) at the
last prompt token and at every token.

  .venv-ref/bin/python tools/reference_extract.py --model examples/model \
      --sae examples/sae_saelens --input examples/input.json --layer 2 \
      --out tests/fixtures/e2e/expected.json [--top-k 50] [--chat-template gemma]
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fixtures_common import f32, setup_determinism  # noqa: E402

GEMMA_CHAT = "<start_of_turn>user\n{prompt}<end_of_turn>\n<start_of_turn>model\n"


def topk(act, k):
    """act: numpy f32 [d_sae]. Returns (features, num_active, kth_margin).
    kth_margin = k-th minus (k+1)-th largest activation, counting zeros for
    missing ones; None when fewer than k features are active (the set is
    then all of them and there is no boundary to be near)."""
    import numpy as np

    ids = np.nonzero(act)[0]
    vals = act[ids]
    order = np.lexsort((ids, -vals))  # by -value, then by id
    ids, vals = ids[order], vals[order]
    n = int(len(ids))
    feats = [[int(i), f32(v)] for i, v in zip(ids[:k], vals[:k])]
    margin = None
    if n >= k:
        nxt = vals[k] if n > k else np.float32(0.0)
        margin = f32(np.float32(vals[k - 1]) - np.float32(nxt))
    return feats, n, margin


def tokenize(hf_tok, raw_tok, prompt, response):
    p = hf_tok(prompt)["input_ids"]
    r = hf_tok(response, add_special_tokens=False)["input_ids"]
    # The transformers tokenizer and the plain tokenizers one must agree:
    # saex reads tokenizer.json only.
    assert p == raw_tok.encode(prompt).ids, prompt
    assert r == raw_tok.encode(response, add_special_tokens=False).ids, response
    return p, r


def extract(model_dir, sae_dir, input_path, layer, k, chat_template=None):
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer, Gemma2ForCausalLM

    import fixtures_sae

    hf_tok = AutoTokenizer.from_pretrained(model_dir)
    raw_tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    model = Gemma2ForCausalLM.from_pretrained(model_dir, dtype=torch.float32,
                                              attn_implementation="eager").eval()
    sae = fixtures_sae.load_saelens(sae_dir)
    with open(input_path, encoding="utf-8") as f:
        data = json.load(f)

    got = {}

    def hook(_m, _i, out):
        h = out[0] if isinstance(out, tuple) else out
        got["x"] = h[0].detach().to(torch.float32)

    handle = model.model.layers[layer].register_forward_hook(hook)
    samples = []
    try:
        for r, res in enumerate(data["results"]):
            for v, var in enumerate(res["variations"]):
                prompt = var["prompt"]
                if chat_template == "gemma":
                    prompt = GEMMA_CHAT.format(prompt=prompt)
                p_ids, r_ids = tokenize(hf_tok, raw_tok, prompt, var["response"])
                ids = p_ids + r_ids
                assert len(ids) <= model.config.max_position_embeddings
                with torch.no_grad():
                    model(input_ids=torch.tensor([ids]), use_cache=False)
                _pre, act = fixtures_sae.encode(sae, got["x"])
                act = act.numpy()
                rows = []
                for t in range(len(ids)):
                    feats, n, margin = topk(act[t], k)
                    rows.append({"features": feats, "num_active": n, "kth_margin": margin})
                last = dict(rows[len(p_ids) - 1])
                samples.append({
                    "result_index": r, "variation_index": v,
                    "prompt_ids": p_ids, "response_ids": r_ids,
                    "answer_start_position": len(p_ids), "total_tokens": len(ids),
                    "last_token": last, "kth_margin": last["kth_margin"],
                    "all_tokens": rows,
                })
    finally:
        handle.remove()
    return samples


def write(path, header, samples):
    """One sample per line: readable diffs, still plain JSON."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    head = json.dumps(header, ensure_ascii=False)[:-1]
    body = ",\n".join(json.dumps(s, ensure_ascii=False) for s in samples)
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + ', "samples": [\n' + body + "\n]}\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--sae", required=True, help="a SAELens folder (cfg.json + sae_weights.safetensors)")
    ap.add_argument("--input", required=True)
    ap.add_argument("--layer", type=int, required=True)
    ap.add_argument("--top-k", type=int, default=50)
    ap.add_argument("--chat-template", choices=["gemma"], default=None)
    ap.add_argument("--model-name", default=None, help='value of "model" in the output (default: --model)')
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    setup_determinism()
    samples = extract(a.model, a.sae, a.input, a.layer, a.top_k, a.chat_template)
    header = {"model": a.model_name or a.model, "layer": a.layer, "top_k": a.top_k,
              "chat_template": a.chat_template}
    write(a.out, header, samples)


if __name__ == "__main__":
    main()
