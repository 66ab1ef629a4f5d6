"""saex._handle — what Tokenizer and SAE share as Python objects over a native handle."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T", bound="HandleMixin")


class HandleMixin:
    """Context manager, pickling by path and repr for the native handle types
    (which provide ``path``, ``closed`` and ``close()``)."""

    path: Any
    closed: bool
    close: Any  # the native type's close(): the mixin comes first in the MRO, so it must not define one

    def _describe(self) -> str:
        return ""

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __reduce__(self):
        # Pickling (multiprocessing, copy) opens the same file again.
        return (type(self), (self.path,))

    def __repr__(self) -> str:
        state = "(closed)" if self.closed else self._describe()
        return f"<saex.{type(self).__name__} {self.path!r} {state}>"
