"""Tiny random-weight Gemma-2 checkpoints and their HF reference residuals."""

import copy

import numpy as np
import torch
from transformers import Gemma2Config, Gemma2ForCausalLM

from fixtures_common import generator, randn

# Architectures of the test checkpoints. qk_gain scales q_proj / k_proj so
# that attention logits are large enough for the (low) softcap to bite.
TINY_A = dict(
    name="tiny_a", seed=1001, qk_gain=2.0,
    config=dict(vocab_size=512, hidden_size=64, intermediate_size=160, num_hidden_layers=4,
                num_attention_heads=4, num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=16,
                sliding_window=8, max_position_embeddings=96,
                rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
                hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
                attn_logit_softcapping=4.0, final_logit_softcapping=30.0),
)
TINY_B = dict(
    name="tiny_b", seed=1002, qk_gain=2.0, max_shard_size="900KB",
    config=dict(vocab_size=512, hidden_size=96, intermediate_size=192, num_hidden_layers=5,
                num_attention_heads=6, num_key_value_heads=1, head_dim=32, query_pre_attn_scalar=24,
                sliding_window=6, max_position_embeddings=96,
                rope_parameters={"rope_type": "default", "rope_theta": 50000.0},
                hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
                attn_logit_softcapping=5.0, final_logit_softcapping=30.0),
)


def build(spec, vocab_size=None):
    """A Gemma2ForCausalLM with every weight drawn from a seeded generator
    (HF's own init is not used: it sets RMSNorm weights to zero, so the
    (1 + w) scale would never be exercised)."""
    kw = dict(spec["config"])
    if vocab_size is not None:
        kw["vocab_size"] = vocab_size
    cfg = Gemma2Config(**kw, attn_implementation="eager")
    torch.manual_seed(spec["seed"])  # HF init runs first; we overwrite all of it
    model = Gemma2ForCausalLM(cfg).eval()
    g = generator(spec["seed"])
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                std = 0.3
            elif name.endswith("embed_tokens.weight"):
                std = 0.2
            else:
                fan_in = p.shape[1]
                std = fan_in ** -0.5
                if name.endswith(("q_proj.weight", "k_proj.weight")):
                    std *= spec["qk_gain"]
            p.copy_(randn(g, p.shape, std))
    return model


def save(model, out_dir, dtype=torch.float32, max_shard_size=None):
    m = model if dtype == torch.float32 else copy.deepcopy(model).to(dtype)
    kw = {} if max_shard_size is None else {"max_shard_size": max_shard_size}
    m.save_pretrained(out_dir, **kw)


def load(model_dir, dtype):
    m = Gemma2ForCausalLM.from_pretrained(model_dir, dtype=dtype, attn_implementation="eager")
    return m.eval()


def residuals(model, ids):
    """resid_post of every block for one sequence: list of f32 [T, D].
    Forward hooks on model.model.layers[i] see the block's own output (the
    residual stream after the block); output_hidden_states is not used
    because its last entry has the final norm applied."""
    got = {}
    hooks = []
    for i, layer in enumerate(model.model.layers):
        def hook(_mod, _inp, out, i=i):
            h = out[0] if isinstance(out, tuple) else out  # 5.24 returns a tensor
            got[i] = h[0].detach().to(torch.float32).clone()
        hooks.append(layer.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(input_ids=torch.tensor([ids], dtype=torch.long), use_cache=False)
    finally:
        for h in hooks:
            h.remove()
    return [got[i] for i in range(len(model.model.layers))]


def ref_sequences(seed, vocab, window, max_pos):
    """Lengths 1, 2, 5, window+3, 2*window+5, 40, max_pos; each starts with BOS (2)."""
    rng = np.random.default_rng(seed)
    lens = [1, 2, 5, window + 3, 2 * window + 5, 40, max_pos]
    return [[2] + [int(t) for t in rng.integers(0, vocab, n - 1)] for n in lens]


def softcap_effect(model, ids):
    """Relative change of the last block's residual when attention softcapping
    is switched off: ||r_nocap - r_cap|| / ||r_cap||."""
    r_cap = residuals(model, ids)[-1]
    m = copy.deepcopy(model)
    m.config.attn_logit_softcapping = None
    for layer in m.model.layers:
        layer.self_attn.attn_logit_softcapping = None
    r_no = residuals(m, ids)[-1]
    return float((r_no - r_cap).norm() / r_cap.norm())


def sliding_rule(model):
    """Measures which keys a sliding layer sees. Block 0 is sliding: change
    only token 0 and look at which positions of block 0's output move. Returns
    the largest q - k that still attends (window - 1 if the rule is
    q - k < window)."""
    cfg = model.config
    assert cfg.layer_types[0] == "sliding_attention"
    w = cfg.sliding_window
    n = w + 4
    a = [2] + [5 + i for i in range(n - 1)]
    b = [7] + a[1:]
    ra, rb = residuals(model, a)[0], residuals(model, b)[0]
    moved = [(ra[q] - rb[q]).abs().max().item() > 0 for q in range(n)]
    assert all(moved[:w]) and not any(moved[w:]), moved
    return max(q for q in range(n) if moved[q])
