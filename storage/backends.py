"""The one place a backend is chosen: `open_database(address)` opens the archive an address names,
the embedded SQLite file (storage/sqlite/) or a PostgreSQL server (storage/postgres/), and
`known_error` recognises an engine's error that escaped the storage layer.

The backends are imported only when an address asks for them, so a SQLite process never loads
asyncpg. Everything else holds a `Database` (storage/db.py) and lets its type pick the SQL
(storage/dispatch.py).
"""

from __future__ import annotations

from pathlib import Path

from storage.address import address_problem, is_postgres, shown_address, sqlite_path
from storage.db import Database
from storage.errors import BadAddress


async def open_database(address: str | Path, *, busy_timeout_ms: int = 5000, migrate: bool = True) -> Database:
    """Open (and by default migrate) the archive at `address`, picking its backend; close it with
    `await db.close()` or `async with await open_database(address) as db:`."""
    problem = address_problem(str(address))
    if problem:
        raise BadAddress(f"the database address {shown_address(address)!r} {problem}")
    if is_postgres(address):
        from storage.postgres.db import PostgresDatabase

        return await PostgresDatabase.connect(str(address), migrate=migrate)
    from storage.sqlite.db import SqliteDatabase

    return await SqliteDatabase.connect(sqlite_path(address), busy_timeout_ms=busy_timeout_ms, migrate=migrate)


def known_error(exc: BaseException, address: str) -> Exception | None:
    """A database engine's error that escaped the storage layer (a damaged page or a failing disk
    met by a statement it did not expect to fail), as the one-line storage error it stands for,
    or None when it is no error a user can act on."""
    import sqlite3

    if not isinstance(exc, sqlite3.Error):
        return None
    from storage.sqlite.db import translate_error

    translated = translate_error(exc, address)
    return None if translated is exc else translated
