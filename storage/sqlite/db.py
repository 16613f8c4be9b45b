"""The embedded backend: the process's one SQLite connection, its pragmas, migrations and transactions.

aiosqlite runs every call on one worker thread per connection, in order, so a single long-lived
connection serialises writes without file-level lock contention. Transactions are taken with an
asyncio lock so two tasks never interleave statements inside one.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, closing
from importlib import resources
from pathlib import Path
from typing import NoReturn

import aiosqlite

from storage.db import Database, Params, iso, now_utc
from storage.errors import DatabaseUnavailable, DiskFull, NotPaperboyDatabase, SchemaTooNew
from storage.sqlite.holds import FileHolds

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order."""
    found = []
    for entry in resources.files("storage.sqlite.migrations").iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


# SQLite's primary result codes (sqlite.org/rescode.html) of the errors a user can act on; an
# extended code (SQLITE_IOERR_SHMSIZE, SQLITE_CORRUPT_VTAB...) carries its primary in the low byte.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26


def translate_error(exc: sqlite3.Error, path: str | None = None) -> Exception:
    """Turn SQLite's errors that a user can act on into one-line storage errors naming the database
    at `path`: locked, not writable, disk full, disk I/O error, damaged or not a database. Any other
    error is returned as it is (a bug, logged with its traceback where it is caught)."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    text = str(exc).lower()
    where = f"the database at {path}" if path else "the database"
    if code in (_BUSY, _LOCKED) or (isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)):
        return DatabaseUnavailable("the database is locked by another process; try again shortly")
    if code == _FULL or "disk is full" in text:
        return DiskFull("the disk is full: nothing was written, the database is unchanged")
    if code == _READONLY or "readonly" in text or "read-only" in text:
        return DatabaseUnavailable(f"{where} (or its folder) is not writable")
    if code in (_CORRUPT, _NOTADB) or "malformed" in text or "not a database" in text:
        return NotPaperboyDatabase(f"{where} is damaged or is not a Paperboy database")
    if code == _IOERR or "disk i/o error" in text:
        # Also what opening a database says when the disk is too full for its -shm file.
        return DatabaseUnavailable(f"{where} cannot be read or written: disk I/O error (is the disk full or failing?)")
    if code == _CANTOPEN:
        return DatabaseUnavailable(f"{where} cannot be opened ({exc}): is it and its folder readable and writable?")
    return exc


def _raise_translated(exc: sqlite3.Error, path: str | None) -> NoReturn:
    translated = translate_error(exc, path)
    if translated is exc:
        raise exc
    raise translated from exc


def _check_file(path: Path, busy_timeout_ms: int) -> None:
    """Refuse, before SQLite writes anything (WAL mode, the migrations table), a database Paperboy
    cannot use: a folder or file it cannot write, a file that is damaged or not a database, or
    another application's database. A new path or an empty file is a new database."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseUnavailable(f"the folder of the database at {path} cannot be created: "
                                  f"{exc.strerror or exc}") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        # WAL mode creates PATH-wal and PATH-shm beside the database, even to read it.
        raise DatabaseUnavailable(f"the database at {path} (or its folder) is not writable: "
                                  f"{path.parent} is a read-only folder")
    if not path.exists():
        return
    if not path.is_file():
        raise NotPaperboyDatabase(f"the database at {path} is not a file")
    if not os.access(path, os.W_OK):
        raise DatabaseUnavailable(f"the database at {path} (or its folder) is not writable: it is a read-only file")
    if path.stat().st_size == 0:
        return
    try:
        # mode=ro: looking never writes (no journal mode switched, nothing created in the file).
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=busy_timeout_ms / 1000)) as probe:
            objects = [name for (name,) in probe.execute(
                "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid")]
            columns = {name for (name,) in probe.execute("SELECT name FROM pragma_table_info('schema_migrations')")}
    except sqlite3.Error as exc:
        _raise_translated(exc, str(path))
    if objects and not {"version", "name", "applied_at"} <= columns:
        # Tables but not Paperboy's record of migrations: another application's database.
        shown = ", ".join(objects[:3]) + (", ..." if len(objects) > 3 else "")
        raise NotPaperboyDatabase(f"the database at {path} is not a Paperboy database (it holds another "
                                  f"application's tables: {shown}); use another --db")


