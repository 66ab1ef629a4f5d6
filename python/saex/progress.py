"""saex.ProgressBar — progress of long runs on stderr, without tqdm.

libsaex reports progress through a callback (``saex_events.progress``);
the package turns each report into a :class:`Progress` and hands it to a
callable: a :class:`ProgressBar` by default, nothing with ``progress=False``,
or the caller's own function.

On a terminal (or in a Jupyter notebook) the bar is redrawn in place at most
every 0.2 s; elsewhere (a log file, a batch job) it prints a plain line
every 10 s or 10 %. The format follows ``saex extract``'s.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Callable, Optional, TextIO

__all__ = ["Progress", "ProgressBar"]


@dataclass(frozen=True)
class Progress:
    """One progress report (``saex_progress``).

    ``what`` is ``"extract"`` (``done`` / ``total`` count samples, with
    ``done_tokens`` / ``total_tokens``), ``"download"`` or ``"write"``
    (bytes; ``item`` names the file). A total of -1 means unknown;
    ``finished`` is True on the last report of an item.
    """

    what: str
    done: int
    total: int = -1
    done_tokens: int = 0
    total_tokens: int = -1
    item: Optional[str] = None
    finished: bool = False


def _eta(seconds: float) -> str:
    if seconds < 0 or seconds > 1e7:
        return "--:--"
    t = int(seconds + 0.5)
    return f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60:02d}:{t % 60:02d}"


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # not reached


def _per_s(n: float, elapsed: float) -> float:
    return n / elapsed if elapsed > 0 else 0.0


def _is_live(stream: TextIO) -> bool:
    """A terminal, or a Jupyter output stream (which honours \\r too)."""
    if type(stream).__module__.startswith("ipykernel"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressBar:
    """Renders :class:`Progress` reports on ``stream`` (default: sys.stderr).

    Call it with each report; :meth:`close` ends a bar left open. ``live``
    forces in-place redrawing on or off (default: on for a terminal or a
    Jupyter notebook). ``clock`` is for tests.
    """

    WIDTH = 30

    def __init__(self, stream: Optional[TextIO] = None, *, live: Optional[bool] = None,
                 clock: Callable[[], float] = time.monotonic, redraw_every: float = 0.2,
                 line_every: float = 10.0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = _is_live(self.stream) if live is None else live
        self.clock = clock
        self.redraw_every = redraw_every
        self.line_every = line_every
        self._key: Optional[tuple] = None  # (what, item) of the bar being drawn
        self._t0 = self._last = 0.0
        self._decile = 0
        self._drawn = 0  # length of the live line on screen

    def __call__(self, p: Progress) -> None:
        now = self.clock()
        fresh = (p.what, p.item) != self._key
        if fresh:
            self.close()
            self._key, self._t0, self._last, self._decile = (p.what, p.item), now, now, 0
        frac = self._fraction(p)
        if p.finished:
            self._write_line(self._summary(p, now - self._t0))
            self._key = None
            return
        if self.live:
            if fresh or now - self._last >= self.redraw_every or (p.total >= 0 and p.done >= p.total):
                self._redraw(self._status(p, frac, now - self._t0))
                self._last = now
        else:
            decile = int(frac * 10) if frac is not None else 0
            if now - self._last >= self.line_every or decile > self._decile:
                self._decile = max(decile, self._decile)
                self._write_line(self._status(p, frac, now - self._t0))
                self._last = now

    def close(self) -> None:
        """Ends the live line, if one is drawn."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = 0
        self._key = None

    # ------------------------------------------------------------ rendering

    @staticmethod
    def _fraction(p: Progress) -> Optional[float]:
        if p.what == "extract" and p.total_tokens > 0:
            return min(1.0, p.done_tokens / p.total_tokens)
        if p.total > 0:
            return min(1.0, p.done / p.total)
        return None

    def _status(self, p: Progress, frac: Optional[float], elapsed: float) -> str:
        parts = [p.what if p.item is None else f"{p.what} {p.item}"]
        if frac is not None:
            fill = int(frac * self.WIDTH)
            parts.append(f"[{'#' * fill}{'.' * (self.WIDTH - fill)}] {int(frac * 100):3d}%")
        if p.what == "extract":
            total = f"/{p.total}" if p.total >= 0 else ""
            sps, tps = _per_s(p.done, elapsed), _per_s(p.done_tokens, elapsed)
            parts.append(f"{p.done}{total} samples  {sps:.1f} samples/s  {tps:.0f} tok/s")
            left = (p.total_tokens - p.done_tokens) / tps if tps > 0 and p.total_tokens >= 0 else -1.0
        else:
            total = f"/{_bytes(p.total)}" if p.total >= 0 else ""
            bps = _per_s(p.done, elapsed)
            parts.append(f"{_bytes(p.done)}{total}  {_bytes(bps)}/s")
            left = (p.total - p.done) / bps if bps > 0 and p.total >= 0 else -1.0
        parts.append(f"ETA {_eta(left)}")
        return "  ".join(parts)

    @staticmethod
    def _summary(p: Progress, elapsed: float) -> str:
        if p.what == "extract":
            return (f"extracted {p.done} samples, {p.done_tokens} tokens in {elapsed:.2f} s "
                    f"({_per_s(p.done, elapsed):.1f} samples/s, {_per_s(p.done_tokens, elapsed):.0f} tok/s)")
        name = f" {p.item}" if p.item else ""
        verb = {"download": "downloaded", "write": "wrote"}.get(p.what, p.what)
        return f"{verb}{name}: {_bytes(p.done)} in {elapsed:.2f} s ({_bytes(_per_s(p.done, elapsed))}/s)"

    def _redraw(self, line: str) -> None:
        # Pad over a longer previous line: \033[K is not understood everywhere (notebooks).
        pad = " " * max(0, self._drawn - len(line))
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self._drawn = len(line)

    def _write_line(self, line: str) -> None:
        if self._drawn:
            self._redraw(line)
            self.stream.write("\n")
            self._drawn = 0
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
