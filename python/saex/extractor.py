"""saex.SAEActivationExtractor — the drop-in API of the SAELens + TransformerLens tool.

    from saex import (SAEActivationExtractor, ExtractionConfig,
                      load_samples_from_json, save_results_to_json)

The extraction itself is libsaex's pipeline (``saex_extractor_*``,
``saex_extract``, ``saex_results_*``, ``saex_doc_*``, ``saex_write_output``
in include/saex.h), the same code ``saex extract`` runs. This module is the
Python face of it: configuration, lifetime (``cleanup()``, ``with``),
progress and errors.

Results live in libsaex (``saex._lib.Results``): :meth:`extract_batch`
returns them as a list of dicts that also carries the native results, so
that :func:`save_results_to_json` writes the bytes ``saex extract`` writes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np

from . import _lib
from .config import ExtractionConfig
from .progress import Progress, ProgressBar

__all__ = ["SAEActivationExtractor", "ExtractionResults", "LazyResults", "load_samples_from_json",
           "save_results_to_json"]

#: Result of one sample: what the output JSON holds for it under ``sae_activations["layer_L"]``.
SampleResult = Dict[str, Any]
ProgressArg = Union[bool, Callable[[Progress], None], None]


class ExtractionResults(List[SampleResult]):
    """What :meth:`SAEActivationExtractor.extract_batch` returns: a list with
    one result per sample, in order (see :meth:`extract_activations`), that
    also holds libsaex's results, from which :func:`save_results_to_json`
    writes the output. The results stay valid after ``cleanup()``."""

    def __init__(self, items: List[SampleResult], native: Any, layers: List[int]) -> None:
        super().__init__(items)
        self._native = native
        self.layers: List[int] = layers


class LazyResults(Sequence):  # type: ignore[type-arg]
    """``extract_batch(..., lazy=True)``: the results of a batch, each turned
    into its dict (as in the list ``extract_batch`` returns) when read, and
    not kept. ``list(results)`` makes the list; :func:`save_results_to_json`
    writes them directly."""

    def __init__(self, native: Any, layers: List[int], n: int) -> None:
        self._native = native
        self.layers: List[int] = layers
        self._n = n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"result {i} of {self._n}")
        per_layer = {f"layer_{L}": json.loads(self._native.sample_json(i, li)) for li, L in enumerate(self.layers)}
        return per_layer[f"layer_{self.layers[0]}"] if len(self.layers) == 1 else per_layer

    def __repr__(self) -> str:
        return f"<saex.LazyResults: {self._n} samples, layers {self.layers}>"


def _native_progress(cb: Optional[Callable[[Progress], None]]) -> Any:
    """libsaex's progress reports -> Progress objects for cb (None: no reports)."""
    if cb is None:
        return None

    def report(what: str, item: Optional[str], done: int, total: int, done_tokens: int, total_tokens: int,
               finished: int) -> None:
        cb(Progress(what, done, total, done_tokens, total_tokens, item, bool(finished)))
    return report


def _progress_callback(progress: ProgressArg) -> Optional[Callable[[Progress], None]]:
    """progress=True: a ProgressBar on stderr; False / None: none; a callable: itself."""
    if progress is True:
        return ProgressBar()
    if progress is False or progress is None:
        return None
    if callable(progress):
        return progress
    raise TypeError(f"progress: expected True, False or a callable, not {type(progress).__name__}")


