"""The archive's database, whichever backend holds it, and the clock helpers every store uses.

`Database` is what both backends are: the embedded SQLite file (storage/sqlite/) and a PostgreSQL
server shared by several processes (storage/postgres/); storage/backends.py opens the one an
address names. Callers hold a `Database` and call the repository functions (storage/digests.py,
storage/papers.py, …); each of those dispatches on the database's type to the SQL written for its
backend, kept side by side in `storage/sqlite/` and `storage/postgres/` under the same module
names. Nothing above `storage/` can tell them apart.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar, Self

Params = Sequence[Any] | dict[str, Any]


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(moment: dt.datetime, *, precise: bool = False) -> str:
    """`moment` as stored text: UTC, to the second, or to the microsecond when order within a second matters."""
    spec = "microseconds" if precise else "seconds"
    return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Database(abc.ABC):
    """One open archive. `await open_database(address)` (storage/backends.py); close with `await db.close()`.

    The statement methods run SQL written in the backend's own dialect; only the backend's
    repository modules call them (their SQL would mean nothing to the other backend)."""

    #: Where the archive is, fit to show a user (a PostgreSQL URL without its password).
    location: str
    #: The backend's name, for people (`paperboy status`): "SQLite" or "PostgreSQL".
    backend: ClassVar[str]

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

