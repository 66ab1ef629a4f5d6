#!/usr/bin/env python3
"""Regenerates saex's reference fixtures with the real Python stack.

  .venv-ref/bin/python tools/make_fixtures.py            # write into the repo
  .venv-ref/bin/python tools/make_fixtures.py --out DIR  # write under DIR instead
  .venv-ref/bin/python tools/make_fixtures.py --check    # regenerate into a temp
                                                         # dir, compare with the repo

Writes tests/fixtures/{tiny_a,tiny_b,tiny_bf16,e2e}/ and examples/{model,sae,
sae_saelens,input.json}. Every weight comes from a seeded torch generator and
torch runs on one thread with deterministic algorithms, so a rerun with the
pinned stack (tools/requirements.txt) gives the same bytes.
See tests/fixtures/README.md for what each file is.
"""

import argparse
import filecmp
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixtures_common as fc  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUTS = ["tests/fixtures/tiny_a", "tests/fixtures/tiny_b", "tests/fixtures/tiny_bf16",
           "tests/fixtures/e2e", "examples/model", "examples/sae", "examples/sae_saelens",
           "examples/input.json"]

SAE_SPECS = {"tiny_a": dict(layer=2, d_sae=256, seed=2001, compressed=True),
             "tiny_b": dict(layer=3, d_sae=320, seed=2002, compressed=False)}
FIRE_RATE = 0.06


def log(*a):
    print(*a, flush=True)


def gen_models(root, meta):
    import torch

    import fixtures_models as fm

    facts = {}
    residual_sets = {}
    for spec in (fm.TINY_A, fm.TINY_B):
        name = spec["name"]
        d = f"{root}/tests/fixtures/{name}"
        fm.save(fm.build(spec), d, max_shard_size=spec.get("max_shard_size"))
        model = fm.load(d, torch.float32)  # references come from what is on disk
        cfg = spec["config"]
        seqs = fm.ref_sequences(spec["seed"] + 1, cfg["vocab_size"], cfg["sliding_window"],
                                cfg["max_position_embeddings"])
        tensors, per_seq = {}, []
        for i, ids in enumerate(seqs):
            tensors[f"seq{i}.ids"] = torch.tensor(ids, dtype=torch.int32)
            rs = fm.residuals(model, ids)
            per_seq.append(rs)
            for L, r in enumerate(rs):
                tensors[f"seq{i}.resid.{L}"] = r
        fc.save_safetensors(f"{d}/ref.safetensors", tensors, {**meta, "model": name, "precision": "float32"})
        residual_sets[name] = (seqs, per_seq)
        eff = fm.softcap_effect(model, seqs[-1])
        assert eff > 1e-3, f"{name}: softcapping barely matters ({eff})"
        facts[f"{name}_softcap_rel_change"] = eff
        log(f"{name}: seq lens {[len(s) for s in seqs]}, softcap off -> last resid rel change {eff:.4f}")
        if name == "tiny_a":
            facts["sliding_max_q_minus_k"] = fm.sliding_rule(model)
            log(f"tiny_a: sliding window {cfg['sliding_window']}: largest attended q-k = "
                f"{facts['sliding_max_q_minus_k']} (rule q - k < window)")

            # tiny_bf16: tiny_a's weights rounded to bf16.
            db = f"{root}/tests/fixtures/tiny_bf16"
            fm.save(model, db, dtype=torch.bfloat16)
            m16 = fm.load(db, torch.bfloat16)
            m32 = fm.load(db, torch.float32)
            tb = {}
            for i, ids in enumerate(seqs):
                tb[f"seq{i}.ids"] = torch.tensor(ids, dtype=torch.int32)
                for L, r in enumerate(fm.residuals(m16, ids)):
                    tb[f"seq{i}.resid_bf16.{L}"] = r
                for L, r in enumerate(fm.residuals(m32, ids)):
                    tb[f"seq{i}.resid.{L}"] = r
            fc.save_safetensors(f"{db}/ref.safetensors", tb,
                                {**meta, "model": "tiny_bf16",
                                 "precision": "resid: f32 run of the bf16 weights upcast; "
                                              "resid_bf16: bf16 run, cast to f32"})
            d16 = (tb["seq6.resid_bf16.3"] - tb["seq6.resid.3"]).norm() / tb["seq6.resid.3"].norm()
            facts["bf16_vs_f32_rel"] = float(d16)
            log(f"tiny_bf16: bf16 run vs f32 run, last block, longest seq: rel diff {float(d16):.4f}")
    return residual_sets, facts


