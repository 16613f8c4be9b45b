"""Composed summaries kept per digest: each press of a page button is served without composing again.

A summary of a large digest takes seconds to compose, and every page of the full list is cut
from the same summary, so paging through it would compose it once per page. Entries are keyed
by the digest (id, paper count, last write) and the archive's version
(storage.digests.archive_version), so a load that changes the digest or what its themes are
measured against composes afresh. Presses that arrive while the summary is being composed wait
for that one compose instead of starting their own; so does a request that arrives while the
summary is being composed ahead of it (bot.summary.warm).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.summary.compose import Summary, compose
from storage import digests as digest_repo
from storage.db import Database
from storage.records import DigestInfo

CAPACITY = 4  # summaries kept: a large digest's runs to tens of megabytes

_Key = tuple[int, int, dt.datetime, tuple[int, str, int]]
Compose = Callable[[Database, DigestInfo], Awaitable[Summary]]


@dataclass(slots=True)
class SummaryCache:
    """The most recently used summaries (`capacity` of them), composed at most once each."""

    capacity: int = CAPACITY
    composer: Compose = compose
    _entries: OrderedDict[_Key, asyncio.Future[Summary]] = field(default_factory=OrderedDict)

    async def get(self, db: Database, digest: DigestInfo) -> Summary:
        key = (digest.id, digest.papers, digest.updated_at, await digest_repo.archive_version(db))
        entry = self._entries.get(key)
        if entry is not None and not (entry.done() and (entry.cancelled() or entry.exception() is not None)):
            self._entries.move_to_end(key)
        else:
            entry = asyncio.ensure_future(self.composer(db, digest))
            self._entries[key] = entry
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        if entry.done():
            return entry.result()
        # One caller giving up (a timed-out interaction) does not cancel the compose the others wait for.
        return await asyncio.shield(entry)

    def clear(self) -> None:
        self._entries.clear()

    async def close(self) -> None:
        """Stop the composes in progress (the app is closing its database) and forget every entry."""
        running = [entry for entry in self._entries.values() if not entry.done()]
        for entry in running:
            entry.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._entries.clear()
