"""A small terminal progress bar for long management commands (no dependency needed)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, *, total: int, label: str, stream: TextIO | None = None, width: int = 30):
        self.total = max(total, 1)
        self.label = label
        self.stream = stream or sys.stderr
        self.width = width
        self.started = time.monotonic()
        self.interactive = self.stream.isatty()
        self._last_line = ""

    def update(self, done: int) -> None:
        fraction = min(done / self.total, 1.0)
        filled = int(fraction * self.width)
        elapsed = time.monotonic() - self.started
        eta = elapsed / fraction - elapsed if fraction > 0 else 0
        line = (
            f"{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{done}/{self.total} {fraction:4.0%} {elapsed:5.1f}s eta {eta:5.1f}s"
        )
        if self.interactive:
            self.stream.write("\r" + line)
        elif done in (self.total, 1) or int(fraction * 10) != int((done - 1) / self.total * 10):
            # Logs and CI get a line per tenth instead of a carriage-return animation.
            self.stream.write(line + "\n")
        self.stream.flush()
        self._last_line = line

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
