"""ProgressBar: in-place redraws on a terminal, plain lines elsewhere, the summary."""

from __future__ import annotations

import io

from saex import Progress, ProgressBar


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def _extract(done, total=10, tokens_per=100, finished=False):
    return Progress("extract", done, total, done * tokens_per, total * tokens_per, finished=finished)


def test_plain_lines_every_10_percent_or_10_seconds():
    out, clock = io.StringIO(), Clock()
    bar = ProgressBar(out, clock=clock)
    assert not bar.live
    bar(_extract(0, 1000))
    for done in range(1, 1000):
        clock.t += 0.001
        bar(_extract(done, 1000))
    lines = out.getvalue().splitlines()
    assert 9 <= len(lines) <= 11, lines  # one per decile
    assert "\r" not in out.getvalue()
    assert lines[4].startswith("extract  [###############...............]  50%  500/1000 samples"), lines[4]
    out2 = io.StringIO()
    slow = ProgressBar(out2, clock=clock)
    slow(_extract(0, 1000))
    for done in range(1, 5):  # under 1 %, but 10 s apart
        clock.t += 10.0
        slow(_extract(done, 1000))
    assert len(out2.getvalue().splitlines()) == 4


def test_rates_eta_and_summary():
    out, clock = io.StringIO(), Clock()
    bar = ProgressBar(out, clock=clock)
    bar(_extract(0))
    clock.t += 2.0
    bar(_extract(5))  # 50 %, 2.5 samples/s, 250 tok/s, 500 tokens left -> 2 s
    assert "5/10 samples  2.5 samples/s  250 tok/s  ETA 00:02" in out.getvalue()
    clock.t += 2.0
    bar(_extract(10, finished=True))
    assert out.getvalue().splitlines()[-1] == "extracted 10 samples, 1000 tokens in 4.00 s (2.5 samples/s, 250 tok/s)"


def test_live_redraws_in_place_at_most_every_0_2_s():
    out, clock = FakeTTY(), Clock()
    bar = ProgressBar(out, clock=clock)
    assert bar.live
    bar(_extract(0, 100))
    for done in range(1, 100):
        clock.t += 0.01
        bar(_extract(done, 100))
    text = out.getvalue()
    assert "\n" not in text and 4 <= text.count("\r") <= 6, text.count("\r")
    clock.t += 0.01
    bar(_extract(100, 100, finished=True))
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1 and "extracted 100 samples" in text.splitlines()[-1]


def test_downloads_show_bytes_and_a_new_item_ends_the_previous_bar():
    out, clock = FakeTTY(), Clock()
    bar = ProgressBar(out, clock=clock)
    gib = 1 << 30
    bar(Progress("download", 0, 4 * gib, item="google/gemma-2-9b-it/model-00001-of-00004.safetensors"))
    clock.t += 4.0
    bar(Progress("download", gib, 4 * gib, item="google/gemma-2-9b-it/model-00001-of-00004.safetensors"))
    line = out.getvalue().split("\r")[-1]
    assert "download google/gemma-2-9b-it/model-00001-of-00004.safetensors" in line
    assert "25%" in line and "1.0 GiB/4.0 GiB  256.0 MiB/s  ETA 00:12" in line
    clock.t += 1.0
    bar(Progress("download", 10, -1, item="other"))  # unknown total: no bar, no ETA
    assert out.getvalue().count("\n") == 1
    last = out.getvalue().split("\r")[-1]
    assert "[" not in last and "ETA --:--" in last
    bar.close()
    assert out.getvalue().endswith("\n")
