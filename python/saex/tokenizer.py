"""saex.Tokenizer — a Hugging Face tokenizer.json, encoded and decoded by libsaex.

The ids are exactly those of HF ``tokenizers`` (checked against it on the
real Gemma-2 tokenizer by the project's tests). The GIL is released while a
tokenizer loads, encodes and decodes, so threads can tokenize in parallel.
"""

from __future__ import annotations

from typing import List, Optional, Union

from . import _lib
from ._handle import HandleMixin
from ._ids import IdsLike, as_ids


class Tokenizer(HandleMixin, _lib.Tokenizer):
    """A tokenizer.json (Gemma / Gemma-2 BPE with byte fallback, and the like).

    ``Tokenizer(path)``: ``path`` is a tokenizer.json or a folder that holds
    one (a model folder). Raises :class:`saex.FileError` when it cannot be
    read, :class:`saex.FormatError` when it is malformed and
    :class:`saex.UnsupportedError` for a kind of tokenizer saex does not
    implement; the message names the file.

    Frees its memory on :meth:`close`, at the end of a ``with`` block, or
    when garbage-collected. Pickling reopens it from its path.

    Example::

        tok = saex.Tokenizer("path/to/gemma-2-9b-it")    # the model folder
        ids = tok.encode("The capital of France is")   # [2, 651, 6037, ...]
        tok.pieces(ids)                                 # ['<bos>', 'The', '▁capital', ...]
        tok.decode(ids, skip_special=True)              # 'The capital of France is'
    """

    def encode(self, text: Union[str, bytes], add_bos: bool = True) -> List[int]:
        """Token ids of ``text`` as HF ``tokenizer(text)["input_ids"]`` gives them.

        ``add_bos``: apply the post-processor (BOS for Gemma), like HF's
        ``add_special_tokens=True``; ``False`` gives the bare ids. ``text`` is
        a str, or bytes holding UTF-8 (NUL bytes allowed). Invalid UTF-8 raises
        :class:`saex.ArgumentError` naming the byte offset.
        """
        return self._encode(text, add_bos)

    def decode(self, ids: IdsLike, skip_special: bool = False) -> str:
        """The text of ``ids`` as HF ``tokenizer.decode(ids)`` gives it.

        ``skip_special``: drop special added tokens (``<bos>``, ...), like HF's
        ``skip_special_tokens=True``. An id outside the vocabulary raises
        :class:`saex.RangeError` naming its index. Bytes that do not form
        UTF-8 (a lone byte-fallback token) become U+FFFD.
        """
        return self._decode(as_ids(ids, "decode"), skip_special)

    def pieces(self, ids: IdsLike) -> List[str]:
        """The vocabulary string of each id: ``'▁the'``, ``'<0x0A>'``, ``'<bos>'``.

        These are the ``"token"`` strings of saex's output with
        ``save_all_tokens``. An id outside the vocabulary raises
        :class:`saex.RangeError`.
        """
        return self._pieces(as_ids(ids, "pieces"))

    def token_id(self, piece: str) -> Optional[int]:
        """The id of an exact vocabulary or added-token string, or None."""
        return self._token_id(piece)

    # vocab_size, bos_id, path, closed and close() come from the native type (see saex/_lib.pyi).

    def _describe(self) -> str:
        return f"vocab_size={self.vocab_size}"
