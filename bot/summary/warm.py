"""Keeping the daily summary warm: composed once its digest's load commits, before anyone asks.

The first compose of a newly loaded digest counts its candidate phrases across the whole archive
(about half a minute at a million papers, storage.summary_stats); done in a request, whoever asks
first (the daily post, /digest, the web home page) would wait for it. So the loader's
after-commit listener composes each recent daily digest into the summary cache
(bot.summary.cache) in a background task. The counting runs a few phrases per statement in the
database's thread and the rest of the compose in worker threads, so the event loop keeps
answering commands; the counts are saved as they are taken, so a warm-up cut short (the bot
stopping) keeps its progress and other processes' composes find them. A request that arrives
mid-way waits for the same compose (the cache shares one per digest) instead of counting again.

With several processes sharing a database only the holder of the upkeep lease warms (`start`
and `stop`, called by bot.app as the lease comes and goes), so two never count the same phrases.
It also runs `upkeep` every `UPKEEP_SECONDS`: the latest daily digest is warmed when a load
elsewhere (another process, a one-shot `paperboy ingest`, which warms nothing itself) changed it,
and every `EVICT_EVERY` the cached counts of phrases that no digest of the last `KEEP_DAYS` uses
are forgotten once they are that old, so the cache does not grow with every digest ever summarised.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.schedule.clock import Clock, system_clock
from bot.summary import themes
from bot.summary.cache import SummaryCache
from storage import archive_calendar, summary_stats
from storage import digests as digest_repo
from storage.db import Database
from storage.errors import ConnectionLost
from storage.records import DigestInfo, LoadResult

log = logging.getLogger(__name__)

RECENT_DAYS = 3  # a digest dated at most this many days before today is warmed on load
KEEP_DAYS = 30  # phrase counts this old are forgotten unless a digest of these days uses them
UPKEEP_SECONDS = 60.0
EVICT_EVERY = dt.timedelta(hours=6)


@dataclass(slots=True)
class SummaryWarmer:
    """Composes recent daily digests' summaries ahead of their readers (one task per digest)."""

    db: Database
    summaries: SummaryCache
    clock: Clock = system_clock
    active: bool = True  # False while another process holds the upkeep lease (it warms instead)
    _tasks: dict[int, asyncio.Task[None]] = field(default_factory=dict)
    _rounds: asyncio.Task[None] | None = None  # `run`, while this process holds the upkeep lease
    _evicted_at: dt.datetime | None = None

    def start(self) -> None:
        """This process took the upkeep lease: warm on load, and run the upkeep rounds."""
        self.active = True
        if self._rounds is None:
            self._rounds = asyncio.create_task(self.run(), name="summary-upkeep")

    async def stop(self) -> None:
        """The upkeep lease went elsewhere (or the app is closing): no more warming on load or rounds."""
        self.active = False
        if self._rounds is not None:
            self._rounds.cancel()
            await asyncio.gather(self._rounds, return_exceptions=True)
            self._rounds = None

    async def after_commit(self, results: Sequence[LoadResult]) -> None:
        """A Loader `after_commit` listener: each recent daily digest the load changed is warmed."""
        if not self.active:
            return
        today = self.clock().date()
        for result in results:
            if result.unchanged or not result.papers or (today - result.date).days > RECENT_DAYS:
                continue
            digest = await digest_repo.get_digest(self.db, result.digest_id)
            if digest is not None and digest.kind == "daily":
                self.warm(digest)

    def warm(self, digest: DigestInfo) -> asyncio.Task[None]:
        """Compose `digest`'s summary into the cache in the background; after the one already
        warming it, if any (the digest changed again: that one's saved counts make this one quick)."""
        running = self._tasks.get(digest.id)

        async def work() -> None:
            if running is not None:
                await asyncio.gather(running, return_exceptions=True)
            try:
                await self.summaries.get(self.db, digest)
            except ConnectionLost as exc:
                log.warning("summary of %s %s not warmed: %s", digest.source, digest.date, exc)
            except Exception:  # noqa: BLE001 - only a head start: the reader composes it then
                log.exception("warming the summary of %s %s failed", digest.source, digest.date)

        task = asyncio.create_task(work(), name=f"warm-summary-{digest.id}")
        self._tasks[digest.id] = task
        task.add_done_callback(lambda t: self._tasks.pop(digest.id, None) if self._tasks.get(digest.id) is t else None)
        return task

    async def idle(self) -> None:
        """Wait until the summaries being warmed are composed (or failed)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        """Stop warming: the rounds, the tasks and the composes they started (counts taken so far
        stay saved)."""
        await self.stop()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await self.summaries.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    async def upkeep(self) -> None:
        """One round of the upkeep lease holder's work: warm the latest daily digest unless it is
        warm (a look-up in the cache when it is), and forget old unused phrase counts when due."""
        digest = await digest_repo.find_digest(self.db)
        if digest is not None and digest.id not in self._tasks \
                and (self.clock().date() - digest.date).days <= RECENT_DAYS:
            await self.warm(digest)
        now = self.clock()
        if self._evicted_at is None or now - self._evicted_at >= EVICT_EVERY:
            forgotten = await evict(self.db, now)
            self._evicted_at = now
            if forgotten:
                log.info("forgot %d cached phrase counts no recent digest uses", forgotten)

    async def run(self, interval: float = UPKEEP_SECONDS) -> None:
        """`upkeep` every `interval` seconds until cancelled (while this process holds the lease)."""
        while True:
            try:
                await self.upkeep()
            except ConnectionLost as exc:
                log.warning("summary upkeep paused: %s", exc)
            except Exception:  # noqa: BLE001 - one failed round must not stop the next
                log.exception("summary upkeep failed; trying again later")
            await asyncio.sleep(interval)


async def evict(db: Database, now: dt.datetime, *, keep_days: int = KEEP_DAYS) -> int:
    """Forget the cached phrase counts taken more than `keep_days` before `now` that no daily
    digest of those days has as a candidate; returns how many were forgotten."""
    since = now - dt.timedelta(days=keep_days)
    keep: set[str] = set()
    for day in await archive_calendar.digest_days(db, since.date(), now.date()):
        digest = await digest_repo.find_digest(db, date=day.date, source=day.source)
        if digest is None:
            continue
        entries = await digest_repo.digest_entries(db, digest.id)
        docs = [themes.Document(e.paper.id, e.paper.title, e.paper.abstract) for e in entries]
        keep.update(await asyncio.to_thread(phrase_keys, docs))
    return await summary_stats.evict_phrase_counts(db, counted_before=since, keep=keep)


def phrase_keys(docs: Sequence[themes.Document]) -> set[str]:
    """The cache keys of the phrases (two words or more) a compose of `docs` would count."""
    return {summary_stats.phrase_key(key) for key in themes.counted_phrases(docs) if len(key) > 1}
