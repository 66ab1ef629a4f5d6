"""SAEActivationExtractor end to end on the demo model (examples/): the Python
tool's README example gives the bytes `saex extract` writes, single and batch
results agree, residuals equal --dump-residuals, errors name the file, and
Ctrl-C leaves the extractor usable."""

from __future__ import annotations

import json
import os
import pydoc
import subprocess
from pathlib import Path

import numpy as np
import pytest

import saex
from saex import ExtractionConfig, SAEActivationExtractor, load_samples_from_json, save_results_to_json

from conftest import EXAMPLES, ROOT, read_safetensors

SAEX = Path(os.environ.get("SAEX") or ROOT / "build" / "saex")
if not SAEX.is_absolute():
    SAEX = ROOT / SAEX


def demo_config(**kw) -> ExtractionConfig:
    args = dict(model_name=str(EXAMPLES / "model"), sae_path=str(EXAMPLES / "sae"), target_layer=2,
                top_k_features=10, device="cpu")
    args.update(kw)
    return ExtractionConfig(**args)


def cli(*args: str) -> None:
    if not SAEX.is_file():
        pytest.skip(f"no saex binary at {SAEX} (make)")
    subprocess.run([str(SAEX), "extract", "--model", str(EXAMPLES / "model"), "--sae", str(EXAMPLES / "sae"),
                    "--target-layer", "2", "--top-k", "10", "--device", "cpu", *args],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def extractor():
    with SAEActivationExtractor(demo_config(), progress=False) as ex:
        ex.load_model_and_sae()
        yield ex


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
    with SAEActivationExtractor(demo_config()) as ex:
        ex.load_model_and_sae()
        assert "loaded" in repr(ex)
    with pytest.raises(ValueError, match="cleaned up"):
        ex.extract_activations("p", "r")
    ex.cleanup()  # idempotent
    assert "cleaned up" in repr(ex)


@pytest.mark.parametrize("form", ["results", "list", "jsonl"])
@pytest.mark.parametrize("save_all_tokens", [False, True])
def test_readme_example_writes_what_saex_extract_writes(tmp_path, form, save_all_tokens):
    """The Python tool's README code, unchanged but for the import and the demo paths."""
    src = json.loads((EXAMPLES / "input.json").read_text())
    flat = [v for r in src["results"] for v in r["variations"]]
    inp = tmp_path / ("in.jsonl" if form == "jsonl" else "in.json")
    if form == "results":
        inp.write_text(json.dumps(src, ensure_ascii=False, indent=1))
    elif form == "list":
        inp.write_text(json.dumps(flat, ensure_ascii=False))
    else:
        inp.write_text("".join(json.dumps(v, ensure_ascii=False) + "\n" for v in flat))

    config = demo_config()
    extractor = SAEActivationExtractor(config, progress=False)
    extractor.load_model_and_sae()
    result = extractor.extract_activations(prompt="Your question here", response="Model's response here",
                                           save_all_tokens=save_all_tokens)
    assert result["status"] == "success" and result["answer_start_position"] > 0
    samples = load_samples_from_json(str(inp))
    assert len(samples) == len(flat) and samples[0]["prompt"] == flat[0]["prompt"]
    results = extractor.extract_batch(samples, save_all_tokens=save_all_tokens)
    out = tmp_path / ("py.jsonl" if form == "jsonl" else "py.json")
    written = save_results_to_json(original_json_path=str(inp), extraction_results=results,
                                   output_json_path=str(out), config=config)
    extractor.cleanup()
    assert Path(written) == out

    ref = tmp_path / ("cli.jsonl" if form == "jsonl" else "cli.json")
    cli("--input", str(inp), "--output", str(ref), *(["--save-all-tokens"] if save_all_tokens else []))
    assert out.read_bytes() == ref.read_bytes()
    if form != "results":
        assert Path(f"{out}.meta.json").read_bytes() == Path(f"{ref}.meta.json").read_bytes()


def test_single_and_batch_agree(extractor):
    samples = load_samples_from_json(EXAMPLES / "input.json")
    batch = extractor.extract_batch(samples, save_all_tokens=True)
    for s, b in zip(samples[:6], batch):
        one = extractor.extract_activations(s["prompt"], s["response"], save_all_tokens=True)
        assert one == b


def test_lazy_results_are_the_same(tmp_path, extractor):
    samples = load_samples_from_json(EXAMPLES / "input.json")
    eager = extractor.extract_batch(samples, save_all_tokens=True)
    lazy = extractor.extract_batch(samples, save_all_tokens=True, lazy=True)
    assert isinstance(eager, list) and len(lazy) == len(eager)
    assert list(lazy) == list(eager) and lazy[-1] == eager[-1] and lazy[1:3] == eager[1:3]
    save_results_to_json(EXAMPLES / "input.json", eager, tmp_path / "e.json", extractor.config)
    save_results_to_json(EXAMPLES / "input.json", lazy, tmp_path / "l.json", extractor.config)
    assert (tmp_path / "e.json").read_bytes() == (tmp_path / "l.json").read_bytes()
    with pytest.raises(IndexError):
        lazy[len(samples)]


def test_results_outlive_cleanup(tmp_path):
    ex = SAEActivationExtractor(demo_config(), progress=False)
    samples = load_samples_from_json(EXAMPLES / "input.json")
    results = ex.extract_batch(samples, save_all_tokens=True)
    ex.cleanup()  # the model and tokenizer are freed; the results keep their token pieces
    save_results_to_json(EXAMPLES / "input.json", results, tmp_path / "out.json", ex.config)
    cli("--input", str(EXAMPLES / "input.json"), "--output", str(tmp_path / "cli.json"), "--save-all-tokens")
    assert (tmp_path / "out.json").read_bytes() == (tmp_path / "cli.json").read_bytes()


def test_residuals_equal_dump_residuals(tmp_path, extractor):
    prompt, response = "Is the sky blue?", " Yes, it is."
    (tmp_path / "one.json").write_text(json.dumps([{"prompt": prompt, "response": response}]))
    cli("--input", str(tmp_path / "one.json"), "--output", str(tmp_path / "o.json"), "--save-all-tokens",
        "--dump-residuals", str(tmp_path / "r.safetensors"))
    dump = read_safetensors(tmp_path / "r.safetensors")
    rows = extractor.residuals(prompt, response)
    assert rows.dtype == np.float32 and rows.shape == dump["blocks.2.hook_resid_post"].shape
    assert np.array_equal(rows, dump["blocks.2.hook_resid_post"])
    last = extractor.residuals(prompt, response, save_all_tokens=False)
    toks = extractor.tokens(prompt, response)
    start = extractor.extract_activations(prompt, response)["answer_start_position"]
    assert last.shape == (1, rows.shape[1]) and np.array_equal(last[0], rows[start - 1])
    assert [t["position"] for t in toks] == list(dump["position"]) and toks[0]["token"] == "<bos>"
    assert extractor.sae_info()["neuronpedia"] is None and extractor.sae_info()["d_sae"] > 0
    with pytest.raises(ValueError, match="layers"):
        extractor.residuals(prompt, response, layer=5)


def test_failed_sample_is_a_result_not_an_error(extractor):
    res = extractor.extract_batch([{"prompt": "", "response": "x"}, {"prompt": "Hi", "response": "there"}])
    assert res[0]["status"] == "error" and res[0]["reason"] and res[1]["status"] == "success"


def test_bad_input_raises_naming_the_file(tmp_path, extractor):
    bad = tmp_path / "bad.json"
    bad.write_text('{"results": [')
    with pytest.raises(saex.FormatError, match="bad.json"):
        load_samples_from_json(bad)
    with pytest.raises(saex.FileError, match="missing.json"):
        load_samples_from_json(tmp_path / "missing.json")
    with pytest.raises(saex.MismatchError, match="trained on layer 20"):
        SAEActivationExtractor(ExtractionConfig(model_name=str(EXAMPLES / "model"), target_layer=1,
                                                offline=True)).load_model_and_sae()
    with pytest.raises(saex.NotFoundError, match="nowhere"):
        SAEActivationExtractor(demo_config(model_name=str(tmp_path / "nowhere"), offline=True)).load_model_and_sae()
    results = extractor.extract_batch([{"prompt": "a", "response": "b"}])
    with pytest.raises(ValueError, match="variations"):
        save_results_to_json(EXAMPLES / "input.json", results, tmp_path / "o.json", extractor.config)
    with pytest.raises(TypeError):
        save_results_to_json(EXAMPLES / "input.json", [{}], tmp_path / "o.json", extractor.config)
    assert not (tmp_path / "o.json").exists()


def test_keyboard_interrupt_between_batches_leaves_it_usable(extractor):
    samples = load_samples_from_json(EXAMPLES / "input.json") * 20
    seen = []

    def stop_after_first(p: saex.Progress) -> None:
        seen.append(p)
        if p.what == "extract" and p.done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extractor.extract_batch(samples, progress=stop_after_first)
    assert seen and seen[-1].done < len(samples)
    again = extractor.extract_batch(samples[:3])
    assert [r["status"] for r in again] == ["success"] * 3


def test_help_documents_every_method():
    text = pydoc.render_doc(SAEActivationExtractor, renderer=pydoc.plaintext)
    for name in ("load_model_and_sae", "extract_activations", "extract_batch", "cleanup", "save_all_tokens",
                 "top_k_features", "answer_start_position", "residuals", "tokens", "sae_info"):
        assert name in text, name
    for obj in (saex.Tokenizer, saex.SAE, saex.topk, ExtractionConfig, saex.ProgressBar, load_samples_from_json,
                save_results_to_json):
        assert len(pydoc.render_doc(obj, renderer=pydoc.plaintext)) > 500, obj


def test_sigint_stops_a_long_batch_and_the_gil_is_free(extractor):
    """A real Ctrl-C (SIGINT) during extract_batch: KeyboardInterrupt after the
    batch in flight; meanwhile another thread ran (the GIL was released)."""
    import signal
    import threading
    import time

    samples = load_samples_from_json(EXAMPLES / "input.json") * 2000
    ticks = [0]
    stop, started = threading.Event(), threading.Event()

    def count() -> None:
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    def interrupt() -> None:  # Ctrl-C once the batches run (a SIGINT from another thread, as a terminal sends)
        if started.wait(60):
            os.kill(os.getpid(), signal.SIGINT)

    def progress(p: saex.Progress) -> None:
        if p.what == "extract" and p.done > 0:
            started.set()

    # Python turns SIGINT into KeyboardInterrupt unless it started with SIGINT
    # ignored (a background job of a non-interactive shell, as CI may run it).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    t0 = time.monotonic()
    threads = [threading.Thread(target=count), threading.Thread(target=interrupt)]
    for t in threads:
        t.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            extractor.extract_batch(samples, progress=progress)
    finally:
        stop.set()
        started.set()
        for t in threads:
            t.join()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - t0 < 30
    assert ticks[0] > 20, ticks[0]
    assert extractor.extract_activations("Hi", "there")["status"] == "success"
