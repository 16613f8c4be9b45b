"""Process-wide settings for a process that answers people: the Discord bot, the web archive.

Such a process runs CPU-bound work in threads beside its event loop (title searches in the
look-up's thread, queries in the database's). Each time the loop gives up the GIL (every poll
for I/O, every socket write, every result handed back from a thread) it waits up to the whole
switch interval to get it back, 5 ms by default: a page or an answer that crosses the loop a few
times then waits for every one of those. A 1 ms interval keeps it quick (bench web at 1M, 50
clients: page p95 137-164 ms at 5 ms, 52-66 ms at 1 ms).

The web archive's own process (`paperboy web`) goes further, to 0.25 ms: its paper pages, each a
trip to the database's thread while the look-up's thread finds other pages' close matches, waited
35-56 ms at p95 (median 54, 11 loads) with 1 ms and 27-53 ms (median 36, 6 loads) with 0.25 ms in
bench web's short loads at 1M, 50 clients, whose clients all start at once; in steady loads 18-38
ms against 22-30 ms at 1 ms: no difference. The bot keeps 1 ms, with which its targets were measured.

Everything alive once the process is up (modules, the app, the title index) lives as long as
the process: frozen out of the collector's full passes, which would otherwise stop the loop to
walk it. `ProcessTuning` applies both and undoes them (tests run many apps in one interpreter).
"""

from __future__ import annotations

import gc
import sys
from types import TracebackType

SWITCH_INTERVAL = 0.001
WEB_SWITCH_INTERVAL = 0.00025  # `paperboy web`


class ProcessTuning:
    """Apply once with `apply()` (or `with`), undo with `restore()`; both are idempotent."""

    def __init__(self, switch_interval: float = SWITCH_INTERVAL) -> None:
        self.switch_interval = switch_interval
        self._before: float | None = None  # the process's own interval, while ours is in force

    def apply(self) -> None:
        if self._before is not None:
            return
        self._before = sys.getswitchinterval()
        sys.setswitchinterval(self.switch_interval)
        gc.freeze()

    def restore(self) -> None:
        if self._before is None:
            return
        sys.setswitchinterval(self._before)
        self._before = None
        gc.unfreeze()  # collectable again once the app is gone

    def __enter__(self) -> ProcessTuning:
        self.apply()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.restore()
