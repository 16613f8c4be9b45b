"""Keeping a `TitleIndex` in step with the archive: a start from the saved snapshot (or one
streaming build when there is none), then cheap polls.

New papers are found by id above the highest id indexed; changed titles and deleted papers
through `title_changes`, which triggers fill (migration 0003). Polling rather than a loader hook
means a load by another process (`paperboy ingest` while the bot runs) is seen too, and nothing
is indexed from a transaction that later rolls back.

Start-up loads the snapshot (storage.titles.snapshot: the index as a few blobs plus the position
it reflects) and replays only what came after it, the same way a poll does; the snapshot is
written again once `SNAPSHOT_AFTER` papers were (re)indexed since, so replay stays short.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from storage.db import Database
from storage.errors import DatabaseUnavailable
from storage.titles.index import ImageError, TitleIndex, TitleRow
from storage.titles.snapshot import load_snapshot, save_snapshot

log = logging.getLogger(__name__)

BUILD_CHUNK = 50_000
KEEP_CHANGES = 100_000  # log rows kept; an index further behind than that rebuilds
# Papers (re)indexed since the stored snapshot before it is written again: replaying this many
# at start-up takes a fraction of a second, and writing (~120 MB at 1M titles) stays rare.
SNAPSHOT_AFTER = 20_000


@dataclass(frozen=True, slots=True)
class StartReport:
    """How `TitleIndexSync.start` got its index."""

    from_snapshot: bool
    replayed: int  # papers added, changed or removed after the snapshot (all of them on a build)
    saved_bytes: int  # snapshot written at the end of start-up (0: none was due)


def _row(row: sqlite3.Row) -> TitleRow:
    listed = row["first_listed"]
    return TitleRow(int(row["id"]), row["title"], dt.date.fromisoformat(listed) if listed else None)


async def _last_change(db: Database) -> int:
    row = await db.fetchone("SELECT COALESCE(MAX(seq), 0) FROM title_changes")
    return int(row[0]) if row else 0


class TitleIndexSync:
    """Owns one index and the position in the archive it reflects. Use from one event loop."""

    def __init__(self, db: Database, index: TitleIndex | None = None) -> None:
        self.db = db
        self.index = index or TitleIndex()
        self.last_change = 0
        self.unsaved = 0  # papers (re)indexed since the stored snapshot; past SNAPSHOT_AFTER it is rewritten
        self._lock = asyncio.Lock()

    async def start(self, *, save: bool = True) -> StartReport:
        """Load the snapshot and replay what came after it, or build from the papers when there is
        no usable snapshot; then write a snapshot if one is due (`save`)."""
        async with self._lock:
            snapshot = await load_snapshot(self.db)
            index = None
            if snapshot is not None and snapshot.last_change <= await _last_change(self.db):
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
                self.last_change = await _last_change(self.db)
                replayed = await self._add_new()
                self.unsaved = max(replayed, SNAPSHOT_AFTER)  # no usable snapshot: write one
        saved = 0
        if save and self.snapshot_due():
            try:
                saved = await self.save()
            except (sqlite3.Error, DatabaseUnavailable) as exc:
                # Only a cache (a read-only or busy database): the next start-up builds again.
                log.warning("title index snapshot not saved: %s", exc)
        return StartReport(index is not None, replayed, saved)

    def snapshot_due(self) -> bool:
        return self.unsaved >= SNAPSHOT_AFTER

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
                self.last_change = await _last_change(self.db)
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
            rows = await self.db.fetchall(
                "SELECT id, title, first_listed FROM papers WHERE id > ? ORDER BY id LIMIT ?",
                (self.index.last_id, BUILD_CHUNK))
            if not rows:
                return added
            batch = [_row(r) for r in rows]
            # A big chunk is tokenised off the event loop; a handful of new papers is not worth a hop.
            if len(batch) > 200:
                added += await asyncio.to_thread(self.index.add, batch)
            else:
                added += self.index.add(batch)

    async def _apply_changes(self) -> int:
        rows = await self.db.fetchall(
            "SELECT seq, paper_id FROM title_changes WHERE seq > ? ORDER BY seq", (self.last_change,))
        if not rows:
            return 0
        first = int(rows[0]["seq"])
        if first > self.last_change + 1 and await self._log_pruned_past_us():
            self.index = TitleIndex()  # the log no longer reaches back to us: start again
            self.last_change = int(rows[-1]["seq"])
            return await self._add_new()
        self.last_change = int(rows[-1]["seq"])
        ids = sorted({int(r["paper_id"]) for r in rows if int(r["paper_id"]) <= self.index.last_id})
        current = await _rows_by_id(self.db, ids)
        found = {r.paper_id for r in current}
        self.index.remove(i for i in ids if i not in found)
        self.index.add(current)
        await self.db.execute("DELETE FROM title_changes WHERE seq <= ?", (self.last_change - KEEP_CHANGES,))
        return len(ids)

    async def _log_pruned_past_us(self) -> bool:
        row = await self.db.fetchone("SELECT COALESCE(MIN(seq), 0) FROM title_changes")
        return row is not None and int(row[0]) > self.last_change + 1


async def _rows_by_id(db: Database, ids: Sequence[int]) -> list[TitleRow]:
    if not ids:
        return []
    rows = await db.fetchall(
        "SELECT id, title, first_listed FROM papers WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
        (json.dumps(list(ids)),))
    return [_row(r) for r in rows]


async def paper_dates(db: Database, paper_ids: Sequence[int]) -> dict[int, tuple[dt.date | None, dt.date]]:
    """(published, first_listed) of each paper asked for."""
    rows = await db.fetchall(
        "SELECT id, published, first_listed FROM papers WHERE id IN (SELECT value FROM json_each(?))",
        (json.dumps(list(paper_ids)),))
    return {int(r["id"]): (dt.date.fromisoformat(r["published"]) if r["published"] else None,
                           dt.date.fromisoformat(r["first_listed"])) for r in rows}


@dataclass(frozen=True, slots=True)
class MatchDetails:
    """What a look-up hit shows of a paper beyond the index, and what breaks ties between hits."""

    title: str
    arxiv_id: str | None
    published: dt.date | None
    listings: int  # digests that listed it
    upvotes: int  # most upvotes it got in one


async def match_details(db: Database, paper_ids: Sequence[int]) -> dict[int, MatchDetails]:
    """`MatchDetails` of each paper asked for that exists: one query (no abstract or JSON columns),
    since a look-up runs it on every keystroke of autocomplete.

    The rows come back as one JSON array in a single row: the sqlite3 module lets go of the GIL
    around every step, and while a title search holds it in another thread each step waited a
    whole switch interval to get it back, on the connection's thread that every other query
    then queued behind."""
    # In one hop to the connection's thread (`fetchone` makes three: execute, fetch, close): the
    # event loop answers each hop only between the autocomplete searches that run on it, so hops
    # cost more than the SQL.
    rows = await db.conn.execute_fetchall(
        "SELECT json_group_array(json_array(id, title, arxiv_id, published, listings, upvotes)) FROM ("
        " SELECT p.id, p.title, p.arxiv_id, p.published, COUNT(e.paper_id) AS listings,"
        " COALESCE(MAX(e.upvotes), 0) AS upvotes FROM papers AS p"
        " LEFT JOIN digest_entries AS e ON e.paper_id = p.id"
        " WHERE p.id IN (SELECT value FROM json_each(?)) GROUP BY p.id)",
        (json.dumps(list(paper_ids)),))
    row = next(iter(rows), None)
    found = json.loads(row[0]) if row is not None and row[0] else []
    return {int(pid): MatchDetails(title, arxiv_id, dt.date.fromisoformat(published) if published else None,
                                   int(listings), int(upvotes))
            for pid, title, arxiv_id, published, listings, upvotes in found}


async def paper_ids_for_titles(db: Database, titles: Sequence[str]) -> dict[str, set[int]]:
    """The papers stored under each title (same normalised title), e.g. to check look-up results."""
    from storage.normalize import title_key

    keys = {title: title_key(title) for title in titles}
    rows = await db.fetchall(
        "SELECT p.id, p.title_key FROM json_each(?) AS k JOIN papers AS p ON p.title_key = k.value",
        (json.dumps(sorted(set(keys.values()))),))
    by_key: dict[str, set[int]] = {}
    for r in rows:
        by_key.setdefault(r["title_key"], set()).add(int(r["id"]))
    return {title: by_key.get(key, set()) for title, key in keys.items()}