class SAEActivationExtractor:
    """Extracts the top-k SAE features of prompt + response texts (teacher forcing).

    For each sample, the prompt and the response are tokenized (prompt with
    BOS, response without), run through Gemma-2 in one forward pass up to
    block ``config.target_layer``, and the residual stream after that block
    (``blocks.L.hook_resid_post``) is encoded by the Gemma Scope JumpReLU
    SAE. The result holds the top ``config.top_k_features`` features at the
    last prompt token, or at every token with ``save_all_tokens=True``.

    Same use as the tool it replaces::

        config = ExtractionConfig(model_name="google/gemma-2-9b-it",
                                  sae_release="gemma-scope-9b-pt-res-canonical",
                                  sae_id="layer_20/width_16k/canonical", target_layer=20,
                                  top_k_features=50)
        extractor = SAEActivationExtractor(config)
        extractor.load_model_and_sae()
        result = extractor.extract_activations(prompt="...", response="...")
        samples = load_samples_from_json("input.json")
        results = extractor.extract_batch(samples)
        save_results_to_json(original_json_path="input.json", extraction_results=results,
                             output_json_path="output.json", config=config)
        extractor.cleanup()

    or, freeing everything at the end of the block::

        with SAEActivationExtractor(config) as extractor:
            ...

    Memory: only the embedding and blocks 0..L of the model are read; the
    model, tokenizer and SAEs are freed by :meth:`cleanup` (also at the end
    of a ``with`` block and when the extractor is garbage-collected).

    Errors are :class:`saex.SaexError` subclasses whose message names the
    file or field: :class:`saex.NotFoundError` for a model or SAE that is
    neither local nor downloadable, :class:`saex.MismatchError` for an SAE
    of another layer or width, :class:`saex.ArgumentError` for a bad config.
    A sample that cannot be processed (empty prompt, too long) is not an
    error: its result has ``"status": "error"`` and a ``"reason"``.

    Beyond the Python tool: :meth:`residuals` (the residual stream as a
    numpy array) and :meth:`tokens` (the token of each position).
    """

    def __init__(self, config: Optional[ExtractionConfig] = None, *, progress: ProgressArg = True) -> None:
        """Checks ``config`` (default: ``ExtractionConfig()``); loads nothing yet.

        ``progress``: True (default) draws a progress bar on stderr during
        long calls (:meth:`extract_batch`, downloads); False draws none; a
        callable receives every :class:`saex.Progress` report instead.
        """
        if config is None:
            config = ExtractionConfig()
        if not isinstance(config, ExtractionConfig):
            raise TypeError(f"config: expected saex.ExtractionConfig, not {type(config).__name__}")
        config.validate()
        self.config: ExtractionConfig = config
        self._progress = _progress_callback(progress)
        self._native: Any = None  # the saex_extractor handle, once bound
        self._closed = False

    # ------------------------------------------------------------ loading

    def load_model_and_sae(self) -> None:
        """Resolves and loads the tokenizer, the SAE of each layer and the model.

        ``config.model_name`` is a model folder or a Hugging Face id (looked
        up in the local HF cache, downloaded when missing unless
        ``config.offline``); the SAE comes from ``config.sae_path``, or from
        ``config.sae_release`` + ``config.sae_id`` through saex's table of
        Gemma Scope releases. Checks that each SAE is for its layer and that
        ``top_k_features`` does not exceed its width, then loads blocks
        0..L of the model on ``config.device``.

        Calling it is optional: the first extraction loads what is missing.
        """
        self._open_native().load_model()

    def _open_native(self) -> Any:
        """The native extractor (tokenizer + SAEs), opened on first use."""
        self._check_open()
        if self._native is None:
            c = self.config
            c.validate()
            self._native = _lib.Extractor(
                c.model_name, c.revision, None if c.sae_path else c.sae_release,
                None if c.sae_path else c.sae_id, c.sae_path, c.layer_list, c.device_kind, c.cuda_device,
                c.precision, c.threads, c.offline, _native_progress(self._progress), c.batch_tokens)
        return self._native

    # --------------------------------------------------------- extraction

    def extract_activations(self, prompt: str, response: str, save_all_tokens: bool = False) -> SampleResult:
        """The SAE features of one prompt + response.

        Returns the dict the output JSON holds for this sample under
        ``sae_activations["layer_L"]``::

            {"activations": {"last_token": {"top_k_features": [{"id": 1234, "activation": 5.67}, ...],
                                            "num_active_features": 71}},
             "answer_start_position": 12,   # number of prompt tokens
             "total_tokens": 40,
             "status": "success"}

        With ``save_all_tokens=True``, ``activations`` holds ``token_0`` ...
        ``token_{N-1}`` instead of ``last_token``, each with its ``"token"``
        piece. Features are largest first, ties to the lower id, only
        non-zero ones. A sample that cannot be processed gives
        ``{"status": "error", "reason": ...}``. With several layers
        (``config.layers``), the result is ``{"layer_L": ..., ...}``.
        """
        return self.extract_batch([{"prompt": prompt, "response": response}], save_all_tokens,
                                  progress=False)[0]

    def extract_batch(self, samples: Sequence[Dict[str, Any]], save_all_tokens: bool = False, *,
                      progress: ProgressArg = None, lazy: bool = False) -> Sequence[SampleResult]:
        """The SAE features of many samples, in packed batches of
        ``config.batch_tokens`` tokens.

        ``samples``: as :func:`load_samples_from_json` returns them (dicts
        with ``prompt`` and ``response``, optionally ``prompt_token_ids`` /
        ``response_token_ids``). Returns one result per sample, in order,
        each as :meth:`extract_activations` returns it; failed samples have
        ``"status": "error"`` and do not stop the batch. ``progress``
        overrides the extractor's setting for this call. Ctrl-C stops after
        the current batch (KeyboardInterrupt; the extractor stays usable).

        ``lazy=True`` returns a :class:`LazyResults` instead of a list: each
        result becomes a dict only when it is read. With ``save_all_tokens``
        on many samples, most of the time of a list goes into making
        millions of small dicts; a lazy result that goes straight to
        :func:`save_results_to_json` costs none of it.
        """
        native, results = self._run(samples, save_all_tokens, progress, keep_residuals=False)
        layers = self.config.layer_list
        n = len(samples)
        if lazy:
            return LazyResults(results, layers, n)
        per_layer = [json.loads(results.samples_json(0, n, li)) for li in range(len(layers))]
        if len(layers) == 1:
            return ExtractionResults(per_layer[0], results, layers)
        return ExtractionResults([{f"layer_{L}": per_layer[li][i] for li, L in enumerate(layers)} for i in range(n)],
                                 results, layers)

    def residuals(self, prompt: str, response: str, save_all_tokens: bool = True,
                  layer: Optional[int] = None) -> np.ndarray:
        """The residual stream after block ``layer`` (``blocks.L.hook_resid_post``),
        float32 ``[positions, d_model]``: every position of prompt + response,
        or with ``save_all_tokens=False`` only the last prompt token (one
        row). For probes and steering vectors; the rows equal those of
        ``saex extract --dump-residuals``. ``layer``: one of the config's
        layers (default: the first). Raises ValueError for a sample that
        cannot be processed (its reason)."""
        rows, _, _ = self._residual_sample(prompt, response, save_all_tokens, layer)
        return rows

    def sae_info(self, layer: Optional[int] = None) -> Dict[str, Any]:
        """Where the SAE of ``layer`` (default: the first) came from:
        ``{"neuronpedia": "gemma-2-9b/20-gemmascope-res-16k" or None,
        "sae_path", "model_dir", "d_sae", "d_in"}``. With ``neuronpedia``, a
        feature's page is ``https://www.neuronpedia.org/{neuronpedia}/{id}``."""
        layers = self.config.layer_list
        L = layers[0] if layer is None else layer
        if L not in layers:
            raise ValueError(f"layer {layer}: this extractor captures layers {layers}")
        return self._open_native().info(layers.index(L))

    def tokens(self, prompt: str, response: str) -> List[Dict[str, Any]]:
        """The positions of prompt + response as the model sees them:
        ``[{"position": 0, "id": 2, "token": "<bos>"}, ...]``; positions
        from ``answer_start_position`` on are the response."""
        native = self.extract_batch([{"prompt": prompt, "response": response}], True, progress=False)._native
        layer = json.loads(native.sample_json(0, 0))
        if layer.get("status") != "success":
            raise ValueError(f"this sample cannot be processed: {layer.get('reason')}")
        _, positions, ids, _, _ = native.sample(0, 0)
        acts = layer["activations"]
        return [{"position": p, "id": t, "token": acts[f"token_{p}"].get("token")} for p, t in zip(positions, ids)]

    def _residual_sample(self, prompt: str, response: str, save_all_tokens: bool,
                         layer: Optional[int]) -> "tuple[np.ndarray, List[int], List[int]]":
        layers = self.config.layer_list
        li = 0 if layer is None else layers.index(layer) if layer in layers else -1
        if li < 0:
            raise ValueError(f"layer {layer}: this extractor captures layers {layers}")
        _, results = self._run([{"prompt": prompt, "response": response}], save_all_tokens, False,
                               keep_residuals=True)
        status, positions, ids, resid, d_model = results.sample(0, li)
        if status != 0:
            reason = json.loads(results.sample_json(0, li)).get("reason")
            raise ValueError(f"this sample cannot be processed: {reason}")
        rows = np.frombuffer(resid, dtype=np.float32).reshape(len(positions), d_model).copy()
        return rows, positions, ids

    def _run(self, samples: Sequence[Dict[str, Any]], save_all_tokens: bool, progress: ProgressArg,
             keep_residuals: bool) -> "tuple[Any, Any]":
        """One saex_extract over samples (a list-form document): (extractor, results)."""
        native = self._open_native()
        if isinstance(samples, (str, bytes, dict)):
            raise TypeError("samples: expected a list of dicts (load_samples_from_json returns one)")
        data = json.dumps(list(samples), ensure_ascii=False, allow_nan=True).encode("utf-8", "surrogatepass")
        doc = _lib.Doc.parse("<samples>", data)
        results = _lib.Results()
        cb = self._progress if progress is None else _progress_callback(progress)
        if len(samples) < 2:
            cb = None
        c = self.config
        try:
            _lib.extract(native, doc, results, c.top_k_features, bool(save_all_tokens), False,
                         c.chat_template == "gemma", False, c.batch_tokens, 0, keep_residuals, _native_progress(cb))
        finally:
            doc.close()
        return native, results

    # ----------------------------------------------------------- lifetime

    def cleanup(self) -> None:
        """Frees the model, the SAEs and the tokenizer (idempotent).

        The extractor cannot be used afterwards (ValueError).
        """
        native, self._native = self._native, None
        if native is not None:
            native.close()
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("this SAEActivationExtractor was cleaned up")

    def __enter__(self) -> "SAEActivationExtractor":
        self._check_open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()

    def __del__(self) -> None:
        # __init__ may have failed before _native was set.
        if getattr(self, "_native", None) is not None:
            self.cleanup()

    def __repr__(self) -> str:
        state = "cleaned up" if self._closed else "not loaded" if self._native is None else "loaded"
        return f"<saex.SAEActivationExtractor {self.config.model_name!r} layers={self.config.layer_list} ({state})>"


