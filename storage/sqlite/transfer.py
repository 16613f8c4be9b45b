"""SQLite's table reader and writer for `paperboy migrate-db` (storage/transfer.py has the why).

SQLite keeps times, days and JSON as text: the reader parses each value into the neutral form and
names the table, row and column of one it cannot read; the writer writes the text the repository
modules write (storage.db.iso for times, each table's JSON style), so an archive copied to
PostgreSQL and back holds the same text. The writer defers the full-text index as bulk loads do
(migration 0012) and rebuilds it once, before the copy commits.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

from storage import transfer
from storage.db import iso
from storage.sqlite.db import SqliteDatabase
from storage.transfer import CACHES, TABLES, Row, Table, TransferError, parse_time, time_text


def _whole(value: Any) -> int:
    if isinstance(value, int):
        return value
    raise ValueError("is not a whole number")


def _flag(value: Any) -> bool:
    if value in (0, 1) and isinstance(value, int):
        return bool(value)
    raise ValueError("is not 0 or 1")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError("is not text")


_READ: dict[str, Callable[[Any], Any]] = {
    "int": _whole, "text": _text, "bool": _flag,
    "date": lambda v: dt.date.fromisoformat(_text(v)), "time": lambda v: parse_time(_text(v)),
    "precise_time": lambda v: parse_time(_text(v)),
    "json": lambda v: json.loads(_text(v)), "json_spaced": lambda v: json.loads(_text(v)),
}

_WRITE: dict[str, Callable[[Any], Any]] = {
    "int": int, "text": str, "bool": int, "date": lambda v: v.isoformat(), "time": time_text,
    "precise_time": lambda v: iso(v, precise=True),  # as storage/sqlite/library.py writes saved_at
    # As storage/loader.py writes papers' lists and links, and storage/deliveries.py and
    # storage/pending_matches.py their JSON lists.
    "json": lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
    "json_spaced": lambda v: json.dumps(v, ensure_ascii=False),
}


def _key_of(table: Table, row: sqlite3.Row) -> str:
    return ", ".join(f"{name} {row[name]!r}" for name in table.key)


def _neutral(table: Table, row: sqlite3.Row) -> Row:
    values: list[Any] = []
    for column in table.columns:
        value = row[column.name]
        if value is None:
            values.append(None)
            continue
        try:
            values.append(_READ[column.kind](value))
        except ValueError as exc:
            reason = str(exc) if str(exc).startswith("is ") else f"cannot be read as {column.kind} ({exc})"
            raise TransferError(f"{table.name} ({_key_of(table, row)}): {column.name} = {value!r} {reason}") from None
    return tuple(values)


def _stored(table: Table, row: Row) -> tuple[Any, ...]:
    return tuple(None if value is None else _WRITE[column.kind](value)
                 for column, value in zip(table.columns, row, strict=True))


class SqliteTables:
    """Reads (and, inside the writer's transaction, writes) one SQLite database's tables.
    Table and column names in its SQL come from storage.transfer.TABLES, never from input."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def count(self, table: Table) -> int:
        return await self._count(table.name)

    async def _count(self, name: str) -> int:
        async with self.conn.execute(f"SELECT count(*) FROM {name}") as cursor:  # noqa: S608 - names from TABLES
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def chunks(self, table: Table, size: int) -> AsyncIterator[list[Row]]:
        sql = f"SELECT {', '.join(table.names)} FROM {table.name} ORDER BY {', '.join(table.key)}"  # noqa: S608
        async with self.conn.execute(sql) as cursor:
            while rows := await cursor.fetchmany(size):
                yield [_neutral(table, row) for row in rows]

    # -- writing ----------------------------------------------------------------------------

    async def counts(self) -> dict[str, int]:
        return {t.name: await self._count(t.name) for t in TABLES}

    async def clear(self, tables: bool) -> None:
        # Children before parents; deleting papers logs title changes (a trigger): cleared last.
        names = [*(t.name for t in reversed(TABLES)), "title_changes"] if tables else []
        for name in [*CACHES, *names]:
            await self.conn.execute(f"DELETE FROM {name}")  # noqa: S608

    async def write(self, table: Table, rows: list[Row]) -> None:
        marks = ", ".join("?" for _ in table.columns)
        sql = f"INSERT INTO {table.name} ({', '.join(table.names)}) VALUES ({marks})"  # noqa: S608
        await self.conn.executemany(sql, [_stored(table, row) for row in rows])

    async def finish(self) -> None:
        await self.conn.execute("DELETE FROM papers_fts_deferred")
        await self.conn.execute("INSERT INTO papers_fts (papers_fts) VALUES ('rebuild')")

    def reader(self) -> SqliteTables:
        return self


# The full-text index (FTS5 and its shadow tables, the vocabulary view) is rebuilt, not copied.
_OWN = ("schema_migrations", "papers_fts_deferred")


@transfer.stored_columns.register(SqliteDatabase)
async def stored_columns(db: SqliteDatabase) -> dict[str, set[str]]:
    tables = await db.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        " AND name NOT LIKE 'papers\\_fts%' ESCAPE '\\' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'")
    found = {}
    for (name,) in tables:
        if name not in _OWN:
            found[name] = {row[0] for row in await db.fetchall("SELECT name FROM pragma_table_info(?)", (name,))}
    return found


@transfer.read_tables.register(SqliteDatabase)
@asynccontextmanager
async def read_tables(db: SqliteDatabase) -> AsyncIterator[SqliteTables]:
    async with db.snapshot() as conn:
        yield SqliteTables(conn)


@transfer.write_tables.register(SqliteDatabase)
@asynccontextmanager
async def write_tables(db: SqliteDatabase) -> AsyncIterator[SqliteTables]:
    async with db.transaction() as conn:
        # Papers are not indexed one by one as they arrive: `finish` indexes them all at once.
        await conn.execute("INSERT INTO papers_fts_deferred (one) VALUES (1)")
        yield SqliteTables(conn)
