"""saex — Gemma Scope SAE features from Gemma-2, in Python, on libsaex.

The drop-in API of the SAELens + TransformerLens extraction tool::

    from saex import (SAEActivationExtractor, ExtractionConfig,
                      load_samples_from_json, save_results_to_json)

and, for work in a notebook, the pieces underneath: :class:`Tokenizer`
(a tokenizer.json, exactly as HF ``tokenizers``), :class:`SAE` (a Gemma
Scope / SAELens JumpReLU SAE) and :func:`topk`. Errors from libsaex are
raised as subclasses of :class:`SaexError` (see :mod:`saex.errors`).

No torch: the model runs in libsaex (CPU, or CUDA when built with it).
"""

from __future__ import annotations

from . import errors
from ._lib import HAVE_CUDA as _HAVE_CUDA
from ._lib import cpu_count, version as _lib_version
from .config import ExtractionConfig
from .errors import *  # noqa: F401,F403 (the exception classes, listed in errors.__all__)
from .extractor import SAEActivationExtractor, load_samples_from_json, save_results_to_json
from .progress import Progress, ProgressBar
from .sae import SAE, TopK, topk
from .tokenizer import Tokenizer

__version__: str = _lib_version()
#: True when this build has the CUDA backend (device="cuda" can work where a GPU is present).
HAVE_CUDA: bool = bool(_HAVE_CUDA)

__all__ = [
    "SAEActivationExtractor",
    "ExtractionConfig",
    "load_samples_from_json",
    "save_results_to_json",
    "Tokenizer",
    "SAE",
    "TopK",
    "topk",
    "Progress",
    "ProgressBar",
    "cpu_count",
    "HAVE_CUDA",
    "errors",
] + errors.__all__
