"""saex.SAE and saex.topk against the committed SAELens references
(tests/fixtures/<model>/ref_sae.safetensors: SAELens' hidden_pre and
encode() of the reference residuals)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import saex

from conftest import FIXTURES, read_safetensors

# (model fixture, SAE folder, layer, the layer the SAE itself reports)
SAES = [("tiny_a", "sae_l2", 2, None), ("tiny_a", "sae_l2_saelens", 2, 2),
        ("tiny_b", "sae_l3", 3, None), ("tiny_b", "sae_l3_saelens", 3, 3)]


def _reference(model, layer):
    ref = read_safetensors(FIXTURES / model / "ref.safetensors")
    sae_ref = read_safetensors(FIXTURES / model / "ref_sae.safetensors")
    n = sum(1 for k in sae_ref if k.endswith(".sae_act"))
    assert n >= 7
    return [(ref[f"seq{i}.resid.{layer}"], sae_ref[f"seq{i}.sae_pre"], sae_ref[f"seq{i}.sae_act"]) for i in range(n)]


def _rel(a, b):
    return float(np.linalg.norm(a.astype(np.float64) - b) / np.linalg.norm(b.astype(np.float64)))


@pytest.mark.parametrize("model,folder,layer,own_layer", SAES)
def test_encode_matches_saelens(model, folder, layer, own_layer):
    with saex.SAE(FIXTURES / model / folder) as sae:
        assert sae.layer == own_layer
        refs = _reference(model, layer)
        assert sae.d_in == refs[0][0].shape[1] and sae.d_sae == refs[0][1].shape[1]
        fired = 0
        for x, pre, act in refs:
            got_pre, got_act = sae.encode_with_pre(x)
            assert _rel(got_pre, pre) < 1e-5
            assert np.array_equal(got_act != 0, act != 0), "a different set of active features"
            assert np.allclose(got_act, act, rtol=1e-5, atol=1e-6)
            assert np.array_equal(sae.encode(x), got_act) and np.array_equal(sae.pre_activations(x), got_pre)
            fired += int((act != 0).sum())
        assert fired > 0
        # One row [d_in] -> [d_sae]; float64 input is converted; no rows -> no rows.
        x, _, act = refs[4]
        assert np.array_equal(sae.encode(x[3]), sae.encode(x)[3])
        assert np.allclose(sae.encode(x.astype(np.float64)), act, rtol=1e-5, atol=1e-6)
        assert sae.encode(np.zeros((0, sae.d_in), np.float32)).shape == (0, sae.d_sae)
        assert sae.encode(np.asfortranarray(x)).tobytes() == sae.encode(x).tobytes()


def _numpy_topk(row, k):
    ids = np.flatnonzero(row)
    order = np.lexsort((ids, -row[ids]))  # by activation, descending; ties to the lower id
    return ids[order][:k], row[ids][order][:k], len(ids)


@pytest.mark.parametrize("k", [1, 5, 16, 256])
def test_topk_matches_the_rule_of_the_output(k):
    refs = _reference("tiny_a", 2)
    act = np.concatenate([a for _, _, a in refs])
    act[0, :8] = 0.75  # a tie across ids
    top = saex.topk(act, k)
    assert top.ids.shape == top.values.shape == (len(act), k) and top.n_active.shape == (len(act),)
    assert top.ids.dtype == np.int32 and top.values.dtype == np.float32 and top.n_active.dtype == np.int64
    for r in range(len(act)):
        ids, vals, n = _numpy_topk(act[r], k)
        m = len(ids)
        assert top.n_active[r] == n
        assert np.array_equal(top.ids[r, :m], ids) and np.array_equal(top.values[r, :m], vals)
        assert (top.ids[r, m:] == -1).all() and (top.values[r, m:] == 0).all()
        one = saex.topk(act[r], k)
        assert np.array_equal(one.ids, ids) and np.array_equal(one.values, vals) and one.n_active == n


def test_pickle_reopens_from_the_path():
    sae = saex.SAE(FIXTURES / "tiny_a/sae_l2")
    copy = pickle.loads(pickle.dumps(sae))
    x = np.ones((2, 64), np.float32)
    assert copy is not sae and np.array_equal(copy.encode(x), sae.encode(x))
