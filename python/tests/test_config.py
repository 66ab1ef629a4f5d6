"""ExtractionConfig: the tool's names and defaults, and the command line's checks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import saex
from saex import ExtractionConfig


def test_defaults_are_the_tools():
    c = ExtractionConfig()
    assert (c.model_name, c.sae_release, c.sae_id, c.target_layer, c.hook_name, c.top_k_features) == (
        "google/gemma-2-9b-it", "gemma-scope-9b-pt-res-canonical", "layer_20/width_16k/canonical", 20,
        "blocks.20.hook_resid_post", 50)
    assert (c.device, c.precision, c.threads, c.batch_tokens, c.chat_template) == ("auto", "default", 0, 4096, "none")
    assert c.layers is None and c.layer_list == [20] and c.sae_path is None and c.offline is False
    # The tool's field order: positional use keeps working.
    names = [f.name for f in dataclasses.fields(ExtractionConfig)]
    assert names[:7] == ["model_name", "sae_release", "sae_id", "target_layer", "hook_name", "top_k_features", "device"]


def test_the_readme_example_of_the_tool():
    c = ExtractionConfig(model_name="google/gemma-2-9b-it", sae_release="gemma-scope-9b-pt-res-canonical",
                         sae_id="layer_20/width_16k/canonical", target_layer=20,
                         hook_name="blocks.20.hook_resid_post", top_k_features=50)
    assert c == ExtractionConfig()


def test_hook_name_follows_the_target_layer():
    assert ExtractionConfig(target_layer=12).hook_name == "blocks.12.hook_resid_post"
    assert ExtractionConfig(target_layer=12, hook_name="blocks.{L}.hook_resid_post").hook_name == \
        "blocks.12.hook_resid_post"
    with pytest.raises(saex.ArgumentError, match="is for layer 20, but the target layer is 12"):
        ExtractionConfig(target_layer=12, hook_name="blocks.20.hook_resid_post")
    for hook in ("blocks.20.hook_mlp_out", "blocks.20.attn.hook_z", "resid_post", ""):
        with pytest.raises(saex.ArgumentError, match="not supported"):
            ExtractionConfig(hook_name=hook)
    # Changed by assignment: validate() checks again.
    c = ExtractionConfig()
    c.target_layer, c.hook_name = 9, None
    c.validate()
    assert c.hook_name == "blocks.9.hook_resid_post"


def test_layers():
    c = ExtractionConfig(layers=[20, 9, 20, 31], sae_id="layer_{L}/width_16k/canonical")
    assert c.layers == [9, 20, 31] and c.layer_list == [9, 20, 31] and c.target_layer == 9
    assert c.hook_name == "blocks.{L}.hook_resid_post"
    assert ExtractionConfig(layers=[12]).hook_name == "blocks.12.hook_resid_post"
    with pytest.raises(saex.ArgumentError, match="several layers"):
        ExtractionConfig(layers=[9, 20], hook_name="blocks.20.hook_resid_post")
    for bad in ([], [-1], [1001], "12,20", [1.5], list(range(65))):
        with pytest.raises(saex.ArgumentError, match="layers"):
            ExtractionConfig(layers=bad)
    # dataclasses.replace keeps a valid config valid
    assert dataclasses.replace(c, top_k_features=10).layers == [9, 20, 31]


def test_device():
    assert ExtractionConfig(device="cuda").device_kind == "cuda"
    c = ExtractionConfig(device="cuda:1")
    assert (c.device_kind, c.cuda_device) == ("cuda", 1)
    assert ExtractionConfig(device="cpu").device_kind == "cpu"
    for bad in ("gpu", "cpu:1", "cuda:", "CUDA", None, 0):
        with pytest.raises(saex.ArgumentError, match="device"):
            ExtractionConfig(device=bad)


@pytest.mark.parametrize("field,bad", [
    ("top_k_features", 0), ("top_k_features", 2.5), ("top_k_features", True), ("target_layer", -1),
    ("threads", -1), ("batch_tokens", 0), ("precision", "bf16"), ("chat_template", "llama"),
    ("model_name", ""), ("sae_id", None), ("offline", "yes"), ("sae_path", ""), ("revision", 3),
])
def test_bad_values_name_the_field(field, bad):
    with pytest.raises(saex.ArgumentError, match=field):
        ExtractionConfig(**{field: bad})
    assert issubclass(saex.ArgumentError, ValueError)


def test_saex_extras():
    c = ExtractionConfig(precision="f32", threads=4, batch_tokens=512, chat_template=None,
                         sae_path=Path("/x/layer_{L}/params.npz"), offline=True, revision="abc")
    assert c.chat_template == "none" and c.sae_path == "/x/layer_{L}/params.npz" and c.revision == "abc"
