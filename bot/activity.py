"""Members' requests in flight, so that background work steps aside while someone waits.

Commands, autocomplete and buttons (bot.commands.dispatch) and web pages (bot.web.app) share the
event loop and the one database connection with the process's catch-up work: the similarity
index's backfill (bot.similar.backfill) runs for hours after an upgrade or an archive import of a
million papers, a batch at a time, and each batch holds the loop and the connection for tens of
milliseconds. In a burst of commands every batch was that much added to each answer waiting
behind it (bench/README.md, Discord latency). So background work asks `quiet()` before each
batch: it waits until no request has been in flight for `settle` seconds, but never longer than
`longest`, so that a bot that is never idle still makes progress.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SETTLE = 0.25  # seconds without a request in flight that count as quiet
LONGEST = 5.0  # seconds background work waits for quiet at most, before one batch


class Activity:
    """How many requests are being answered now, and since when none has been."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._in_flight = 0
        self._ended = clock()  # when the last request ended (or this was made)

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Around the answering of one request (on the event loop's thread)."""
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._ended = self._clock()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def idle_for(self) -> float:
        """Seconds since the last request ended; 0 while one is in flight."""
        return 0.0 if self._in_flight else max(self._clock() - self._ended, 0.0)

    async def quiet(self, settle: float = SETTLE, longest: float = LONGEST,
                    stopping: asyncio.Event | None = None) -> bool:
        """Wait until no request has been in flight for `settle` seconds, `longest` seconds at
        most, or until `stopping` is set; whether it was quiet when it returned."""
        started = self._clock()
        while True:
            idle = self.idle_for()
            if idle >= settle:
                return True
            left = longest - (self._clock() - started)
            if left <= 0 or (stopping is not None and stopping.is_set()):
                return False
            delay = min(settle - idle, left)
            if stopping is None:
                await asyncio.sleep(delay)
                continue
            try:
                await asyncio.wait_for(stopping.wait(), timeout=delay)
            except TimeoutError:
                pass
