"""Copying a whole archive from one database to another, either backend to either (`paperboy migrate-db`).

The copy works table by table, below the repository functions: each backend has a table reader
and a table writer (storage/sqlite/transfer.py, storage/postgres/transfer.py) that turn its own
column types into the neutral values below and back, so SQLite's ISO texts and JSON texts become
PostgreSQL's timestamptz, date and jsonb and the other way round:

    int   int                         text  str
    bool  bool (SQLite: 0 or 1)       date  datetime.date (SQLite: YYYY-MM-DD)
    time  aware datetime in UTC (SQLite: YYYY-MM-DDTHH:MM:SSZ, as storage.db.iso writes it)
    time_us  the same, kept to the microsecond on SQLite (iso(precise=True): the order within a second matters)
    json  a JSON value (SQLite: text; compact with sorted keys, or with spaces, as each table's
          own module writes it, so a copy back to SQLite stores the same text)

Ids are copied as they are (PostgreSQL's identity sequences are then moved past them). Rows
stream through in chunks, so an archive of a million papers never sits in memory. The whole copy
is one transaction on the target: interrupted or refused, the target is left as it was.

Lossless is checked, not assumed: while the source is read, every table's rows are counted and
hashed in a canonical form (`row_line`: each value in one textual form whatever the backend);
before the target's transaction commits, the writer reads its tables back through its own reader
and the same hash is computed. Any difference in a count or a checksum rolls the copy back. The
checksum of a table is the sum of its rows' SHA-256 digests modulo 2**256: independent of the
order rows are read in (the backends need not sort text alike), still changed by any altered,
missing or extra row.

Not copied: each backend's own bookkeeping (schema_migrations, SQLite's FTS5 tables; PostgreSQL's
search column, derived from the row, and its search_versions) and three caches, emptied on the
target and rebuilt when next needed: title_snapshot (the title index's saved image; the next start builds
the index from the papers), title_changes (the log title indexes catch up from, kept by each
backend in its own form) and summary_term_counts (the daily summary's term counts, which each
backend counts with its own stemming). Nor is the runtime state of the processes using a
database (processes, leases: storage/processes.py), also emptied on the target: the processes
that will run against it register themselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from storage.address import is_postgres, shown_address, sqlite_path
from storage.db import Database
from storage.dispatch import per_backend
from storage.errors import StorageError

CHUNK_ROWS = 5000  # rows per read and per write: memory stays flat however large the archive

Row = tuple[Any, ...]
# (step, table, rows done so far, rows in the table); step: "copying", "finishing" (the target's
# indexes and statistics, table ""), "checking" (the target's rows, read back and hashed).
Progress = Callable[[str, str, int, int], None]


class TransferError(StorageError):
    """The copy could not be made, or did not check out; the target was left as it was."""


class TargetNotEmpty(TransferError):
    """The target already holds an archive, and replacing it was not asked for."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: str  # int, text, bool, date, time, time_us, json, json_spaced (json written with spaces on SQLite)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # the primary key: rows are read in its order
    identity: str | None = None  # the column PostgreSQL numbers (its sequence is moved past the ids)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def _table(name: str, columns: str, key: str = "id", identity: str | None = None) -> Table:
    """`columns` as "name:kind name:kind ..." (kind defaults to text)."""
    parsed = tuple(Column(*(part.split(":") if ":" in part else (part, "text"))) for part in columns.split())
    return Table(name, parsed, tuple(key.split()), identity)


_SENT = "reason attempts:int next_attempt_at:time"
_STAMPS = "created_at:time updated_at:time"

