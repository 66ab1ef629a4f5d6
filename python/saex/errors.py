"""saex.errors — one exception class per libsaex status.

Every failure in libsaex comes back as a ``saex_status`` and a message (from
``saex_last_error()``) that names the file, field or tensor that is wrong.
The extension raises the class below that belongs to the status, with that
message. All of them derive from :class:`SaexError`, and each also derives
from the built-in exception a Python programmer would reach for, so that
``except FileNotFoundError`` or ``except ValueError`` work as expected.
"""

from __future__ import annotations

__all__ = [
    "SaexError",
    "FileError",
    "FormatError",
    "UnsupportedError",
    "ArgumentError",
    "OutOfMemoryError",
    "BackendError",
    "RangeError",
    "MismatchError",
    "Interrupted",
    "NotFoundError",
    "NetworkError",
    "AuthError",
    "ConflictError",
    "error_class",
]


class SaexError(Exception):
    """Base class of every error libsaex reports.

    ``str(err)`` is libsaex's message; ``err.status`` is the ``saex_status``
    number and ``err.status_name`` its name ("io error", "format error", ...).
    """

    status = 0
    status_name = "error"

    @property
    def message(self) -> str:
        """The message libsaex set (names the file / field / tensor)."""
        return str(self.args[0]) if self.args else ""


class FileError(SaexError, OSError):
    """SAEX_ERR_IO: a file could not be opened, read or written."""

    status, status_name = 1, "io error"


class FormatError(SaexError, ValueError):
    """SAEX_ERR_FORMAT: a file is malformed (JSON, safetensors, npz, tokenizer)."""

    status, status_name = 2, "format error"


class UnsupportedError(SaexError, ValueError):
    """SAEX_ERR_UNSUPPORTED: valid input that saex does not handle (architecture, dtype, tokenizer kind)."""

    status, status_name = 3, "unsupported"


class ArgumentError(SaexError, ValueError):
    """SAEX_ERR_ARG: an argument is out of its range (also raised for bad ExtractionConfig values)."""

    status, status_name = 4, "bad argument"


class OutOfMemoryError(SaexError, MemoryError):
    """SAEX_ERR_NOMEM: an allocation failed."""

    status, status_name = 5, "out of memory"


class BackendError(SaexError, RuntimeError):
    """SAEX_ERR_BACKEND: the compute backend failed (oneDNN, CUDA)."""

    status, status_name = 6, "backend error"


class RangeError(SaexError, ValueError):
    """SAEX_ERR_RANGE: a sequence longer than the model allows, a token id outside the vocabulary."""

    status, status_name = 7, "out of range"


class MismatchError(SaexError, ValueError):
    """SAEX_ERR_MISMATCH: two inputs disagree (SAE width vs model or input, tensor shape vs config)."""

    status, status_name = 8, "mismatch"


class Interrupted(SaexError):
    """SAEX_ERR_INTERRUPTED: a run stopped at the caller's request.

    How this relates to KeyboardInterrupt (Ctrl-C in a notebook during an
    extraction) is settled with the extraction binding; for now it is a
    plain SaexError.
    """

    status, status_name = 9, "interrupted"


class NotFoundError(SaexError, FileNotFoundError):
    """SAEX_ERR_NOT_FOUND: a model, SAE or file is neither local nor (offline, 404) on the Hub."""

    status, status_name = 10, "not found"


class NetworkError(SaexError, ConnectionError):
    """SAEX_ERR_NETWORK: the Hub could not be reached or kept failing after retries."""

    status, status_name = 11, "network error"


class AuthError(SaexError, PermissionError):
    """SAEX_ERR_AUTH: the Hub refused: no token (401) or the license not accepted (403)."""

    status, status_name = 12, "not authorized"


class ConflictError(SaexError, RuntimeError):
    """SAEX_ERR_CONFLICT: a run store holds another run, or another process holds its lock."""

    status, status_name = 13, "conflict"


# Indexed by saex_status; the extension reads this tuple when it is imported.
# Index 0 (SAEX_OK) stands for any status this table does not know.
_BY_STATUS = (
    SaexError,
    FileError,
    FormatError,
    UnsupportedError,
    ArgumentError,
    OutOfMemoryError,
    BackendError,
    RangeError,
    MismatchError,
    Interrupted,
    NotFoundError,
    NetworkError,
    AuthError,
    ConflictError,
)


def error_class(status: int) -> type[SaexError]:
    """The exception class libsaex's ``status`` is raised as (SaexError for an unknown one)."""
    return _BY_STATUS[status] if 0 < status < len(_BY_STATUS) else SaexError
