"""saex.SAE and saex.topk — a JumpReLU SAE (Gemma Scope / SAELens) on the host.

``SAE.encode`` is libsaex's reference encoder (``saex_sae_encode``): the
same numbers the extraction uses, computed on the CPU with the GIL
released. ``topk`` is the top-k rule of saex's output (``saex_topk_row``).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Tuple

import numpy as np

from . import _lib
from ._handle import HandleMixin
from .errors import ArgumentError, MismatchError


class SAE(HandleMixin, _lib.SAE):
    """A JumpReLU sparse autoencoder, as Gemma Scope and SAELens store them.

    ``SAE(path)``: a Gemma Scope ``params.npz``, a folder holding one, or a
    SAELens folder (``cfg.json`` + ``sae_weights.safetensors``). Raises
    :class:`saex.FileError` when it cannot be read and
    :class:`saex.FormatError` / :class:`saex.MismatchError` when its arrays
    are malformed or disagree; the message names the file and the array.

    Encoding is ``pre = x @ W_enc + b_enc`` and ``act = pre`` where
    ``pre > threshold`` (and > 0), else 0: SAELens' JumpReLU with
    ``apply_b_dec_to_input=False``, as for Gemma Scope.

    Frees its memory on :meth:`close`, at the end of a ``with`` block, or
    when garbage-collected. Pickling reopens it from its path.

    Example::

        sae = saex.SAE("layer_20/width_16k/average_l0_68/params.npz")
        act = sae.encode(resid)            # resid: float32 [n, 3584] -> [n, 16384]
        top = saex.topk(act, 50)           # ids / values [n, 50], n_active [n]
    """

    # d_in, d_sae, layer, path, closed and close() come from the native type (see saex/_lib.pyi).

    def encode(self, x: Any) -> np.ndarray:
        """Dense JumpReLU activations of ``x``: float32 ``[n, d_sae]`` for ``x``
        ``[n, d_in]``, ``[d_sae]`` for ``x`` ``[d_in]``.

        ``x`` is any real array-like (converted to float32). A last dimension
        other than ``d_in`` raises :class:`saex.MismatchError`.
        """
        return self._run(x, pre=False, act=True)[1]

    def pre_activations(self, x: Any) -> np.ndarray:
        """``x @ W_enc + b_enc`` (before the threshold), same shapes as :meth:`encode`."""
        return self._run(x, pre=True, act=False)[0]

    def encode_with_pre(self, x: Any) -> Tuple[np.ndarray, np.ndarray]:
        """``(pre_activations(x), encode(x))`` in one pass."""
        pre, act = self._run(x, pre=True, act=True)
        return pre, act

    def _run(self, x: Any, pre: bool, act: bool) -> Tuple[Optional[np.ndarray], Optional[np.ndarray]]:
        d_in, d_sae = self.d_in, self.d_sae
        rows = _as_rows(x, "SAE.encode: x")
        if rows.shape[-1] != d_in:
            raise MismatchError(f"SAE.encode: x has {rows.shape[-1]} columns, but the SAE {self.path!r} "
                                f"has d_in {d_in}")
        shape = rows.shape[:-1] + (d_sae,)
        out_pre = np.empty(shape, dtype=np.float32) if pre else None
        out_act = np.empty(shape, dtype=np.float32) if act else None
        self._encode(rows, out_pre, out_act)
        return out_pre, out_act

    def _describe(self) -> str:
        return f"d_in={self.d_in} d_sae={self.d_sae} layer={self.layer}"


def _as_rows(x: Any, what: str) -> np.ndarray:
    """x as a C-contiguous float32 array of 1 or 2 dimensions."""
    a = np.asarray(x)
    if a.dtype.kind not in "fiu":
        raise ArgumentError(f"{what}: expected real numbers, got dtype {a.dtype}")
    if a.ndim not in (1, 2):
        raise ArgumentError(f"{what}: expected shape [d] or [n, d], got {list(a.shape)}")
    return np.ascontiguousarray(a, dtype=np.float32)


class TopK(NamedTuple):
    """The result of :func:`topk`."""

    ids: np.ndarray
    """int32 feature ids, largest activation first (ties: lower id first)."""
    values: np.ndarray
    """float32 activations of those features."""
    n_active: Any
    """How many features are non-zero (int for one row, int64 array for several)."""


def topk(act: Any, k: int) -> TopK:
    """The top-``k`` features of SAE activations, as saex writes them.

    Largest first, ties to the lower id, only non-zero activations.

    - ``act`` ``[d_sae]``: ``ids`` / ``values`` hold the ``min(k, n_active)``
      features, ``n_active`` is an int.
    - ``act`` ``[n, d_sae]``: ``ids`` ``[n, k]`` int32 padded with -1,
      ``values`` ``[n, k]`` float32 padded with 0, ``n_active`` int64 ``[n]``
      (the layout of the extraction's own top-k).

    ``k`` must be in 1 .. d_sae (:class:`saex.ArgumentError` otherwise).
    """
    a = _as_rows(act, "topk: act")
    d_sae = a.shape[-1]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ArgumentError(f"topk: k must be an int, not {type(k).__name__}")
    if not 1 <= k <= d_sae:
        raise ArgumentError(f"topk: k = {k} must be in 1..{d_sae} (the number of features)")
    k = int(k)
    rows = a.reshape(-1, d_sae)
    ids = np.empty((rows.shape[0], k), dtype=np.int32)
    values = np.empty((rows.shape[0], k), dtype=np.float32)
    n_active = np.empty(rows.shape[0], dtype=np.int64)
    _lib._topk(rows, d_sae, k, ids, values, n_active)
    if a.ndim == 1:
        m = min(k, int(n_active[0]))
        return TopK(ids[0, :m].copy(), values[0, :m].copy(), int(n_active[0]))
    return TopK(ids, values, n_active)