def gen_saes(root, meta, residual_sets, facts):
    import torch

    import fixtures_sae as fs

    for name, s in SAE_SPECS.items():
        seqs, per_seq = residual_sets[name]
        L = s["layer"]
        x = torch.cat([rs[L] for rs in per_seq])
        params = fs.make(x.shape[1], s["d_sae"], x, FIRE_RATE, s["seed"])
        d = f"{root}/tests/fixtures/{name}"
        fs.save_gemmascope(f"{d}/sae_l{L}", params, s["compressed"])
        fs.save_saelens(f"{d}/sae_l{L}_saelens", params, f"blocks.{L}.hook_resid_post", name)
        sae = fs.load_saelens(f"{d}/sae_l{L}_saelens")
        assert sae.cfg.apply_b_dec_to_input is False
        tensors, acts, margin = {}, [], float("inf")
        for i, (ids, rs) in enumerate(zip(seqs, per_seq)):
            pre, act = fs.encode(sae, rs[L])
            tensors[f"seq{i}.ids"] = torch.tensor(ids, dtype=torch.int32)
            tensors[f"seq{i}.sae_pre"] = pre
            tensors[f"seq{i}.sae_act"] = act
            acts.append(act)
            margin = min(margin, fs.min_margin(pre, params["threshold"]))
        fc.save_safetensors(f"{d}/ref_sae.safetensors", tensors,
                            {**meta, "model": name, "layer": str(L), "sae": f"sae_l{L}_saelens",
                             "sae_pre": "sae-lens hook_sae_acts_pre (x @ W_enc + b_enc)"})
        a = torch.cat(acts)
        rate = float((a != 0).float().mean())
        never = int(((a != 0).sum(0) == 0).sum())
        facts[f"{name}_sae_fire_rate"] = rate
        log(f"{name} SAE l{L}: d_sae {s['d_sae']}, mean fraction firing {rate:.3f}, "
            f"features that never fire {never}, closest |pre - threshold| {margin:.2e}")


def gen_demo(root, meta, facts):
    import torch

    import fixtures_demo as fd
    import fixtures_models as fm
    import fixtures_sae as fs
    import reference_extract as rx

    tok = fd.build_tokenizer()
    V = tok.get_vocab_size()
    md = f"{root}/examples/model"
    fm.save(fm.build(fd.DEMO_MODEL, vocab_size=V), md, dtype=torch.bfloat16)
    fd.save_tokenizer(tok, md)
    inp = f"{root}/examples/input.json"
    fc.write_json(inp, fd.input_json(), indent=2)
    log(f"demo: tokenizer vocab {V}, model bf16, layer {fd.DEMO_LAYER}")

    # Tune the demo SAE's thresholds on the demo's own residuals (plain and
    # chat-wrapped), so the end-to-end features sit far from thresholds.
    from transformers import AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(md)
    model = fm.load(md, torch.float32)
    rows = []
    for res in fd.input_json()["results"]:
        for var in res["variations"]:
            for p in (var["prompt"], rx.GEMMA_CHAT.format(prompt=var["prompt"])):
                p_ids, r_ids = rx.tokenize(hf_tok, tok, p, var["response"])
                rows.append(fm.residuals(model, p_ids + r_ids)[fd.DEMO_LAYER])
    x = torch.cat(rows)
    params = fs.make(x.shape[1], fd.DEMO_D_SAE, x, 0.05, 3002)
    fs.save_gemmascope(f"{root}/examples/sae", params, compressed=False)
    fs.save_saelens(f"{root}/examples/sae_saelens", params, f"blocks.{fd.DEMO_LAYER}.hook_resid_post",
                    fd.DEMO_MODEL["name"])
    sae = fs.load_saelens(f"{root}/examples/sae_saelens")
    margin = min(fs.min_margin(fs.encode(sae, r)[0], params["threshold"]) for r in rows)
    log(f"demo SAE l{fd.DEMO_LAYER}: d_sae {fd.DEMO_D_SAE}, closest |pre - threshold| {margin:.2e}")

    for chat, fname in ((None, "expected.json"), ("gemma", "expected_chat.json")):
        samples = rx.extract(md, f"{root}/examples/sae_saelens", inp, fd.DEMO_LAYER, 50, chat)
        header = {"model": "examples/model", "sae": "examples/sae", "input": "examples/input.json",
                  "layer": fd.DEMO_LAYER, "top_k": 50, "chat_template": chat,
                  "precision": "HF eager in float32 (bf16 weights upcast)", **{"versions": meta}}
        rx.write(f"{root}/tests/fixtures/e2e/{fname}", header, samples)
        na = [t["num_active"] for s in samples for t in s["all_tokens"]]
        over = sum(n > 50 for n in na)
        log(f"e2e {fname}: {len(samples)} samples, tokens {sum(s['total_tokens'] for s in samples)}, "
            f"active per token {min(na)}..{max(na)} (mean {sum(na) / len(na):.1f}), tokens with >50 active: {over}")


