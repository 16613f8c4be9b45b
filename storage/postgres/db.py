"""The shared backend: the process's PostgreSQL pool, its migrations and transactions (asyncpg).

Several Paperboy processes share one server, so migrating takes a transaction-scoped advisory
lock: the first process to start applies what is missing while the others wait, then find
nothing to do. A schema holding a migration this build does not know (a newer Paperboy wrote
it) is refused, as on SQLite. Connection failures become DatabaseUnavailable with the address
shown without its password.

A server that goes away under a running process (restarted, shut down by an operator, the network
gone) makes the statement under way, and every one tried until it is back, raise ConnectionLost;
the pool drops the dead connections and opens new ones on the next acquire, so the process carries
on by itself once the server answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import asyncpg

from storage.address import url_without_password
from storage.db import Database, Params
from storage.errors import ConnectionLost, DatabaseUnavailable, SchemaTooNew

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# pg_advisory_xact_lock key: "paperboy" migrations, so unrelated users of the server never collide.
_MIGRATION_LOCK = 0x7061706572626F79


# What asyncpg raises when the server is gone or not accepting connections yet: the connection
# closed under a statement (ConnectionDoesNotExistError, InterfaceError "connection is closed"),
# the server shutting down (57P01 admin_shutdown, crash_shutdown: OperatorInterventionError) or
# starting (57P03 cannot_connect_now), the socket refused or reset (OSError); and the pool's reset
# of a connection that died mid-statement, on its release ("cannot switch to state …").
LOST = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.OperatorInterventionError,
        asyncpg.InternalClientError)


def is_lost(exc: BaseException) -> bool:
    """Whether `exc` means the connection to the server is gone (not a statement's own error)."""
    if isinstance(exc, asyncpg.InterfaceError):
        # Other InterfaceErrors are misuse (e.g. "another operation is in progress"): bugs.
        text = str(exc).lower()
        return "closed" in text or "connection" in text and "lost" in text
    if isinstance(exc, asyncpg.InternalClientError):
        return "cannot switch to state" in str(exc)
    return isinstance(exc, LOST)


@contextlib.contextmanager
def lost_as_unavailable(location: str) -> Iterator[None]:
    """Turn a lost connection raised in the block into ConnectionLost naming `location`."""
    try:
        yield
    except LOST as exc:
        if not is_lost(exc):
            raise
        raise ConnectionLost(f"the connection to PostgreSQL at {location} was lost "
                             f"({type(exc).__name__}: {exc}); try again in a moment") from exc


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled PostgreSQL migration, in order."""
    found = []
    for entry in resources.files("storage.postgres.migrations").iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    return found


class PostgresDatabase(Database):
    """An open PostgreSQL database. `open_database(url)` (storage/backends.py) opens one; close with `await db.close()`.

    Statements take their values as one sequence, like SQLite's, and bind them as $1, $2, …"""

    backend = "PostgreSQL"

    def __init__(self, pool: asyncpg.Pool, url: str) -> None:
        self.pool = pool
        self.url = url
        self.location = url_without_password(url)
        # Inside `atomic`: the connection holding the transaction, which every statement uses.
        self.bound: asyncpg.Connection | None = None
        self.holds = Holds(url)  # shared with the views `atomic` yields

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[PostgresDatabase]:
        async with self.transaction() as conn:
            view = copy.copy(self)
            view.bound = conn
            yield view

    @property
    def _runner(self) -> Any:
        """Where a statement runs: the bound connection inside `atomic`, else any pooled one."""
        return self.bound if self.bound is not None else self.pool

    @classmethod
    async def connect(cls, url: str, *, migrate: bool = True, min_size: int = 1, max_size: int = 8) -> PostgresDatabase:
        unreachable = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                       asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InvalidCatalogNameError)
        try:
            pool = await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init_connection,
                                             server_settings=_POOL_SETTINGS)
        except unreachable as exc:
            raise DatabaseUnavailable(f"cannot reach PostgreSQL at {url_without_password(url)}: {exc}") from None
        db = cls(pool, url)
        try:
            await pool.fetchval("SELECT 1")
            if migrate:
                await db.migrate()
        except unreachable as exc:
            await pool.close()
            raise DatabaseUnavailable(f"cannot reach PostgreSQL at {url_without_password(url)}: {exc}") from None
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        await self.holds.close()
        await self.pool.close()

    # -- migrations -------------------------------------------------------------------------

    async def size_bytes(self) -> int:
        return int(await self.pool.fetchval("SELECT pg_database_size(current_database())"))

    async def schema_version(self) -> int:
        return max(await self.applied(), default=0)

    async def applied(self) -> set[int]:
        exists = await self.pool.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        if not exists:
            return set()
        return {row["version"] for row in await self.pool.fetch("SELECT version FROM schema_migrations")}

    async def migrate(self) -> list[int]:
        """Apply the missing migrations, each in its own transaction, under the migration lock."""
        known = migrations()
        numbers = {version for version, _, _ in known}
        applied: list[int] = []
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)"
            )
            done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
            unknown = sorted(done - numbers)
            if unknown:
                raise SchemaTooNew(unknown[-1], max(numbers, default=0))
            for version, name, sql in known:
                if version in done:
                    continue
                async with conn.transaction():  # a savepoint: one migration is all or nothing
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                        version, name, dt.datetime.now(dt.UTC),
                    )
                log.info("applied PostgreSQL migration %s", name)
                applied.append(version)
        return applied

    # -- statements ---------------------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """One connection in one transaction: COMMIT on success, ROLLBACK on any exception.
        Inside `atomic`, a savepoint on its connection."""
        if self.bound is not None:
            async with self.bound.transaction():
                yield self.bound
            return
        with lost_as_unavailable(self.location):
            async with self.pool.acquire() as conn, conn.transaction():
                yield conn

    async def fetchall(self, sql: str, params: Params = ()) -> list[asyncpg.Record]:
        with lost_as_unavailable(self.location):
            return list(await self._runner.fetch(sql, *_positional(params)))

    async def fetchone(self, sql: str, params: Params = ()) -> asyncpg.Record | None:
        with lost_as_unavailable(self.location):
            return await self._runner.fetchrow(sql, *_positional(params))  # type: ignore[no-any-return]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement; returns the rows changed."""
        with lost_as_unavailable(self.location):
            return rows_changed(await self._runner.execute(sql, *_positional(params)))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, [_positional(row) for row in rows])


