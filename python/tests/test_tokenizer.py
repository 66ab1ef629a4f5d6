"""saex.Tokenizer against HF tokenizers (the committed cases for the real
Gemma-2 tokenizer) and against the `saex tokenize` command."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import pytest

import saex

from conftest import EXAMPLES, FIXTURES, ROOT


def _cases():
    with gzip.open(FIXTURES / "tokenizer/cases.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_gemma2_matches_hf_on_every_committed_case(gemma2):
    cases = _cases()
    assert len(cases) > 700
    bad = []
    for c in cases:
        ids = gemma2.encode(c["text"])
        if ids != c["ids"]:
            bad.append(("ids", c["text"][:60], ids[:10], c["ids"][:10]))
        elif gemma2.decode(ids) != c["decode"]:
            bad.append(("decode", c["text"][:60]))
        elif gemma2.decode(np.asarray(ids), skip_special=True) != c["decode_skip"]:
            bad.append(("decode_skip", c["text"][:60]))
    assert not bad, f"{len(bad)} of {len(cases)} cases differ, first: {bad[:3]}"


def test_gemma2_facts_and_pieces(gemma2):
    assert gemma2.vocab_size == 256000 and gemma2.bos_id == 2
    assert gemma2.token_id("<bos>") == 2 and gemma2.token_id("<start_of_turn>") == 106
    assert gemma2.token_id("no such piece, surely") is None and gemma2.token_id("a\0b") is None
    ids = gemma2.encode("Hello world,\nthis is saex. 日本語 \x00 <start_of_turn>")
    pieces = gemma2.pieces(ids)
    assert pieces[:3] == ["<bos>", "Hello", "▁world"] and "\n" in pieces and "<0x00>" in pieces and "<start_of_turn>" in pieces
    assert [gemma2.token_id(p) for p in pieces] == ids
    assert gemma2.encode("Hello world", add_bos=False) == ids[1:3]


def _saex_binary() -> Path:
    p = Path(os.environ.get("SAEX") or ROOT / "build/saex")
    p = p if p.is_absolute() else ROOT / p
    if not os.access(p, os.X_OK):
        pytest.skip(f"no saex binary at {p} (make)")
    return p


TEXTS = ["", "Hello world", "  leading and trailing  ", "a\u0000b", "line\r\nbreak\n\n\ttab",
         "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n", "emoji 🤖 and ÄÖÜ ß", "x" * 5000,
         "The capital of France is Paris. " * 50]


@pytest.mark.parametrize("which", ["examples", "gemma2"])
def test_same_ids_and_pieces_as_saex_tokenize(which, request):
    path = EXAMPLES / "model/tokenizer.json" if which == "examples" else request.getfixturevalue("gemma2_path")
    binary = _saex_binary()
    lines = "".join(json.dumps({"text": t}) + "\n" for t in TEXTS)
    out = subprocess.run([binary, "tokenize", "--tokenizer", path, "--jsonl", "--tokens"], input=lines.encode(),
                         capture_output=True, check=True).stdout.decode()
    want = [json.loads(line) for line in out.splitlines()]
    with saex.Tokenizer(path) as tok:
        for text, w in zip(TEXTS, want):
            ids = tok.encode(text)
            assert ids == w["ids"], text[:40]
            assert tok.pieces(ids) == w["tokens"], text[:40]
    assert len(want) == len(TEXTS)


def test_inputs_it_accepts():
    with saex.Tokenizer(EXAMPLES / "model") as tok:
        ids = tok.encode("Hello world")
        assert tok.encode("Hello world".encode()) == ids
        assert tok.encode(bytearray(b"Hello world")) == ids
        assert tok.encode(memoryview(b"Hello world")) == ids
        assert tok.encode(text="Hello world", add_bos=False) == ids[1:]
        for form in (ids, tuple(ids), np.array(ids, np.int64), np.array(ids, np.int32), np.array(ids, np.uint16)):
            assert tok.decode(form) == tok.decode(ids)
            assert tok.pieces(form) == tok.pieces(ids)
        assert tok.decode([]) == "" and tok.pieces([]) == []
        assert tok.encode("") == [tok.bos_id] and tok.encode("", add_bos=False) == []
        # A folder, a file, str or Path: the same tokenizer
        assert saex.Tokenizer(str(EXAMPLES / "model/tokenizer.json")).encode("Hello world") == ids


def test_pickle_reopens_from_the_path():
    tok = saex.Tokenizer(EXAMPLES / "model")
    copy = pickle.loads(pickle.dumps(tok))
    assert copy is not tok and copy.path == tok.path and copy.encode("abc def") == tok.encode("abc def")
