"""The similarity index's catch-up in the background, run by the process holding the upkeep lease.

Papers loaded before the index existed, by an archive import (the arXiv snapshot) or copied onto
a `migrate-db` target have no vector; digests loaded since are weighed as they commit
(bot/similar/index.py). A `Backfill` walks the papers from the newest id down, a window of ids at
a time, and weighs those without a vector in small batches (`SimilarIndex.index`), pausing
between batches so commands keep their turn on the database and the event loop, and, given the
process's `Activity`, waiting before each batch for a moment when no member's request is in
flight (bot/activity.py: a few seconds at most). Then it walks
again and weighs once more the vectors weighed against fewer than half of today's papers: a
paper weighed early in a catch-up, against the few counted by then, misses the terms it shares
with papers counted after it. Afterwards it looks again every `idle` seconds (an archive import
by the CLI while the bot runs).

`stop` (the upkeep lease lost, the app closing) ends it after the batch in flight: each batch is
one transaction, so another process taking over finds every paper either weighed or not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.activity import Activity
from bot.similar.index import SimilarIndex, coverage
from storage import similar as similar_repo
from storage.db import Database

log = logging.getLogger(__name__)

# Papers per transaction: about 80 ms of work at 1M papers (200 took 300 ms, all of it added to the
# answers of a burst of commands that began during it).
BATCH = 50
WINDOW = 5_000  # paper ids looked at per query
PAUSE = 0.02  # seconds between batches: the commands' turn (and each batch waits for quiet, bot.activity)
IDLE = 600.0  # seconds between looks once every paper is weighed
LOG_EVERY = 50_000  # papers weighed between progress lines


@dataclass(slots=True)
class Backfill:
    db: Database
    activity: Activity | None = None  # members' requests in flight: each batch waits for quiet
    batch: int = BATCH
    window: int = WINDOW
    pause: float = PAUSE
    idle: float = IDLE
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _logged: int = 0
    _checked: bool = False  # the stale vectors were looked for since this process started
    _corpus: int | None = None  # the corpus size the stale walk compares with

    @property
    def index(self) -> SimilarIndex:
        return SimilarIndex(self.db)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._forever(), name="similar-backfill")

    async def stop(self) -> None:
        """Stop after the batch in flight (its transaction commits or rolls back whole)."""
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def run_once(self) -> int:
        """One catch-up: weigh what has no vector, then (the first time, or when it weighed some)
        what was weighed against too few papers; how many papers were weighed (it returns early
        once stopped)."""
        found = await coverage(self.db)
        weighed = 0
        if not found.complete:
            log.info("similar papers: %s; weighing the rest in the background", found.text())
            weighed = await self._walk(self._unindexed, self._index)
        if weighed or not self._checked:
            self._checked = True
            weighed += await self._walk(self._stale, self.index.reweigh)
        if weighed and not self._stopping.is_set():
            log.info("similar papers: %s (%s weighed)", (await coverage(self.db)).text(), f"{weighed:,}")
        return weighed

    async def catch_up(self, limit: int) -> int:
        """Weigh up to `limit` of the newest papers that have no vector, now (a piece of what the
        background catch-up does); how many were weighed."""
        return await self._walk(self._unindexed, self._index, limit=limit)

    async def _unindexed(self, low: int, high: int) -> list[int]:
        return await similar_repo.unindexed(self.db, low, high)

    async def _stale(self, low: int, high: int) -> list[int]:
        if self._corpus is None:
            self._corpus = (await similar_repo.term_stats(self.db, []))[1]
        return await similar_repo.stale(self.db, low, high, self._corpus // 2)

    async def _index(self, ids: Sequence[int]) -> int:
        return (await self.index.index(ids)).papers

    async def _walk(self, find: Callable[[int, int], Awaitable[list[int]]],
                    weigh: Callable[[Sequence[int]], Awaitable[int]], *, limit: int | None = None) -> int:
        """Down from the newest paper id, a window at a time: weigh what `find` finds in batches
        (the first `limit` it finds, when given)."""
        _, _, top = await similar_repo.coverage(self.db)
        high, weighed = top + 1, 0
        self._corpus, self._logged = None, 0
        while high > 0 and not self._stopping.is_set() and (limit is None or weighed < limit):
            low = max(0, high - self.window)
            ids = await find(low, high)
            if limit is not None:
                ids = ids[:limit - weighed]
            for start in range(0, len(ids), self.batch):
                if self.activity is not None:
                    await self.activity.quiet(stopping=self._stopping)
                if self._stopping.is_set():
                    return weighed
                weighed += await weigh(ids[start:start + self.batch])
                if weighed - self._logged >= LOG_EVERY:
                    self._logged = weighed
                    log.info("similar papers: %s", (await coverage(self.db)).text())
                await self._rest(self.pause)
            high = low
            await asyncio.sleep(0)
        return weighed

    async def _forever(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # noqa: BLE001 - the index can wait; the bot must not stop for it
                log.exception("similar papers: the catch-up failed; trying again in %gs", self.idle)
            await self._rest(self.idle)

    async def _rest(self, seconds: float) -> None:
        """Wait `seconds`, or less once stopped."""
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass
