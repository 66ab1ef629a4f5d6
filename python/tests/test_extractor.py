"""SAEActivationExtractor as far as it exists without libsaex's pipeline:
the tool's imports, configuration, lifetime, help text. The extraction
methods are not bound yet and must say so (NotImplementedError)."""

from __future__ import annotations

import pydoc

import pytest

import saex
from saex import ExtractionConfig, SAEActivationExtractor, load_samples_from_json, save_results_to_json


def test_construction_checks_the_config():
    ex = SAEActivationExtractor(ExtractionConfig(target_layer=9))
    assert ex.config.hook_name == "blocks.9.hook_resid_post" and "not loaded" in repr(ex)
    assert SAEActivationExtractor().config == ExtractionConfig()
    with pytest.raises(TypeError):
        SAEActivationExtractor({"model_name": "x"})
    c = ExtractionConfig()
    c.top_k_features = 0  # changed after it was checked
    with pytest.raises(saex.ArgumentError, match="top_k_features"):
        SAEActivationExtractor(c)


def test_progress_argument():
    assert isinstance(SAEActivationExtractor(progress=True)._progress, saex.ProgressBar)
    assert SAEActivationExtractor(progress=False)._progress is None
    seen = []
    assert SAEActivationExtractor(progress=seen.append)._progress == seen.append
    with pytest.raises(TypeError):
        SAEActivationExtractor(progress="yes")


def test_cleanup_and_context_manager():
    with SAEActivationExtractor() as ex:
        pass
    with pytest.raises(ValueError, match="cleaned up"):
        ex.extract_activations("p", "r")
    ex.cleanup()  # idempotent
    assert "cleaned up" in repr(ex)


def test_pipeline_methods_say_they_are_not_bound_yet(tmp_path):
    ex = SAEActivationExtractor()
    for call in (ex.load_model_and_sae, lambda: ex.extract_activations("p", "r"), lambda: ex.extract_batch([]),
                 lambda: load_samples_from_json(tmp_path / "in.json"),
                 lambda: save_results_to_json(tmp_path / "in.json", [], tmp_path / "out.json", ex.config)):
        with pytest.raises(NotImplementedError, match="pipeline"):
            call()


def test_help_documents_every_method():
    text = pydoc.render_doc(SAEActivationExtractor, renderer=pydoc.plaintext)
    for name in ("load_model_and_sae", "extract_activations", "extract_batch", "cleanup", "save_all_tokens",
                 "top_k_features", "answer_start_position", "NotImplementedError"):
        assert name in text, name
    for obj in (saex.Tokenizer, saex.SAE, saex.topk, ExtractionConfig, saex.ProgressBar, load_samples_from_json,
                save_results_to_json):
        assert len(pydoc.render_doc(obj, renderer=pydoc.plaintext)) > 500, obj