class SqliteDatabase(Database):
    """One open SQLite file. `open_database(path)` (storage/backends.py) opens one; close with `await db.close()`."""

    backend = "SQLite"

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self.location = path
        self._tx_lock = asyncio.Lock()
        self._savepoints = 0  # > 0: a view inside `atomic`, where transactions are savepoints
        self.holds = FileHolds(path)  # shared with the views `atomic` yields

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[SqliteDatabase]:
        async with self.transaction():
            view = copy.copy(self)
            view._savepoints = self._savepoints + 1
            yield view

    @classmethod
    async def connect(cls, path: str | Path, *, busy_timeout_ms: int = 5000, migrate: bool = True) -> SqliteDatabase:
        path = str(path)
        if path != ":memory:":
            path = os.path.expanduser(path)
            await asyncio.to_thread(_check_file, Path(path), busy_timeout_ms)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            _raise_translated(exc, path)
        conn.row_factory = sqlite3.Row
        db = cls(conn, path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA temp_store = MEMORY")
            await conn.execute("PRAGMA cache_size = -65536")  # 64 MiB page cache
            if migrate:
                await db.migrate()
        except BaseException as exc:
            await conn.close()
            translated = translate_error(exc, path) if isinstance(exc, sqlite3.Error) else exc
            if translated is not exc:
                raise translated from exc
            raise
        return db

    async def close(self) -> None:
        try:
            await self.conn.execute("PRAGMA optimize")
        except sqlite3.Error:
            pass
        self.holds.close()
        await self.conn.close()

    async def size_bytes(self) -> int:
        if self.path == ":memory:":
            return 0
        size = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                size += os.path.getsize(self.path + suffix)
        return size

    # -- migrations -------------------------------------------------------------------------

    async def schema_version(self) -> int:
        rows = await self.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        )
        if not rows:
            return 0
        row = await self.fetchone("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        return int(row["v"]) if row else 0

    async def _recorded_versions(self) -> set[int]:
        if not await self.fetchall(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"):
            return set()
        return {int(row[0]) for row in await self.fetchall("SELECT version FROM schema_migrations")}

    async def migrate(self) -> list[int]:
        """Apply the bundled migrations the database lacks, each in its own transaction.

        Every missing number is applied (not only those above the highest), so migrations written
        in parallel branches and landed out of order still all run.
        """
        known = migrations()
        latest = known[-1][0] if known else 0
        # Any recorded migration this build lacks means a newer Paperboy wrote the schema, also
        # when its number falls in a gap of the bundled ones (0002, 0010): not only above the last.
        unknown = sorted(await self._recorded_versions() - {version for version, _, _ in known})
        if unknown:
            raise SchemaTooNew(unknown[-1], latest)
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in await self.fetchall("SELECT version FROM schema_migrations")}
        applied = []
        for version, name, sql in known:
            if version in done:
                continue
            async with self.transaction() as conn:
                # Another process opening the same new database (two commands started at once) may
                # have applied it since `done` was read; the write lock is ours now, so look again.
                async with conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)) as cursor:
                    if await cursor.fetchone() is not None:
                        continue
                # executescript would commit our transaction first; run statement by statement.
                for statement in split_sql(sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, iso(now_utc())),
                )
            log.info("applied migration %s", name)
            applied.append(version)
        return applied

    # -- statements ---------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (cancellation included).
        Inside `atomic`, a savepoint of its transaction."""
        if self._savepoints:
            async with self._savepoint():
                yield self.conn
            return
        async with self._tx_lock:
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                _raise_translated(exc, self.path)
            except BaseException:
                # Interrupted (Ctrl-C cancels the command) while BEGIN ran in the connection's
                # thread, which finishes it anyway: end the transaction it may have opened, or the
                # next one (the bulk load's clean-up) cannot begin.
                await asyncio.shield(self._rollback())
                raise
            try:
                yield self.conn
            except BaseException as exc:
                # Shielded so a cancelled task still leaves the connection usable.
                await asyncio.shield(self._rollback())
                # A statement can fail for the same reasons as COMMIT (a full disk while writing
                # a large load): the caller gets the same clear error.
                translated = translate_error(exc, self.path) if isinstance(exc, sqlite3.Error) else exc
                if translated is not exc:
                    raise translated from exc
                raise
            try:
                await self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                await asyncio.shield(self._rollback())
                _raise_translated(exc, self.path)
            except BaseException:
                # Interrupted while COMMIT ran: it commits or fails on its own; a ROLLBACK queued
                # behind it ends the transaction if it failed, and is a no-op if it committed.
                await asyncio.shield(self._rollback())
                raise

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection inside a read transaction (a deferred BEGIN): one consistent view of the
        database for the whole block, which blocks no writer in another process (WAL). Rolled
        back at the end: nothing is written through it."""
        async with self._tx_lock:
            try:
                await self.conn.execute("BEGIN")
            except sqlite3.Error as exc:
                _raise_translated(exc, self.path)
            try:
                yield self.conn
            finally:
                await asyncio.shield(self._rollback())

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        name = f"paperboy_{self._savepoints}"
        await self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await asyncio.shield(self.conn.execute(f"ROLLBACK TO {name}"))
            await asyncio.shield(self.conn.execute(f"RELEASE {name}"))
            raise
        await self.conn.execute(f"RELEASE {name}")

    async def _rollback(self) -> None:
        try:
            await self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        try:
            # One trip to the connection's thread (execute, fetch and close as one call) rather
            # than three: with the event loop busy, each trip waits for the GIL on both sides.
            return list(await self.conn.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            _raise_translated(exc, self.path)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        try:
            # One trip, as fetchall: aiosqlite's cursor makes three (execute, fetch, close), and a
            # page that read a paper by its id waited for the GIL on both sides of each. aiosqlite
            # has no public call for it, hence its `_execute` (run a function on the connection's
            # thread) and `_conn` (the sqlite3 connection there); the pinned versions have both.
            row: sqlite3.Row | None = await self.conn._execute(  # type: ignore[no-untyped-call]
                _first_row, self.conn._conn, sql, params)
            return row
        except sqlite3.Error as exc:
            _raise_translated(exc, self.path)


    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; returns the rows changed."""
        async with self.transaction() as conn, conn.execute(sql, params) as cursor:
            return cursor.rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)


def _first_row(conn: sqlite3.Connection, sql: str, params: Params) -> sqlite3.Row | None:
    """The statement's first row (on the connection's thread)."""
    cursor = conn.execute(sql, params)
    try:
        row: sqlite3.Row | None = cursor.fetchone()
        return row
    finally:
        cursor.close()


def split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    statements: list[str] = []
    buffer: list[str] = []
    for line in script.splitlines():
        stripped = line.strip()
        if not buffer and (not stripped or stripped.startswith("--")):
            continue
        buffer.append(line)
        candidate = "\n".join(buffer)
        if stripped.endswith(";") and sqlite3.complete_statement(candidate):
            statements.append(candidate.strip())
            buffer = []
    if "".join(buffer).strip():
        statements.append("\n".join(buffer).strip())
    return statements
