"""Random JumpReLU SAEs written as Gemma Scope params.npz and as a genuine
SAELens folder, and reference encodings computed by SAELens itself."""

import numpy as np
import torch

from fixtures_common import generator, randn, save_npz


def make(d_in, d_sae, x, fire_rate, seed):
    """x: f32 [N, d_in], residual rows the thresholds are tuned on.

    Each feature j gets its own firing rate p_j (log-spread around
    fire_rate, so a few features fire often and most rarely). Its threshold
    is put in the widest gap between neighbouring sorted pre-activations near
    the (1 - p_j) quantile, and b_enc is shifted so that this threshold is a
    positive number: no pre-activation sits close to a threshold, so a C
    encoder that differs from torch in the last bits still agrees on which
    features fire. Returns numpy f32 arrays keyed as in Gemma Scope."""
    # Identical rows (every sequence starts with the same BOS state) would
    # put a run of equal values at the quantile and leave no gap to use.
    x = torch.unique(x, dim=0)
    g = generator(seed)
    rms = float(x.pow(2).mean().sqrt())
    W_enc = randn(g, (d_in, d_sae), 1.0 / (d_in ** 0.5 * rms))
    b_enc = randn(g, (d_sae,), 0.1)
    W_dec = randn(g, (d_sae, d_in), rms / d_sae ** 0.5)
    b_dec = randn(g, (d_in,), 0.5 * rms)  # non-zero: encode must NOT subtract it
    log_spread = randn(g, (d_sae,), 0.7)
    target = 0.3 + 0.7 * torch.rand(d_sae, generator=g)  # threshold values in [0.3, 1.0)

    pre = x @ W_enc + b_enc  # [N, d_sae]
    srt, _ = pre.sort(dim=0)
    n = x.shape[0]
    threshold = torch.empty(d_sae)
    for j in range(d_sae):
        p = min(max(fire_rate * float(log_spread[j].exp()), 0.5 / n), 0.5)
        r = min(max(int(round((1.0 - p) * n)) - 1, 0), n - 2)  # gap between srt[r] and srt[r+1]
        lo, hi = max(r - 5, 0), min(r + 5, n - 2)
        gaps = srt[lo + 1:hi + 2, j] - srt[lo:hi + 1, j]
        r = lo + int(gaps.argmax())
        mid = 0.5 * (srt[r, j] + srt[r + 1, j])
        b_enc[j] += target[j] - mid
        threshold[j] = target[j]
    return {
        "W_enc": W_enc.numpy(), "W_dec": W_dec.numpy(), "b_enc": b_enc.numpy(),
        "b_dec": b_dec.numpy(), "threshold": threshold.numpy(),
    }


def save_gemmascope(out_dir, params, compressed):
    save_npz(f"{out_dir}/params.npz", params, compressed)


def save_saelens(out_dir, params, hook_name, model_name):
    """Builds a real sae_lens JumpReLUSAE and calls its save_model, so
    cfg.json and sae_weights.safetensors are exactly what sae-lens writes.
    apply_b_dec_to_input=False as sae-lens itself sets for Gemma Scope."""
    from sae_lens import JumpReLUSAE, JumpReLUSAEConfig
    from sae_lens.saes.sae import SAEMetadata

    d_in, d_sae = params["W_enc"].shape
    cfg = JumpReLUSAEConfig(
        d_in=int(d_in), d_sae=int(d_sae), dtype="float32", device="cpu",
        apply_b_dec_to_input=False, normalize_activations="none",
        metadata=SAEMetadata(hook_name=hook_name, hook_head_index=None, model_name=model_name,
                             prepend_bos=True),
    )
    sae = JumpReLUSAE(cfg)
    with torch.no_grad():
        for k, v in params.items():
            getattr(sae, k).copy_(torch.from_numpy(v))
    sae.save_model(out_dir)


def load_saelens(path):
    from sae_lens import SAE

    return SAE.load_from_disk(path, device="cpu").eval()


def encode(sae, x):
    """SAELens encode of x [N, d_in]: (pre, act), both f32 [N, d_sae]. pre is
    what sae-lens passes through its hook_sae_acts_pre hook point (its
    hidden_pre), captured with a forward hook."""
    got = {}
    h = sae.hook_sae_acts_pre.register_forward_hook(lambda _m, _i, out: got.__setitem__("pre", out.detach().clone()))
    try:
        with torch.no_grad():
            act = sae.encode(x)
    finally:
        h.remove()
    return got["pre"].to(torch.float32), act.to(torch.float32)


def min_margin(pre, threshold):
    """Smallest |pre - threshold| over all entries: how close the nearest
    feature is to flipping."""
    return float((pre - torch.as_tensor(threshold)).abs().min())
