"""A small progress bar for management commands (no dependency, stderr friendly)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


class ProgressBar:
    """Draws ``rows done, share of the file read, rows/s`` on a stream.

    On a terminal the line is redrawn in place at most every ``interval`` seconds; on
    anything else (a log file, a pipe) a plain line is written at most every
    ``log_interval`` seconds, so logs stay readable. ``finish`` always draws the last state.
    """

    def __init__(
        self,
        stream: TextIO,
        total_bytes: int,
        *,
        interval: float = 0.2,
        log_interval: float = 5.0,
        width: int = 24,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = stream
        self.total_bytes = max(total_bytes, 1)
        self.is_tty = stream.isatty() if hasattr(stream, "isatty") else False
        self.interval = interval if self.is_tty else log_interval
        self.width = width
        self.clock = clock
        self.started = clock()
        self.drawn_at: float | None = None

    def render(self, rows: int, bytes_read: int) -> str:
        share = min(bytes_read / self.total_bytes, 1.0)
        filled = round(share * self.width)
        elapsed = max(self.clock() - self.started, 1e-6)
        rate = rows / elapsed
        bar = "#" * filled + "-" * (self.width - filled)
        return f"[{bar}] {share:4.0%}  {rows:,} rows  {rate:,.0f} rows/s  {elapsed:.1f} s"

    def update(self, rows: int, bytes_read: int) -> None:
        now = self.clock()
        if self.drawn_at is not None and now - self.drawn_at < self.interval:
            return
        self.drawn_at = now
        self._draw(self.render(rows, bytes_read))

    def clear(self) -> None:
        """Erase the bar from a terminal line, so another message can be written there.

        The next ``update`` draws it again at once.
        """
        if self.is_tty and self.drawn_at is not None:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self.drawn_at = None

    def finish(self, rows: int, bytes_read: int) -> None:
        self._draw(self.render(rows, bytes_read))
        if self.is_tty:
            self.stream.write("\n")
        self.stream.flush()

    def _draw(self, text: str) -> None:
        if self.is_tty:
            self.stream.write("\r\x1b[2K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
