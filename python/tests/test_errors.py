"""libsaex's statuses as exception classes; hostile and missing files raise
the class of their status with libsaex's message naming the file."""

from __future__ import annotations

import struct
import zipfile

import numpy as np
import pytest

import saex
from saex import _lib, errors

from conftest import EXAMPLES, FIXTURES

# status -> (class, the built-in base it must also have)
EXPECTED = {
    1: (saex.FileError, OSError),
    2: (saex.FormatError, ValueError),
    3: (saex.UnsupportedError, ValueError),
    4: (saex.ArgumentError, ValueError),
    5: (saex.OutOfMemoryError, MemoryError),
    6: (saex.BackendError, RuntimeError),
    7: (saex.RangeError, ValueError),
    8: (saex.MismatchError, ValueError),
    9: (saex.Interrupted, saex.SaexError),
    10: (saex.NotFoundError, FileNotFoundError),
    11: (saex.NetworkError, ConnectionError),
    12: (saex.AuthError, PermissionError),
    13: (saex.ConflictError, RuntimeError),
}


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_each_status_raises_its_class(status):
    cls, base = EXPECTED[status]
    with pytest.raises(cls) as e:
        _lib._raise_status(status, f"some/file.bin: problem {status}")
    assert type(e.value) is cls and isinstance(e.value, base) and isinstance(e.value, saex.SaexError)
    assert str(e.value) == e.value.message == f"some/file.bin: problem {status}"
    assert e.value.status == status and e.value.status_name == _lib.status_name(status)


def test_unknown_status_is_the_base_class():
    with pytest.raises(saex.SaexError) as e:
        _lib._raise_status(99, "x")
    assert type(e.value) is saex.SaexError and errors.error_class(99) is saex.SaexError


def _raises(cls, needle, fn, *args):
    with pytest.raises(cls) as e:
        fn(*args)
    assert type(e.value) is cls, type(e.value)
    assert needle in str(e.value), str(e.value)
    return e.value


def test_missing_files(tmp_path):
    _raises(saex.FileError, "nope.json", saex.Tokenizer, tmp_path / "nope.json")
    _raises(saex.FileError, "no_sae_here", saex.SAE, tmp_path / "no_sae_here")
    # An OSError to code that does not know saex.
    with pytest.raises(OSError):
        saex.SAE(str(tmp_path / "missing" / "params.npz"))


def test_malformed_tokenizer(tmp_path):
    (tmp_path / "bad.json").write_text('{"model": 5}')
    _raises(saex.FormatError, "bad.json", saex.Tokenizer, tmp_path / "bad.json")
    (tmp_path / "cut.json").write_text('{"model": ')
    e = _raises(saex.FormatError, "cut.json", saex.Tokenizer, tmp_path / "cut.json")
    assert "line 1" in str(e)


def _params():
    with np.load(FIXTURES / "tiny_a/sae_l2/params.npz") as z:
        return {k: z[k] for k in z.files}


def test_malformed_npz(tmp_path):
    good = (FIXTURES / "tiny_a/sae_l2/params.npz").read_bytes()
    cases = {"garbage.npz": b"not a zip file at all" * 8, "truncated.npz": good[: len(good) // 2]}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        _raises(saex.FormatError, name, saex.SAE, tmp_path / name)
    p = _params()
    np.savez(tmp_path / "no_threshold.npz", **{k: v for k, v in p.items() if k != "threshold"})
    e = _raises(saex.FormatError, "no_threshold.npz", saex.SAE, tmp_path / "no_threshold.npz")
    assert "threshold" in str(e)
    np.savez(tmp_path / "short_b_enc.npz", **dict(p, b_enc=p["b_enc"][:-1]))
    e = _raises(saex.FormatError, "short_b_enc.npz", saex.SAE, tmp_path / "short_b_enc.npz")
    assert "b_enc" in str(e)
    # A member whose bytes were damaged after writing: the CRC check names it.
    np.savez(tmp_path / "crc.npz", **p)
    raw = bytearray((tmp_path / "crc.npz").read_bytes())
    with zipfile.ZipFile(tmp_path / "crc.npz") as z:
        info = z.getinfo("W_enc.npy")
    off = info.header_offset  # the local header's extra field differs from the central one (zip64)
    n_name, n_extra = struct.unpack("<HH", raw[off + 26 : off + 30])
    at = off + 30 + n_name + n_extra + info.compress_size // 2
    raw[at] ^= 0xFF
    (tmp_path / "crc.npz").write_bytes(bytes(raw))
    _raises(saex.FormatError, "crc.npz", saex.SAE, tmp_path / "crc.npz")


def test_bad_arguments_name_what_is_wrong():
    tok = saex.Tokenizer(EXAMPLES / "model")
    e = _raises(saex.RangeError, "ids[1] = 99999", tok.decode, [2, 99999])
    assert "tokenizer.json" in str(e)
    _raises(saex.RangeError, "ids[0] = -1", tok.pieces, [-1])
    _raises(saex.RangeError, "ids[2]", tok.decode, [1, 2, 2**40])
    _raises(saex.ArgumentError, "byte offset 2", tok.encode, b"ab\xffcd")
    _raises(saex.ArgumentError, "sequence of int", tok.decode, [1.5])
    _raises(saex.ArgumentError, "sequence of int", tok.decode, "abc")
    with pytest.raises(TypeError):
        tok.encode(5)
    sae = saex.SAE(FIXTURES / "tiny_a/sae_l2")
    _raises(saex.MismatchError, "d_in 64", sae.encode, np.zeros((2, 65), np.float32))
    _raises(saex.ArgumentError, "[n, d]", sae.encode, np.zeros((2, 2, 64), np.float32))
    _raises(saex.ArgumentError, "real numbers", sae.encode, np.array(["a"] * 64))
    _raises(saex.ArgumentError, "k = 0", saex.topk, np.zeros(8, np.float32), 0)
    _raises(saex.ArgumentError, "k = 9", saex.topk, np.zeros(8, np.float32), 9)


def test_closed_objects_refuse_use():
    tok = saex.Tokenizer(EXAMPLES / "model")
    sae = saex.SAE(FIXTURES / "tiny_a/sae_l2")
    for obj in (tok, sae):
        assert not obj.closed
        obj.close()
        obj.close()  # idempotent
        assert obj.closed and "closed" in repr(obj)
    with pytest.raises(ValueError, match="closed"):
        tok.encode("x")
    with pytest.raises(ValueError, match="closed"):
        tok.vocab_size
    with pytest.raises(ValueError, match="closed"):
        sae.encode(np.zeros(64, np.float32))


def test_context_managers_close():
    with saex.Tokenizer(EXAMPLES / "model") as tok, saex.SAE(FIXTURES / "tiny_a/sae_l2") as sae:
        assert tok.encode("a")[0] == tok.bos_id and sae.d_in == 64
    assert tok.closed and sae.closed