def generate(root):
    t0 = time.time()
    fc.setup_determinism()
    meta = fc.versions()
    residual_sets, facts = gen_models(root, meta)
    gen_saes(root, meta, residual_sets, facts)
    gen_demo(root, meta, facts)
    log(f"generated in {time.time() - t0:.1f} s")
    return facts


def list_files(base, rel):
    p = os.path.join(base, rel)
    if os.path.isfile(p):
        return [rel]
    out = []
    for dp, _dn, fns in os.walk(p):
        for fn in fns:
            out.append(os.path.relpath(os.path.join(dp, fn), base))
    return sorted(out)


def describe_diff(a, b):
    """For safetensors files that differ: the largest difference per tensor."""
    if not a.endswith(".safetensors"):
        return ""
    from safetensors.numpy import load_file

    x, y = load_file(a), load_file(b)
    if set(x) != set(y):
        return f" (tensor names differ: {sorted(set(x) ^ set(y))[:5]})"
    worst = max(((abs(x[k].astype("f8") - y[k].astype("f8")).max() if x[k].shape == y[k].shape else float("inf"), k)
                 for k in x), default=(0, ""))
    return f" (largest |diff| {worst[0]:.3g} in {worst[1]})"


def check():
    tmp = tempfile.mkdtemp(prefix="saex-fixtures-")
    try:
        generate(tmp)
        bad = 0
        for rel in OUTPUTS:
            mine, theirs = list_files(tmp, rel), list_files(REPO, rel)
            for f in sorted(set(mine) | set(theirs)):
                if f not in theirs:
                    log(f"MISSING in repo: {f}")
                    bad += 1
                elif f not in mine:
                    log(f"EXTRA in repo (not generated): {f}")
                    bad += 1
                elif not filecmp.cmp(os.path.join(tmp, f), os.path.join(REPO, f), shallow=False):
                    log(f"DIFFERS: {f}{describe_diff(os.path.join(tmp, f), os.path.join(REPO, f))}")
                    bad += 1
        n = sum(len(list_files(tmp, r)) for r in OUTPUTS)
        log(f"check: {n} files compared, {bad} problems")
        return 1 if bad else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=REPO, help="root to write under (default: the repo)")
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and compare byte for byte")
    a = ap.parse_args()
    if a.check:
        sys.exit(check())
    root = os.path.abspath(a.out)
    for rel in OUTPUTS:  # stale files (an old shard count) must not survive
        p = os.path.join(root, rel)
        if os.path.isdir(p):
            shutil.rmtree(p)
    generate(root)


if __name__ == "__main__":
    main()
