"""Keeping a `TitleIndex` in step with the archive: a start from the saved snapshot (or one
streaming build when there is none), then cheap polls.

New papers are found by id above the highest id indexed; changed titles and deleted papers
through `title_changes`, which triggers fill (SQLite migration 0003). Polling rather than a loader
hook means a load by another process (`paperboy ingest` while the bot runs, or another bot process
on PostgreSQL) is seen too, and nothing is indexed from a transaction that later rolls back. On
PostgreSQL, where concurrent loads commit ids out of order, the log also names new papers, so one
committed below an id already indexed is still found (storage/lookup.py, `title_changes_after`).

Start-up loads the snapshot (`bot/lookup/snapshot.py`: the index as a few blobs plus the position
it reflects) and replays only what came after it, the same way a poll does; the snapshot is
written again once `SNAPSHOT_AFTER` papers were (re)indexed since, so replay stays short.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.lookup.index import ImageError, TitleIndex
from bot.lookup.snapshot import load_snapshot, save_snapshot
from storage import lookup as stored
from storage.db import Database
from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

BUILD_CHUNK = 50_000
KEEP_CHANGES = 100_000  # log rows kept; an index further behind than that rebuilds
# Papers (re)indexed since the stored snapshot before it is written again: replaying this many
# at start-up stays quick, and writing the whole image (large at a million titles) stays rare.
SNAPSHOT_AFTER = 20_000


@dataclass(frozen=True, slots=True)
class StartReport:
    """How `TitleIndexSync.start` got its index."""

    from_snapshot: bool
    replayed: int  # papers added, changed or removed after the snapshot (all of them on a build)
    saved_bytes: int  # snapshot written at the end of start-up (0: none was due)


class TitleIndexSync:
    """Owns one index and the position in the archive it reflects. Use from one event loop."""

    def __init__(self, db: Database, index: TitleIndex | None = None) -> None:
        self.db = db
        self.index = index or TitleIndex()
        self.last_change = 0
        self.unsaved = 0  # papers (re)indexed since the stored snapshot; past SNAPSHOT_AFTER it is rewritten
        # Whether this process writes the snapshot and prunes the title log: of several processes
        # sharing a database, only the holder of the upkeep lease does (bot.processes).
        self.upkeep = True
        self._lock = asyncio.Lock()

    async def start(self, *, save: bool = True) -> StartReport:
        """Load the snapshot and replay what came after it, or build from the papers when there is
        no usable snapshot; then write a snapshot if one is due (`save`)."""
        async with self._lock:
            snapshot = await load_snapshot(self.db)
            index = None
            if snapshot is not None and snapshot.last_change <= await stored.last_title_change(self.db):
                try:
                    index = await asyncio.to_thread(TitleIndex.from_image, snapshot.image)
                except ImageError as exc:
                    log.warning("title index snapshot not used, rebuilding: %s", exc)
            if index is not None and snapshot is not None:
                self.index, self.last_change = index, snapshot.last_change
                replayed = await self._apply_changes() + await self._add_new()
                self.unsaved = replayed
            else:
                self.index = TitleIndex()
                self.last_change = await stored.last_title_change(self.db)
                replayed = await self._add_new()
                self.unsaved = max(replayed, SNAPSHOT_AFTER)  # no usable snapshot: write one
        saved = 0
        if save and self.snapshot_due():
            try:
                saved = await self.save()
            except DatabaseUnavailable as exc:
                # Only a cache (a read-only or busy database): the next start-up builds again.
                log.warning("title index snapshot not saved: %s", exc)
        return StartReport(index is not None, replayed, saved)

    def snapshot_due(self) -> bool:
        return self.upkeep and self.unsaved >= SNAPSHOT_AFTER

    async def save(self) -> int:
        """Write the index as the snapshot; returns the bytes written."""
        async with self._lock:
            # Taken under the lock, so the image and the position it reflects belong together.
            image = await asyncio.to_thread(self.index.image)
            last_change, unsaved = self.last_change, self.unsaved
        written = await save_snapshot(self.db, image, last_change)
        self.unsaved = max(0, self.unsaved - unsaved)
        return written

    async def build(self) -> int:
        """Index every paper not yet indexed; returns how many were added."""
        async with self._lock:
            if self.index.last_id == 0:
                self.last_change = await stored.last_title_change(self.db)
            return await self._add_new()

    async def refresh(self) -> int:
        """Catch up with loads since the last call; returns the papers (re)indexed or removed."""
        async with self._lock:
            done = await self._apply_changes() + await self._add_new()
            self.unsaved += done
            return done

    async def _add_new(self) -> int:
        added = 0
        while True:
            batch = await stored.titles_after(self.db, self.index.last_id, BUILD_CHUNK)
            if not batch:
                return added
            # A big chunk is tokenised off the event loop; a handful of new papers is not worth a hop.
            if len(batch) > 200:
                added += await asyncio.to_thread(self.index.add, batch)
            else:
                added += self.index.add(batch)

    async def _apply_changes(self) -> int:
        changes = await stored.title_changes_after(self.db, self.last_change, up_to_id=self.index.last_id)
        if not changes.last:
            return 0
        if changes.first > self.last_change + 1 and await stored.oldest_title_change(self.db) > self.last_change + 1:
            self.index = TitleIndex()  # the log no longer reaches back to us: start again
            self.last_change = changes.last
            return await self._add_new()
        self.last_change = changes.last
        current = await stored.titles_by_id(self.db, changes.paper_ids)
        found = {r.paper_id for r in current}
        gone = [i for i in changes.paper_ids if i not in found and self.index.title(i) is not None]
        self.index.remove(gone)
        # A paper indexed as it is now (a title changed and changed back, or on PostgreSQL a new
        # paper the index already found by id) is left alone: re-adding it would look like a change.
        fresh = [r for r in current if not self.index.holds(r)]
        self.index.add(fresh)
        if self.upkeep:
            await stored.prune_title_changes(self.db, self.last_change - KEEP_CHANGES)
        return len(gone) + len(fresh)
