"""What the title look-up reads and keeps in the archive (the in-memory index is `bot/lookup/`).

- the titles to index: papers above an id, or named by id (`TitleRow`);
- the title-change log that triggers fill when a title changes or a paper goes, so an index kept
  in memory can catch up by polling, whichever process wrote (on PostgreSQL, where transactions
  commit paper ids out of order, it logs new papers too: migration 0016);
- the index snapshot: named byte strings stored in `title_snapshot`, replaced in one transaction;
- what a hit shows beyond the index (`MatchDetails`, `paper_dates`).

The SQL: storage/sqlite/lookup.py, storage/postgres/lookup.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from storage.db import Database
from storage.dispatch import per_backend
from storage.papers import Row, as_date

SNAPSHOT_CHUNK_BYTES = 16 << 20  # one blob per 16 MiB of a part: SQLite's default blob limit is 1 GB


@dataclass(frozen=True, slots=True)
class TitleRow:
    """What the index needs of one paper."""

    paper_id: int
    title: str
    first_listed: dt.date | None


@dataclass(frozen=True, slots=True)
class MatchDetails:
    """What a look-up hit shows of a paper beyond the index, and what breaks ties between hits."""

    title: str
    arxiv_id: str | None
    published: dt.date | None
    listings: int  # digests that listed it
    upvotes: int  # most upvotes it got in one


@dataclass(frozen=True, slots=True)
class TitleChanges:
    """What the change log holds after a position: where it starts and ends, and the papers to
    look at again (changed titles or listing dates, deletions, and papers that were committed
    after an index passed their id)."""

    first: int  # the oldest sequence number read (0: none)
    last: int  # the newest (0: none); the position to ask after next time
    paper_ids: list[int]  # ascending, each once


def title_row(row: Row) -> TitleRow:
    """A `TitleRow` from a row of id, title, first_listed, read by either backend."""
    return TitleRow(int(row["id"]), row["title"], as_date(row["first_listed"]))


def snapshot_rows(parts: Mapping[str, bytes]) -> list[tuple[str, int, bytes]]:
    """(part, chunk number, bytes) rows of a snapshot: each part cut into SNAPSHOT_CHUNK_BYTES pieces."""
    return [(name, n, chunk) for name, data in parts.items() for n, chunk in enumerate(
        [data[i:i + SNAPSHOT_CHUNK_BYTES] for i in range(0, len(data), SNAPSHOT_CHUNK_BYTES)] or [b""])]


def snapshot_parts(rows: Sequence[Row]) -> dict[str, bytes] | None:
    """The parts from rows of part, chunk, data in (part, chunk) order; None when there are none,
    or a chunk is missing or foreign."""
    pieces: dict[str, list[bytes]] = {}
    for row in rows:
        chunks = pieces.setdefault(row["part"], [])
        if int(row["chunk"]) != len(chunks) or not isinstance(row["data"], bytes):
            return None  # a gap or a foreign row: not a snapshot we wrote
        chunks.append(row["data"])
    return {name: b"".join(chunks) for name, chunks in pieces.items()} or None


@per_backend
async def titles_after(db: Database, paper_id: int, limit: int) -> list[TitleRow]:
    """Up to `limit` papers with an id above `paper_id`, in id order."""
    raise NotImplementedError


@per_backend
async def titles_by_id(db: Database, paper_ids: Sequence[int]) -> list[TitleRow]:
    """The papers asked for that exist, in id order."""
    raise NotImplementedError


@per_backend
async def last_title_change(db: Database) -> int:
    """The newest title-change sequence number (0: none yet). Every change committed before the
    call is at or below it; one committed later is above it."""
    raise NotImplementedError


@per_backend
async def oldest_title_change(db: Database) -> int:
    """The oldest title-change sequence number still logged (0: the log is empty)."""
    raise NotImplementedError


@per_backend
async def title_changes_after(db: Database, seq: int, *, up_to_id: int) -> TitleChanges:
    """The changes logged after sequence number `seq`, and of their papers those with an id up to
    `up_to_id` (an index learns of papers above it by id: `titles_after`). A later call after
    the `last` returned misses nothing committed meanwhile, whichever process committed it."""
    raise NotImplementedError


@per_backend
async def prune_title_changes(db: Database, through: int) -> None:
    """Forget the title changes up to sequence number `through`."""
    raise NotImplementedError


@per_backend
def watch_titles(db: Database, on_change: Callable[[], None]) -> AbstractAsyncContextManager[bool]:
    """While the block runs, call `on_change` (on the event loop) soon after any process commits
    new papers or a title change, so an index need not wait for its next poll to hear of them.
    Yields whether this backend can: SQLite cannot (its readers poll), and on PostgreSQL a
    server that cannot be listened to leaves polling too."""
    raise NotImplementedError


@per_backend
async def paper_dates(db: Database, paper_ids: Sequence[int]) -> dict[int, tuple[dt.date | None, dt.date]]:
    """(published, first_listed) of each paper asked for."""
    raise NotImplementedError


@per_backend
async def match_details(db: Database, paper_ids: Sequence[int]) -> dict[int, MatchDetails]:
    """`MatchDetails` of each paper asked for that exists: one query (no abstract or JSON columns),
    since a look-up runs it on every keystroke of autocomplete."""
    raise NotImplementedError


@per_backend
async def save_snapshot(db: Database, parts: Mapping[str, bytes]) -> int:
    """Replace the stored snapshot with `parts`, in one transaction; returns the bytes written.
    A database that refuses the write (read-only, busy, a user without write rights) raises
    DatabaseUnavailable on either backend: the snapshot is only a cache."""
    raise NotImplementedError


@per_backend
async def load_snapshot(db: Database) -> dict[str, bytes] | None:
    """The stored snapshot's parts, or None when there is none or a chunk is missing or foreign."""
    raise NotImplementedError