# Every table an archive holds, parents before children (foreign keys hold at every step).
TABLES: tuple[Table, ...] = (
    _table("papers", "id:int arxiv_id title_key title abstract authors:json links:json categories:json "
                     f"keywords:json ai_summary published:date first_listed:date {_STAMPS}", identity="id"),
    _table("digests", "id:int source date:date format content_hash paper_count:int fetched_at:time updated_at:time",
           identity="id"),
    _table("digest_entries", "digest_id:int paper_id:int position:int upvotes:int comments:int",
           key="digest_id paper_id"),
    _table("subscription_users", f"user_id paused:bool delivery fallback:bool guild_id cap:int {_STAMPS}",
           key="user_id"),
    _table("subscriptions", "id:int user_id topic query created_at:time", identity="id"),
    _table("deliveries", f"id:int user_id digest_id:int kind status {_SENT} channel_id message_id error {_STAMPS}",
           identity="id"),
    _table("delivery_papers", "user_id paper_id:int delivery_id:int position:int topics:json_spaced "
                              "terms:json_spaced title", key="user_id paper_id"),
    _table("guild_schedules", "guild_id channel_id post_time timezone thread:bool role_id:int paused:bool "
                              f"on_empty source digest_day active_since:time {_STAMPS}", key="guild_id"),
    _table("posts", f"id:int guild_id channel_id post_date:date digest_id:int kind status key {_SENT} message_id "
                    f"thread_id pages_sent:int error {_STAMPS}", identity="id"),
    _table("fetch_validators", "url etag last_modified items:int updated_at:time", key="url"),
    _table("fetch_sources", "source last_attempt_at:time last_success_at:time last_failure_at:time last_outcome "
                            "last_error consecutive_failures:int backoff_until:time last_date:date", key="source"),
    _table("fetch_days", "source date:date status papers:int attempts:int error updated_at:time", key="source date"),
    _table("app_state", "key value updated_at:time", key="key"),
    _table("pending_matches", "id:int digest_id:int paper_ids:json_spaced done_through created_at:time",
           identity="id"),
    _table("llm_tldrs", "paper_id:int model prompt_version:int input_hash text problem origin tokens:int "
                        "created_at:time", key="paper_id model prompt_version"),
    _table("llm_overviews", "digest_id:int model prompt_version:int input_hash text problem origin tokens:int "
                            "created_at:time", key="digest_id model prompt_version"),
    _table("llm_usage", "day:date model requests:int prompt_tokens:int completion_tokens:int failures:int "
                        "rejected:int extractive_posts:int last_problem last_problem_at:time last_post_note",
           key="day model"),
    _table("votes", "guild_id paper_id:int user_id created_at:time", key="guild_id paper_id user_id"),
    _table("library", "user_id paper_id:int saved_at:time_us", key="user_id paper_id"),
    _table("recommend_weekly", "user_id created_at:time guild_id next_at:time", key="user_id"),
    _table("recommend_sends", f"id:int user_id week status papers:int reason {_STAMPS}", identity="id"),
)

# Caches: emptied on the target (never copied), rebuilt when next needed.
# The title log is one of them: each backend keeps it in its own form (PostgreSQL orders it by
# commit), and a target's title indexes start from scratch anyway.
# So is the processes' runtime state: who runs and who holds which lease belongs to the source.
# The similarity index too: `paperboy similar --rebuild` (or the bot's catch-up) weighs it again.
CACHES = ("title_snapshot", "summary_term_counts", "title_changes", "processes", "leases",
          "paper_terms", "similar_vectors", "similar_terms", "similar_retired")


# -- the canonical form -------------------------------------------------------------------------

def time_text(moment: dt.datetime) -> str:
    """A moment as SQLite stores it (storage.db.iso), keeping microseconds when it has them."""
    utc = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds" if utc.microsecond else "seconds") + "Z"


