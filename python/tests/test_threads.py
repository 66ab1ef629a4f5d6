"""The GIL is released while libsaex computes (another Python thread keeps
running), a long SAE encode stops on a signal between chunks, and a
handle in use by another thread cannot be closed under it."""

from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pytest

import saex

from conftest import EXAMPLES, FIXTURES


def _longest_stall(work, min_seconds=0.3):
    """Runs work() in a thread while this thread wakes every millisecond; returns
    (longest gap between wake-ups while work ran, how long work ran). A call
    that holds the GIL stalls this thread for its whole length."""
    done = threading.Event()
    took = []

    def run():
        t0 = time.perf_counter()
        work()
        took.append(time.perf_counter() - t0)
        done.set()

    t = threading.Thread(target=run)
    last = time.perf_counter()
    t.start()
    worst = 0.0
    while not done.is_set():
        time.sleep(0.001)
        now = time.perf_counter()
        worst, last = max(worst, now - last), now
    t.join()
    if took[0] < min_seconds:
        pytest.skip(f"the call took only {took[0]:.3f} s: too short to tell")
    return worst, took[0]


def test_sae_encode_releases_the_gil():
    sae = saex.SAE(FIXTURES / "tiny_a/sae_l2")
    x = np.random.default_rng(0).standard_normal((40000, sae.d_in), dtype=np.float32)
    stall, took = _longest_stall(lambda: sae.encode(x))
    assert stall < took / 3, f"this thread stalled {stall:.3f} s during a {took:.3f} s encode"


def test_tokenize_releases_the_gil():
    tok = saex.Tokenizer(EXAMPLES / "model")
    text = "The quick brown fox jumps over the lazy dog. Ünïcödé 日本語のテキスト 12345. " * 40000
    stall, took = _longest_stall(lambda: tok.encode(text))
    assert stall < took / 3, f"this thread stalled {stall:.3f} s during a {took:.3f} s encode"


class Stop(Exception):
    pass


def test_a_signal_stops_a_long_encode():
    sae = saex.SAE(FIXTURES / "tiny_a/sae_l2")
    x = np.random.default_rng(1).standard_normal((400000, sae.d_in), dtype=np.float32)  # several seconds

    def handler(signum, frame):
        raise Stop()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        t0 = time.perf_counter()
        with pytest.raises(Stop):
            sae.encode(x)
        assert time.perf_counter() - t0 < 1.5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert sae.encode(x[:3]).shape == (3, sae.d_sae)  # still usable


def test_close_during_use_is_refused():
    sae = saex.SAE(FIXTURES / "tiny_a/sae_l2")
    x = np.random.default_rng(2).standard_normal((100000, sae.d_in), dtype=np.float32)
    t = threading.Thread(target=sae.encode, args=(x,))
    t.start()
    time.sleep(0.05)
    try:
        with pytest.raises(RuntimeError, match="another thread"):
            sae.close()
    finally:
        t.join()
    sae.close()
    assert sae.closed
