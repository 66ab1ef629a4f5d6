"""saex.SAEActivationExtractor — the drop-in API of the SAELens + TransformerLens tool.

    from saex import (SAEActivationExtractor, ExtractionConfig,
                      load_samples_from_json, save_results_to_json)

The extraction itself is libsaex's pipeline (``saex_extractor_*``,
``saex_extract``, ``saex_results_*``, ``saex_doc_*``, ``saex_write_output``
in include/saex.h), the same code ``saex extract`` runs. This module is the
Python face of it: configuration, lifetime (``cleanup()``, ``with``),
progress and errors.

STATUS: the pipeline is not bound yet. The methods that need it raise
NotImplementedError (see ``_PENDING``); their docstrings say what they will
do. Configuration, lifetime and the context manager work now.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from .config import ExtractionConfig
from .progress import Progress, ProgressBar

__all__ = ["SAEActivationExtractor", "load_samples_from_json", "save_results_to_json"]

#: Result of one sample: what the output JSON holds for it under ``sae_activations["layer_L"]``.
SampleResult = Dict[str, Any]
ProgressArg = Union[bool, Callable[[Progress], None], None]

_PENDING = ("needs libsaex's extraction pipeline (saex_extractor_open / saex_extract), which this "
            "version of the saex package does not bind yet; Tokenizer, SAE and topk work now")


def _pending(what: str) -> NotImplementedError:
    return NotImplementedError(f"{what} {_PENDING}")


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

    Status: the extraction methods (:meth:`load_model_and_sae`,
    :meth:`extract_activations`, :meth:`extract_batch`) are not bound to
    libsaex yet and raise NotImplementedError.
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
        Not available yet: raises NotImplementedError.
        """
        self._check_open()
        raise _pending("SAEActivationExtractor.load_model_and_sae")

    # --------------------------------------------------------- extraction

    def extract_activations(self, prompt: str, response: str, save_all_tokens: bool = False) -> SampleResult:
        """The SAE features of one prompt + response.

        Returns the dict the output JSON holds for this sample under
        ``sae_activations["layer_L"]``::

            {"activations": {"last_token": {"top_k_features": [{"id": 1234, "activation": 5.67}, ...],
                                            "num_active_features": 71}},
             "answer_start_position": 12,   # number of prompt tokens
             "total_tokens": 40,
             "status": "ok"}

        With ``save_all_tokens=True``, ``activations`` holds ``token_0`` ...
        ``token_{N-1}`` instead of ``last_token``, each with its ``"token"``
        piece. Features are largest first, ties to the lower id, only
        non-zero ones. A sample that cannot be processed gives
        ``{"status": "error", "reason": ...}``.

        Not available yet: raises NotImplementedError.
        """
        self._check_open()
        raise _pending("SAEActivationExtractor.extract_activations")

    def extract_batch(self, samples: Sequence[Dict[str, Any]], save_all_tokens: bool = False, *,
                      progress: ProgressArg = None) -> List[SampleResult]:
        """The SAE features of many samples, in packed batches of
        ``config.batch_tokens`` tokens.

        ``samples``: as :func:`load_samples_from_json` returns them (dicts
        with ``prompt`` and ``response``, optionally ``prompt_token_ids`` /
        ``response_token_ids``). Returns one result per sample, in order,
        each as :meth:`extract_activations` returns it; failed samples have
        ``"status": "error"`` and do not stop the batch. ``progress``
        overrides the extractor's setting for this call. Ctrl-C stops after
        the current batch.

        Not available yet: raises NotImplementedError.
        """
        self._check_open()
        raise _pending("SAEActivationExtractor.extract_batch")

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

    Not available yet: raises NotImplementedError.
    """
    raise _pending("load_samples_from_json")


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
    modified. Returns the path written.

    Not available yet: raises NotImplementedError.
    """
    raise _pending("save_results_to_json")
