"""Progress of a long load on standard error: bytes, papers per second, elapsed time, ETA, and
the end phase by name. On a terminal, a bar redrawn in place; otherwise (a log, a pipe, cron) a
plain line every few seconds, and nothing at all for a load shorter than that."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

REDRAW = 0.2  # seconds between redraws of the terminal bar
PERIOD = 5.0  # seconds between progress lines without a terminal


def clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


@dataclass
class LoadProgress:
    label: str
    out: TextIO = field(default_factory=lambda: sys.stderr)
    terminal: bool | None = None  # None: whether `out` is one
    now: float = field(default_factory=lambda: time.monotonic())  # the start
    done: int = 0  # bytes read
    total: int = 0  # bytes in all (0: unknown, e.g. standard input)
    papers: int = 0
    _shown: float = 0.0
    _drawn: bool = False

    def __post_init__(self) -> None:
        if self.terminal is None:
            self.terminal = self.out.isatty()
        self._shown = self.now

    def __call__(self, done: int, total: int) -> None:
        """Bytes read so far (the ingest's Progress callback)."""
        self.done, self.total = done, total
        self._maybe_show()

    def loaded(self, papers: int) -> None:
        self.papers += papers
        self._maybe_show()

    def phase(self, what: str) -> None:
        """The end phase, named when it starts (it can take a while on a large archive)."""
        self._write(f"{self.label}: {self.papers:,} papers loaded in {clock(self._elapsed())}; {what}...",
                    final=True)

    def finish(self) -> None:
        if self._drawn and self.terminal:
            self.out.write("\r\033[K")
            self.out.flush()

    def line(self) -> str:
        elapsed = self._elapsed()
        parts = []
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            parts.append(f"{fraction:6.1%} of {self.total / 1e6:,.0f} MB")
        else:
            parts.append(f"{self.done / 1e6:,.1f} MB")
        rate = self.papers / elapsed if elapsed > 0 else 0.0
        parts.append(f"{self.papers:,} papers ({rate:,.0f}/s)")
        parts.append(f"elapsed {clock(elapsed)}")
        if self.total and 0 < self.done < self.total:
            parts.append(f"ETA {clock(elapsed * (self.total - self.done) / self.done)}")
        return f"{self.label}: " + ", ".join(parts)

    def _elapsed(self) -> float:
        return time.monotonic() - self.now

    def _maybe_show(self) -> None:
        moment = time.monotonic()
        if moment - self._shown < (REDRAW if self.terminal else PERIOD):
            return
        self._shown = moment
        self._write(self.line(), final=False)

    def _write(self, text: str, *, final: bool) -> None:
        if self.terminal:
            self.out.write("\r\033[K" + text + ("\n" if final else ""))
            self._drawn = not final
        else:
            self.out.write(text + "\n")
        self.out.flush()
