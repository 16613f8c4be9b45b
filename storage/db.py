"""The archive's database, whichever backend holds it, and the clock helpers every store uses.

`Database.open(address)` is the one place a backend is chosen: a path or `sqlite:///PATH` opens
the embedded SQLite file (storage/sqlite/), `postgresql://…` a PostgreSQL server shared by
several processes (storage/postgres/). Callers hold a `Database` and call the repository
functions (storage/digests.py, storage/papers.py, …); each of those dispatches on the database's
type to the SQL written for its backend, kept side by side in `storage/sqlite/` and
`storage/postgres/` under the same module names. Nothing above `storage/` can tell them apart.
"""

from __future__ import annotations

import abc
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, ClassVar, Self
from urllib.parse import urlsplit

from storage.errors import BadAddress

Params = Sequence[Any] | dict[str, Any]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(moment: dt.datetime, *, precise: bool = False) -> str:
    """`moment` as stored text: UTC, to the second, or to the microsecond when order within a second matters."""
    spec = "microseconds" if precise else "seconds"
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def is_postgres(address: str | Path) -> bool:
    """Whether `address` names a PostgreSQL server rather than a SQLite file."""
    return str(address).startswith(_POSTGRES_SCHEMES)


def address_problem(address: str) -> str | None:
    """Why `address` names no database Paperboy can open (None when it does): it must be a file
    path, `sqlite:///PATH`, or `postgresql://[user@]host[:port]/name`. Never shows a password."""
    text = address.strip()
    if not text:
        return "is empty"
    if is_postgres(text):
        try:
            parts = urlsplit(text)
            parts.port  # noqa: B018 - raises ValueError on a port that is not a number
        except ValueError:
            return "is not a usable PostgreSQL URL (postgresql://HOST:PORT/NAME): bad host or port"
        return None
    scheme = text.split("://", 1)[0] if "://" in text else ""
    if scheme and scheme != "sqlite":
        return f"is a {scheme}:// URL: use a file path, sqlite:///PATH or postgresql://host/name"
    return None


def shown_address(address: str | Path) -> str:
    """`address` fit to show a user: a PostgreSQL URL without its password, a path as it is."""
    text = str(address)
    if not is_postgres(text):
        return sqlite_path(text)
    from storage.postgres.db import shown

    try:
        return shown(text)
    except ValueError:  # unparseable (a bad port): drop the user info, where a password would be
        return re.sub(r"^([a-z]+://)[^/?#]*@", r"\1", text)


def sqlite_path(address: str | Path) -> str:
    """The file path of a SQLite address: a plain path, `sqlite:///abs/path` or `sqlite:rel/path`."""
    text = str(address)
    for prefix in ("sqlite:///", "sqlite://", "sqlite:"):
        if text.startswith(prefix):
            rest = text[len(prefix):]
            return "/" + rest if prefix == "sqlite:///" and not rest.startswith("/") else rest
    return text


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


class Database(abc.ABC):
    """One open archive. `await Database.open(address)`; close with `await db.close()`.

    The statement methods run SQL written in the backend's own dialect; only the backend's
    repository modules call them (their SQL would mean nothing to the other backend)."""

    #: Where the archive is, fit to show a user (a PostgreSQL URL without its password).
    location: str
    #: The backend's name, for people (`paperboy status`): "SQLite" or "PostgreSQL".
    backend: ClassVar[str]

    @classmethod
    async def open(cls, address: str | Path, *, busy_timeout_ms: int = 5000, migrate: bool = True) -> Database:
        """Open (and by default migrate) the archive at `address`, picking its backend."""
        problem = address_problem(str(address))
        if problem:
            raise BadAddress(f"the database address {shown_address(address)!r} {problem}")
        if is_postgres(address):
            from storage.postgres.db import PostgresDatabase

            return await PostgresDatabase.connect(str(address), migrate=migrate)
        from storage.sqlite.db import SqliteDatabase

        return await SqliteDatabase.connect(sqlite_path(address), busy_timeout_ms=busy_timeout_ms, migrate=migrate)

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abc.abstractmethod
    async def migrate(self) -> list[int]:
        """Apply the bundled migrations the archive lacks; refuse a schema from a newer Paperboy."""

    @abc.abstractmethod
    async def schema_version(self) -> int: ...

    @abc.abstractmethod
    async def size_bytes(self) -> int:
        """How much disk the archive takes (0 for an in-memory database)."""

    # -- statements, in the backend's dialect ---------------------------------------------------

    @abc.abstractmethod
    def atomic(self) -> AbstractAsyncContextManager[Self]:
        """This database seen through one transaction: every repository call made with the
        database it yields runs in that transaction, committed when the block ends, rolled back
        on any exception (cancellation included). Nested, it is a savepoint."""

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """The backend's own connection inside one transaction (a savepoint inside `atomic`):
        for the backend's repository modules, whose SQL it runs."""

    @abc.abstractmethod
    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]: ...

    @abc.abstractmethod
    async def fetchone(self, sql: str, params: Params = ()) -> Any | None: ...

    @abc.abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one write statement in its own transaction; returns the rows changed."""

    @abc.abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

