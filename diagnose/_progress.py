"""A one-line progress bar for long checks: runs read and analysed, rate, time left.

Drawn on a terminal only (stderr, so reports piped from stdout stay clean) and
only once a check has run for a moment; in CI logs and redirected output it
draws nothing. The engine reports to any object with ``start``/``advance``/
``close`` (:class:`diagnose.pipeline.Progress`); this is the one the CLI uses.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """``read`` counts claimed paths (folders, files) done; ``analysed`` counts runs."""

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None,
                 delay: float = 0.5, interval: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.delay, self.interval = delay, interval
        self.total = self.read = self.analysed = 0
        self.final = False
        self._t0 = self._last = 0.0
        self._width = 0

    def start(self) -> None:
        self.total, self.read, self.analysed = 0, 0, 0
        self.final = False
        self._t0 = self._last = time.monotonic()

    def found(self, n: int) -> None:
        """More paths to read (the walk is still going)."""
        self.total += n
        self._tick()

    def walked(self) -> None:
        """The walk is over: ``total`` is final, and the ETA means something."""
        self.final = True

    def advance(self, read: int, analysed: int) -> None:
        self.read += read
        self.analysed += analysed
        self._tick()

    def _tick(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._t0 < self.delay or now - self._last < self.interval:
            return
        self._last = now
        self._draw(self.line(now - self._t0))

    def line(self, elapsed: float) -> str:
        """The text drawn: bar, counts, rate and ETA (also what tests look at)."""
        total = max(self.total, 1)
        rate = self.read / elapsed if elapsed > 0 else 0.0
        bar_w = 20
        filled = int(round(min(1.0, self.read / total) * bar_w)) if self.final else 0
        bar = "#" * filled + "." * (bar_w - filled) if self.final else "walking".center(bar_w, ".")
        of = f"{self.total:,}" if self.final else f"{self.total:,}+"
        eta = (self.total - self.read) / rate if rate > 0 and self.final else None
        left = _clock(eta) if eta is not None else "?"
        return (f"diagnose [{bar}] {self.read:,}/{of} read, {self.analysed:,} runs analysed, "
                f"{rate:,.0f}/s, ETA {left}")

    def _draw(self, text: str) -> None:
        cols = shutil.get_terminal_size((100, 20)).columns
        text = text[: max(10, cols - 1)]
        pad = " " * max(0, self._width - len(text))
        self.stream.write("\r" + text + pad)
        self.stream.flush()
        self._width = len(text)

    def close(self) -> None:
        """Erase the line, so the report that follows starts clean."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
