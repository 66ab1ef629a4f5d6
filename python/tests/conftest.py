"""Shared pieces of the saex package tests: paths, the Gemma-2 tokenizer,
a small safetensors reader, and a check that the installed package (not
the source folder) is the one under test."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np
import pytest

import saex

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = ROOT / "examples"


def pytest_report_header(config):
    return f"saex {saex.__version__} from {Path(saex.__file__).parent} (HAVE_CUDA={saex.HAVE_CUDA})"


@pytest.fixture(scope="session")
def gemma2_path() -> Path:
    """The real Gemma-2 tokenizer.json ($SAEX_GEMMA2_TOKENIZER or ../shared); skips visibly when absent."""
    p = Path(os.environ.get("SAEX_GEMMA2_TOKENIZER") or ROOT.parent / "shared/data/tokenizers/gemma2/tokenizer.json")
    if not p.is_file():
        pytest.skip(f"no Gemma-2 tokenizer at {p} (set SAEX_GEMMA2_TOKENIZER)")
    return p


@pytest.fixture(scope="session")
def gemma2(gemma2_path) -> saex.Tokenizer:
    with saex.Tokenizer(gemma2_path) as tok:
        yield tok


_DTYPES = {"F32": np.float32, "I32": np.int32, "I64": np.int64, "F64": np.float64}


def read_safetensors(path: Path) -> dict:
    """name -> numpy array of a single-file safetensors (the dtypes of the fixtures)."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = memoryview(data)[8 + n:]
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype=_DTYPES[t["dtype"]]).reshape(t["shape"])
    return out