def parse_time(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _canonical(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("time", "time_us"):
        return time_text(value)
    if kind == "date":
        return value.isoformat()
    return value  # int, str, bool and JSON values are already one form


def row_line(table: Table, row: Row) -> bytes:
    """One row in the canonical form both backends' rows are hashed in."""
    values = [_canonical(column.kind, value) for column, value in zip(table.columns, row, strict=True)]
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@dataclass(slots=True)
class TableSum:
    """A table's row count and order-independent checksum."""

    rows: int = 0
    total: int = 0

    def add(self, table: Table, rows: Sequence[Row]) -> None:
        for row in rows:
            digest = hashlib.sha256(row_line(table, row)).digest()
            self.total = (self.total + int.from_bytes(digest, "big")) % (1 << 256)
        self.rows += len(rows)

    @property
    def checksum(self) -> str:
        return f"{self.total:064x}"


async def table_sum(reader: TableReader, table: Table, chunk_rows: int = CHUNK_ROWS) -> TableSum:
    found = TableSum()
    async for chunk in reader.chunks(table, chunk_rows):
        found.add(table, chunk)
    return found


# -- the per-backend readers and writers ----------------------------------------------------------

class TableReader(Protocol):
    """Reads one consistent snapshot of a database's tables as neutral values."""

    async def count(self, table: Table) -> int: ...

    def chunks(self, table: Table, size: int) -> AsyncIterator[list[Row]]:
        """The table's rows in key order, `size` at a time, each a tuple in `table.columns` order."""
        ...


class TableWriter(Protocol):
    """Writes a database's tables inside one transaction, committed when its block ends."""

    async def counts(self) -> dict[str, int]:
        """Rows in every copied table (caches are not the archive: they never make it non-empty)."""
        ...

    async def clear(self, tables: bool) -> None:
        """Delete every row of the caches and, with `tables`, of every copied table."""
        ...

    async def write(self, table: Table, rows: list[Row]) -> None: ...

    async def finish(self) -> None:
        """After the last table: what the backend derives from the rows (SQLite's full-text
        index, PostgreSQL's identity sequences and planner statistics)."""
        ...

    def reader(self) -> TableReader:
        """A reader of what this writer's transaction has written so far."""
        ...


@per_backend
async def stored_columns(db: Database) -> dict[str, set[str]]:
    """Every table of `db` that holds archive data, with its columns: the backend's bookkeeping
    (schema_migrations, SQLite's full-text index tables) and generated columns left out."""
    raise NotImplementedError


async def check_schema(db: Database) -> None:
    """Refuse a database with a table or column the copy does not know (a newer Paperboy's, or
    one added without teaching TABLES about it: copying would drop it), or lacking one it knows."""
    known = {t.name: set(t.names) for t in TABLES}
    found = await stored_columns(db)
    for name in sorted(found.keys() - known.keys() - set(CACHES)):
        raise TransferError(f"{db.location} has a table migrate-db does not know, {name}: it would not be copied "
                            "(a newer Paperboy's? storage/transfer.py lists every table)")
    for name, columns in known.items():
        unknown, missing = found.get(name, set()) - columns, columns - found.get(name, set())
        if unknown or missing:
            what = (f"column {name}.{sorted(unknown)[0]} that migrate-db does not know" if unknown else
                    f"no {name}.{sorted(missing)[0]}" if name in found else f"no table {name}")
            raise TransferError(f"{db.location} has {what}; its schema is not the one this Paperboy copies")


@per_backend
def read_tables(db: Database) -> AbstractAsyncContextManager[TableReader]:
    """A reader of one consistent snapshot of `db` (a read transaction that blocks no writer)."""
    raise NotImplementedError


@per_backend
def write_tables(db: Database) -> AbstractAsyncContextManager[TableWriter]:
    """A writer whose rows commit together when the block ends, or not at all on an exception."""
    raise NotImplementedError


# -- the copy -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class TableResult:
    table: str
    source: TableSum
    target: TableSum

    @property
    def matches(self) -> bool:
        return (self.source.rows, self.source.total) == (self.target.rows, self.target.total)


@dataclass(slots=True)
class TransferReport:
    source: str
    target: str
    tables: list[TableResult] = field(default_factory=list)
    replaced: dict[str, int] = field(default_factory=dict)  # rows the target held before (--force)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.source.rows for t in self.tables)

    @property
    def matches(self) -> bool:
        return all(t.matches for t in self.tables)


class Mismatch(TransferError):
    """The target's counts or checksums differ from the source's: the copy was rolled back."""

    def __init__(self, report: TransferReport) -> None:
        self.report = report
        bad = ", ".join(t.table for t in report.tables if not t.matches)
        super().__init__(f"the copy in {report.target} does not match {report.source} in {bad}; "
                         "it was rolled back, the target is unchanged")


def check_addresses(source: str, target: str) -> None:
    """Refuse, before opening anything, a SQLite source file that does not exist (opening it would
    make an empty archive) and a target that is the source."""
    if not is_postgres(source) and not os.path.isfile(os.path.expanduser(sqlite_path(source))):
        raise TransferError(f"{sqlite_path(source)}: no such database file to copy from")
    if is_postgres(source) or is_postgres(target):
        same = shown_address(source) == shown_address(target)
    else:
        same = os.path.realpath(os.path.expanduser(sqlite_path(source))) == \
            os.path.realpath(os.path.expanduser(sqlite_path(target)))
    if same:
        raise TransferError(f"the source and the target are the same database ({shown_address(source)})")


async def migrate(source: Database, target: Database, *, force: bool = False, chunk_rows: int = CHUNK_ROWS,
                  progress: Progress | None = None) -> TransferReport:
    """Copy every table of `source` into `target`, checking counts and checksums before the
    target commits. Refuses (TargetNotEmpty) a target holding any row unless `force`, which
    replaces its contents. Raises Mismatch, the target unchanged, when the copy differs."""
    if source.location == target.location:
        raise TransferError(f"the source and the target are the same database ({source.location})")
    started = time.monotonic()
    report = TransferReport(source.location, target.location)
    for db in (source, target):
        await check_schema(db)
    async with read_tables(source) as reader, write_tables(target) as writer:
        held = {name: n for name, n in (await writer.counts()).items() if n}
        if held and not force:
            listed = ", ".join(f"{name} {n:,}" for name, n in held.items())
            raise TargetNotEmpty(f"the target {target.location} is not empty (rows: {listed}); pass --force to "
                                 "replace its contents with the source's")
        await writer.clear(tables=bool(held))
        report.replaced = held
        sums: dict[str, TableSum] = {}
        for table in TABLES:
            total = await reader.count(table)
            sums[table.name] = copied = TableSum()
            if progress:
                progress("copying", table.name, 0, total)
            async for chunk in reader.chunks(table, chunk_rows):
                copied.add(table, chunk)
                await writer.write(table, chunk)
                if progress:
                    progress("copying", table.name, copied.rows, total)
        if progress:
            progress("finishing", "", 0, 0)
        await writer.finish()
        written = writer.reader()
        for table in TABLES:
            checked = await table_sum(written, table, chunk_rows)
            if progress:
                progress("checking", table.name, checked.rows, checked.rows)
            report.tables.append(TableResult(table.name, sums[table.name], checked))
        if not report.matches:
            raise Mismatch(report)  # leaving the writer's block by an exception rolls the copy back
    report.seconds = time.monotonic() - started
    return report
