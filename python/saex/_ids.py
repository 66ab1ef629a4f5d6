"""saex._ids — token ids from Python to the int32 buffers libsaex reads."""

from __future__ import annotations

from typing import Iterable, Union

import numpy as np

from .errors import ArgumentError, RangeError

#: What the id arguments accept: a list / tuple of int, or a 1-D integer numpy array.
IdsLike = Union[Iterable[int], np.ndarray]

_I32 = np.iinfo(np.int32)


def as_ids(ids: IdsLike, what: str) -> np.ndarray:
    """ids as a C-contiguous 1-D int32 array; ArgumentError for anything that
    is not a sequence of integers, RangeError (naming the index) for a value
    int32 cannot hold."""
    if isinstance(ids, (str, bytes)):
        raise ArgumentError(f"{what}: ids must be a sequence of int, not {type(ids).__name__}")
    try:
        a = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids))
    except (TypeError, ValueError, OverflowError) as e:
        raise ArgumentError(f"{what}: ids must be a sequence of int ({e})") from None
    if a.size == 0:
        return np.zeros(0, dtype=np.int32)
    if a.ndim != 1 or a.dtype.kind not in "iu":
        got = f"a {a.ndim}-D array" if a.ndim != 1 else f"values of dtype {a.dtype}"
        raise ArgumentError(f"{what}: ids must be a 1-D sequence of int, got {got}")
    if a.dtype != np.int32:
        bad = np.flatnonzero((a < _I32.min) | (a > _I32.max))
        if bad.size:
            i = int(bad[0])
            raise RangeError(f"{what}: ids[{i}] = {int(a[i])} is outside the int32 range of token ids")
    return np.ascontiguousarray(a, dtype=np.int32)