# The session's TCP keepalives: a process whose machine vanished (no FIN, no RST) is noticed, and
# its holds released, within a minute rather than the kernel's default two hours.
_KEEPALIVES = {"tcp_keepalives_idle": "20", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3"}
# No JIT on the app's statements: the planner's rough estimates (CTEs, lateral counts) push short
# statements past jit_above_cost, and compiling then costs more than it saves. A title look-up's
# details at 1M papers: 5 of its 5.8 ms were JIT; the summary's phrase counts at 100k (8 phrases,
# one statement): 977-990 ms without, 1,048-1,145 ms with.
_POOL_SETTINGS = {"jit": "off"}
_GONE = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.OperatorInterventionError)


class Holds:
    """Rows this process has in hand, as session-level advisory locks on a connection of its own.

    A transaction's row locks end with the transaction, but sending a daily post takes seconds of
    requests that no transaction should span. A hold lasts until released, and the server drops
    every hold of a process whose connection ends: killed, crashed or its machine gone (see
    _KEEPALIVES). So another process can tell a row someone is working on from one a dead process
    left behind. Keys are (space << 32 | id): one space per kind of row, ids below 2**32.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the connection
        self._held: dict[int, set[int]] = {}

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            # A new session holds nothing: whatever the last one held ended with it.
            self._held.clear()
            self._conn = await asyncpg.connect(self.url, server_settings=_KEEPALIVES)
        return self._conn

    async def take(self, space: int, ids: Iterable[int]) -> set[int]:
        """Hold those of `ids` nobody holds (another process or this one): the ids taken.
        The server unreachable: ConnectionLost."""
        with lost_as_unavailable(url_without_password(self.url)):
            return await self._take(space, ids)

    async def _take(self, space: int, ids: Iterable[int]) -> set[int]:
        async with self._lock:
            conn = await self._connection()
            mine = self._held.setdefault(space, set())
            wanted = sorted(set(ids) - mine)
            if not wanted:
                return set()
            sql = ("SELECT k FROM unnest($2::bigint[]) AS k"
                   " WHERE pg_try_advisory_lock(($1::bigint << 32) | (k & 4294967295))")
            try:
                rows = await conn.fetch(sql, space, wanted)
            except _GONE:
                # The server restarted since the last hold: start a new session, once.
                conn.terminate()
                conn = await self._connection()
                mine = self._held.setdefault(space, set())
                rows = await conn.fetch(sql, space, wanted)
            taken = {int(r["k"]) for r in rows}
            mine |= taken
            return taken

    async def release(self, space: int, ids: Iterable[int]) -> None:
        """Let go of those of `ids` this process holds."""
        async with self._lock:
            mine = self._held.get(space, set())
            gone = sorted(set(ids) & mine)
            mine.difference_update(gone)
            if not gone or self._conn is None or self._conn.is_closed():
                return
            try:
                await self._conn.execute(
                    "SELECT pg_advisory_unlock(($1::bigint << 32) | (k & 4294967295))"
                    " FROM unnest($2::bigint[]) AS k", space, gone)
            except _GONE:
                pass  # the session ended, and its holds with it

    async def close(self) -> None:
        async with self._lock:
            self._held.clear()
            if self._conn is not None:
                try:
                    await self._conn.close(timeout=5)
                except (*_GONE, TimeoutError):
                    self._conn.terminate()
                self._conn = None


def _positional(params: Params) -> Sequence[Any]:
    if isinstance(params, dict):
        raise TypeError("PostgreSQL statements take positional values ($1, $2, …), not a mapping")
    return params


def seconds(moment: dt.datetime) -> dt.datetime:
    """A time as the SQLite side stores it (whole seconds), so both backends read back the same."""
    return moment.replace(microsecond=0)


def rows_changed(status: str) -> int:
    """The row count in a command status such as "UPDATE 3" or "INSERT 0 1"."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def _init_connection(conn: asyncpg.Connection) -> None:
    """jsonb columns in and out as Python objects, like the SQLite side's json.loads."""
    import json

    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
