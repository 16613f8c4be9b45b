"""Which processes use a database file, so that `paperboy restore` never replaces a database
under a running bot or command, and nothing writes into a database while a restore replaces it.

Every process that opens a database (the bot, each of its shard processes, the console, every
`paperboy` command that opens it) holds a shared lock on `<database>.lock` while it has the
database open; restore takes the exclusive lock without waiting and refuses when it cannot, and
a process that finds a restore holding it refuses to start (DatabaseInUse), also without waiting.
The operating system drops a process's locks when it exits or dies, so a crash never leaves a
stale lock behind.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.address import is_postgres, sqlite_path
from storage.backends import open_database
from storage.db import Database
from storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)


class DatabaseInUse(DatabaseUnavailable):
    """Another process holds the database (a running bot while restoring, a restore while starting)."""


def lock_path(db_path: str | Path) -> Path:
    path = Path(db_path).expanduser()
    return path.with_name(path.name + ".lock")


class UseLock:
    """A held lock; `release()` (or the process ending) lets it go."""

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None


def _open(db_path: str | Path) -> int:
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o660)


def hold_shared(db_path: str | Path) -> UseLock:
    """Mark the database as in use by this process until `release()`. Raises DatabaseInUse while a
    restore replaces it. A folder where no lock file can be made is used unguarded (open_database
    refuses a read-only one next). A PostgreSQL database has no file to restore over: no lock."""
    if is_postgres(db_path):
        return UseLock(None)
    db_path = sqlite_path(db_path)
    if str(db_path) == ":memory:":
        return UseLock(None)
    try:
        fd = _open(db_path)
    except OSError as exc:
        # A folder that cannot be written: opening the database refuses it next, in one clear line.
        level = logging.DEBUG if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else logging.WARNING
        log.log(level, "cannot create %s (%s): `paperboy restore` will not see this process", lock_path(db_path),
                exc.strerror or exc)
        return UseLock(None)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DatabaseInUse(f"{db_path}: a restore is replacing this database; try again when it has "
                            "finished") from None
    return UseLock(fd)


async def open_held(address: str, *, busy_timeout_ms: int,
                    held: UseLock | None = None) -> tuple[Database, UseLock]:
    """The database opened (and migrated) the way every process that uses it opens it: held first
    (`hold_shared`), so a restore never replaces it while it is open and it is never opened while a
    restore runs. `held`: a hold the caller took already. A failed open lets go of the hold it took."""
    in_use = held if held is not None else hold_shared(address)
    try:
        return await open_database(address, busy_timeout_ms=busy_timeout_ms), in_use
    except BaseException:
        if held is None:
            in_use.release()
        raise


@contextmanager
def exclusive(db_path: str | Path) -> Iterator[None]:
    """Hold the database alone for the block, or raise DatabaseInUse at once when a bot, a console
    or a paperboy command has it open (no waiting: a running bot would keep it for days).
    A PostgreSQL database has no lock file: nothing is held."""
    if is_postgres(db_path):
        yield
        return
    db_path = sqlite_path(db_path)
    fd = _open(db_path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(
                f"{db_path} is in use by a running Paperboy (the bot, a console or a paperboy command holds "
                f"{lock_path(db_path)}); stop the bot first (e.g. systemctl stop 'paperboy@*') or let the "
                "command finish") from None
        yield
    finally:
        os.close(fd)
