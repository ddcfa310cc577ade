"""A progress bar on stderr: redrawn in place on a terminal, a line every 10% otherwise (logs, CI)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, total: int, label: str, stream: TextIO | None = None, width: int = 28):
        self.total, self.label, self.width = max(total, 1), label, width
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.start = time.perf_counter()
        self._last_decile = -1

    def update(self, n: int = 1, note: str = "") -> None:
        self.done = min(self.total, self.done + n)
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        filled = int(self.width * self.done / self.total)
        line = (f"{self.label:<22} [{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{elapsed:6.1f}s eta {eta:5.0f}s {note[:30]}")
        if self.tty:
            print("\r" + line.ljust(110), end="\n" if self.done == self.total else "", file=self.stream, flush=True)
        else:
            decile = 10 * self.done // self.total
            if decile != self._last_decile:
                self._last_decile = decile
                print(line, file=self.stream, flush=True)
