"""Opening, using and freeing the native objects many times does not grow
the process: glibc's heap in use (mallinfo2) and its memory mappings."""

from __future__ import annotations

import ctypes
import gc

import numpy as np
import pytest

import saex

from conftest import EXAMPLES, FIXTURES


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]


def _heap_and_maps():
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("no mallinfo2 (glibc < 2.33)")
    libc.mallinfo2.restype = _MallInfo2
    gc.collect()
    m = libc.mallinfo2()
    with open("/proc/self/maps") as f:
        maps = sum(1 for _ in f)
    return m.uordblks + m.hblkhd, maps


def _growth(cycle, rounds=30):
    for _ in range(3):  # warm up caches (numpy, the allocator)
        cycle()
    heap0, maps0 = _heap_and_maps()
    for _ in range(rounds):
        cycle()
    heap1, maps1 = _heap_and_maps()
    return heap1 - heap0, maps1 - maps0


def _tokenizer_cycle():
    tok = saex.Tokenizer(EXAMPLES / "model")
    ids = tok.encode("Hello world, this is saex. " * 50)
    tok.decode(ids), tok.pieces(ids)
    tok.close()


def _tokenizer_gc_cycle():  # never closed: freed when collected
    tok = saex.Tokenizer(EXAMPLES / "model")
    tok.encode("Hello world")


def _sae_cycle(folder):
    def cycle():
        with saex.SAE(FIXTURES / folder) as sae:
            act = sae.encode(np.ones((16, sae.d_in), np.float32))
            saex.topk(act, 8)
        saex.SAE(FIXTURES / folder)  # dropped without close()
    return cycle


def _errors_cycle():
    for fn, arg in ((saex.SAE, "/nonexistent/params.npz"), (saex.Tokenizer, "/nonexistent/tokenizer.json")):
        try:
            fn(arg)
        except saex.FileError:
            pass


@pytest.mark.parametrize("name,cycle", [
    ("tokenizer", _tokenizer_cycle), ("tokenizer_gc", _tokenizer_gc_cycle),
    ("sae_npz", _sae_cycle("tiny_a/sae_l2")), ("sae_saelens", _sae_cycle("tiny_b/sae_l3_saelens")),
    ("errors", _errors_cycle),
])
def test_no_growth(name, cycle):
    heap, maps = _growth(cycle)
    # One tiny SAE holds ~130 KiB and the example tokenizer more: 30 leaked would be megabytes.
    assert heap < 256 * 1024, f"{name}: heap grew by {heap} bytes over 30 rounds"
    assert maps <= 2, f"{name}: {maps} more memory mappings after 30 rounds"
