"""storage/lookup.py on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager

import asyncpg

from storage import lookup
from storage.errors import DatabaseUnavailable
from storage.lookup import MatchDetails, TitleChanges, TitleRow, snapshot_parts, snapshot_rows, title_row
from storage.postgres.db import LOST, PostgresDatabase

log = logging.getLogger(__name__)

# What the triggers of title_changes NOTIFY (migrations 0001 and 0016).
TITLES_CHANNEL = "paperboy_titles"


@lookup.titles_after.register(PostgresDatabase)
async def titles_after(db: PostgresDatabase, paper_id: int, limit: int) -> list[TitleRow]:
    rows = await db.fetchall(
        "SELECT id, title, first_listed FROM papers WHERE id > $1 ORDER BY id LIMIT $2", (paper_id, limit))
    return [title_row(r) for r in rows]


@lookup.titles_by_id.register(PostgresDatabase)
async def titles_by_id(db: PostgresDatabase, paper_ids: Sequence[int]) -> list[TitleRow]:
    if not paper_ids:
        return []
    rows = await db.fetchall(
        "SELECT id, title, first_listed FROM papers WHERE id = ANY($1::bigint[]) ORDER BY id", (list(paper_ids),))
    return [title_row(r) for r in rows]


# pg_advisory_xact_lock key of the log's stampers ("pbtitles"): one at a time, see _stamp.
_STAMP_LOCK = 0x70627469746C6573


async def _stamp(db: PostgresDatabase) -> None:
    """Give the log rows committed without a position the next positions (migration 0016).

    One stamper at a time, each committing before the next starts: a row committed while one
    stamps is left for the next, whose positions are all higher. So positions grow in the order
    rows became visible, and a reader that read up to a position can never be handed a lower one."""
    if await db.fetchone("SELECT 1 FROM title_changes WHERE pos IS NULL LIMIT 1") is None:
        return
    async with db.transaction() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _STAMP_LOCK)
        await conn.execute("UPDATE title_changes SET pos = nextval('title_changes_pos') WHERE pos IS NULL")


@lookup.last_title_change.register(PostgresDatabase)
async def last_title_change(db: PostgresDatabase) -> int:
    await _stamp(db)
    row = await db.fetchone("SELECT COALESCE(MAX(pos), 0) FROM title_changes")
    return int(row[0]) if row else 0


@lookup.oldest_title_change.register(PostgresDatabase)
async def oldest_title_change(db: PostgresDatabase) -> int:
    row = await db.fetchone("SELECT COALESCE(MIN(pos), 0) FROM title_changes")
    return int(row[0]) if row else 0


@lookup.title_changes_after.register(PostgresDatabase)
async def title_changes_after(db: PostgresDatabase, seq: int, *, up_to_id: int) -> TitleChanges:
    await _stamp(db)
    bounds = await db.fetchone("SELECT MIN(pos), MAX(pos) FROM title_changes WHERE pos > $1", (seq,))
    if bounds is None or bounds[1] is None:
        return TitleChanges(0, 0, [])
    # A logged range of new papers names those of its ids that exist now; only the ids an index
    # has already passed matter (it finds the rest by id).
    rows = await db.fetchall(
        "SELECT paper_id AS id FROM title_changes"
        " WHERE pos > $1 AND pos <= $2 AND through_id IS NULL AND paper_id <= $3"
        " UNION SELECT p.id FROM title_changes AS c"
        " JOIN papers AS p ON p.id BETWEEN c.paper_id AND LEAST(c.through_id, $3)"
        " WHERE c.pos > $1 AND c.pos <= $2 AND c.through_id IS NOT NULL ORDER BY 1",
        (seq, bounds[1], up_to_id))
    return TitleChanges(int(bounds[0]), int(bounds[1]), [int(r["id"]) for r in rows])


@lookup.prune_title_changes.register(PostgresDatabase)
async def prune_title_changes(db: PostgresDatabase, through: int) -> None:
    await db.execute("DELETE FROM title_changes WHERE pos <= $1", (through,))


@lookup.watch_titles.register(PostgresDatabase)
@asynccontextmanager
async def watch_titles(db: PostgresDatabase, on_change: Callable[[], None]) -> AsyncIterator[bool]:
    listener = _TitleListener(db, on_change)
    try:
        await listener.listen()
    except LOST + (asyncpg.PostgresError,) as exc:
        await listener.close()
        log.warning("not listening for title changes on %s (polling instead): %s", db.location, exc)
        yield False
        return
    try:
        yield True
    finally:
        await listener.close()


# Seconds between attempts to listen again after the server went away: doubling up to the last.
RELISTEN_FIRST, RELISTEN_MAX = 0.5, 30.0


class _TitleListener:
    """LISTEN on a connection of its own, outside the pool: LISTEN lasts as long as the connection,
    and a pooled one would be handed to other statements (and reset) meanwhile. When the server
    goes away the connection ends; the listener connects and listens again with backoff, then
    calls `on_change` once, since whatever was announced meanwhile was missed."""

    def __init__(self, db: PostgresDatabase, on_change: Callable[[], None]) -> None:
        self.db = db
        self.on_change = on_change
        self.conn: asyncpg.Connection | None = None
        self.closing = False
        self.retry: asyncio.Task[None] | None = None

    async def listen(self) -> None:
        conn = await asyncpg.connect(self.db.url)
        try:
            await conn.add_listener(TITLES_CHANNEL, lambda *_: self.on_change())
        except BaseException:
            conn.terminate()
            raise
        conn.add_termination_listener(self._ended)
        self.conn = conn

    def _ended(self, conn: asyncpg.Connection) -> None:
        if self.closing or conn is not self.conn:
            return
        self.conn = None
        log.warning("lost the title-change listener on %s; listening again once the server is back", self.db.location)
        self.retry = asyncio.get_running_loop().create_task(self._listen_again())

    async def _listen_again(self) -> None:
        delay = RELISTEN_FIRST
        while not self.closing:
            await asyncio.sleep(delay)
            try:
                await self.listen()
            except LOST + (asyncpg.PostgresError,) as exc:
                log.debug("title-change listener: %s; trying again in %.1f s", exc, delay)
                delay = min(delay * 2, RELISTEN_MAX)
                continue
            if self.closing:  # closed while connecting
                await self._close_conn()
                return
            log.info("listening for title changes on %s again", self.db.location)
            self.on_change()
            return

    async def _close_conn(self) -> None:
        conn, self.conn = self.conn, None
        if conn is None:
            return
        try:
            await asyncio.wait_for(conn.close(), 5)
        except BaseException:
            # Refused, timed out or cancelled (a CLI's loop closing): never leave it open, and
            # let a cancellation go on.
            conn.terminate()
            if not isinstance(sys.exc_info()[1], (*LOST, asyncpg.PostgresError, TimeoutError)):
                raise

    async def close(self) -> None:
        self.closing = True
        if self.retry is not None and not self.retry.done():
            self.retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.retry
        await self._close_conn()


@lookup.paper_dates.register(PostgresDatabase)
async def paper_dates(db: PostgresDatabase, paper_ids: Sequence[int]) -> dict[int, tuple[dt.date | None, dt.date]]:
    rows = await db.fetchall(
        "SELECT id, published, first_listed FROM papers WHERE id = ANY($1::bigint[])", (list(paper_ids),))
    return {int(r["id"]): (r["published"], r["first_listed"]) for r in rows}


@lookup.match_details.register(PostgresDatabase)
async def match_details(db: PostgresDatabase, paper_ids: Sequence[int]) -> dict[int, MatchDetails]:
    if not paper_ids:
        return {}
    # Each paper's listings counted through the paper_id index (LATERAL): as a join, an estimate of
    # thousands of listings a paper (statistics taken mid-load) made the planner hash-join every
    # entry of the archive for a few dozen papers.
    rows = await db.fetchall(
        "SELECT p.id, p.title, p.arxiv_id, p.published, e.listings, e.upvotes FROM papers AS p"
        " CROSS JOIN LATERAL (SELECT COUNT(*) AS listings, COALESCE(MAX(upvotes), 0) AS upvotes"
        " FROM digest_entries WHERE paper_id = p.id) AS e"
        " WHERE p.id = ANY($1::bigint[])", (list(paper_ids),))
    return {int(r["id"]): MatchDetails(r["title"], r["arxiv_id"], r["published"], int(r["listings"]), int(r["upvotes"]))
            for r in rows}


@lookup.save_snapshot.register(PostgresDatabase)
async def save_snapshot(db: PostgresDatabase, parts: Mapping[str, bytes]) -> int:
    rows = snapshot_rows(parts)
    try:
        async with db.transaction() as conn:
            await conn.execute("DELETE FROM title_snapshot")
            await conn.executemany("INSERT INTO title_snapshot (part, chunk, data) VALUES ($1, $2, $3)", rows)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise DatabaseUnavailable(f"the title snapshot was not written: {exc}") from exc
    return sum(len(r[2]) for r in rows)


@lookup.load_snapshot.register(PostgresDatabase)
async def load_snapshot(db: PostgresDatabase) -> dict[str, bytes] | None:
    return snapshot_parts(await db.fetchall(
        'SELECT part, chunk, data FROM title_snapshot ORDER BY part COLLATE "C", chunk'))