def load_samples_from_json(path: Union[str, "os.PathLike[str]"]) -> List[Dict[str, Any]]:
    """The samples of an input file, in document order.

    Reads the three forms ``saex extract`` reads: ``{"results": [{...,
    "variations": [{prompt, response, ...}]}]}``, a JSON list of
    ``{prompt, response, ...}``, or JSON Lines. Each sample is the
    variation's dict (a variation without ``prompt`` takes its result's).
    NaN / Infinity and a UTF-8 byte order mark are accepted. A malformed
    file raises :class:`saex.FormatError` with ``file:line:column``.
    """
    doc = _lib.Doc(path)
    try:
        return [json.loads(doc.sample_json(i)) for i in range(doc.n_samples())]
    finally:
        doc.close()


def save_results_to_json(original_json_path: Union[str, "os.PathLike[str]"],
                         extraction_results: Sequence[SampleResult],
                         output_json_path: Union[str, "os.PathLike[str]"],
                         config: ExtractionConfig) -> str:
    """Writes the input document with the results merged in.

    Each processed variation of ``original_json_path`` gets
    ``sae_activations["layer_L"]`` (merged into an existing
    ``sae_activations``), the document gets ``sae_extraction_metadata``
    (list / JSON Lines inputs: ``<output>.meta.json``); every other field is
    kept as it was, numbers exactly. The file is written to a temporary
    name, synced and renamed: complete or absent; the input is never
    modified. Returns the path written. The bytes are those ``saex extract``
    writes for the same input and options.

    ``extraction_results`` must be what :meth:`SAEActivationExtractor.extract_batch`
    returned for the samples of ``original_json_path`` (one per variation,
    in order).
    """
    native = getattr(extraction_results, "_native", None)
    if native is None:
        raise TypeError("extraction_results: expected what SAEActivationExtractor.extract_batch returned")
    doc = _lib.Doc(original_json_path)
    try:
        if doc.n_samples() != len(extraction_results):
            raise ValueError(f"{os.fspath(original_json_path)} has {doc.n_samples()} variations, "
                             f"extraction_results {len(extraction_results)}: extract all the samples "
                             "load_samples_from_json returns")
        if list(config.layer_list) != list(extraction_results.layers):
            raise ValueError(f"config has layers {config.layer_list}, the results {extraction_results.layers}")
        return _lib.write_output(doc, native, output_json_path, False)
    finally:
        doc.close()
