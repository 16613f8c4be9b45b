"""Rows a process has in hand, on SQLite: POSIX record locks on a file beside the database.

PostgreSQL holds rows with session advisory locks (storage.postgres.db.Holds); here the kernel
plays the server: the record locks a process has on `<database>.holds` end when it exits or dies,
so a row a dead process left 'sending' can be told from one a live process is sending. Record
locks belong to the process, not to a descriptor, and closing any descriptor of the file drops
them all: so the process keeps one descriptor per database file, shared by every handle it opens
on it, and one record of what it holds (its handles are one holder, as they are one process).
A hold is one byte at offset (space << 32 | id): one space per kind of row, ids below 2**32.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class _File:
    """The process's descriptor of one holds file (None: it cannot be made; holds are in-process)."""

    fd: int | None
    users: int = 0
    held: dict[int, set[int]] = field(default_factory=dict)


_files: dict[str, _File] = {}


def _open(path: str) -> int | None:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o660)
    except OSError as exc:
        # A read-only folder: opening the database refuses it anyway, in one clear line.
        log.debug("cannot create %s (%s): holds are this process's only", path, exc.strerror or exc)
        return None


def _lock(fd: int, offset: int) -> bool:
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EAGAIN):
            return False  # another process holds it
        raise
    return True


class FileHolds:
    """What one database handle holds; see the module's docstring."""

    def __init__(self, path: str) -> None:
        self._key = f":memory:{id(self)}" if path == ":memory:" else os.path.realpath(path) + ".holds"
        self._in_memory = path == ":memory:"
        self._file: _File | None = None

    def _shared(self) -> _File:
        if self._file is None:
            shared = _files.get(self._key)
            if shared is None:
                shared = _files[self._key] = _File(None if self._in_memory else _open(self._key))
            shared.users += 1
            self._file = shared
        return self._file

    def take(self, space: int, ids: Iterable[int]) -> set[int]:
        """Hold those of `ids` nobody holds (another process or this one): the ids taken."""
        shared = self._shared()
        mine = shared.held.setdefault(space, set())
        taken = {i for i in sorted(set(ids) - mine)
                 if shared.fd is None or _lock(shared.fd, (space << 32) | (i & 0xFFFFFFFF))}
        mine |= taken
        return taken

    def release(self, space: int, ids: Iterable[int]) -> None:
        """Let go of those of `ids` this process holds."""
        if self._file is None:
            return
        mine = self._file.held.get(space, set())
        for i in sorted(set(ids) & mine):
            mine.discard(i)
            if self._file.fd is not None:
                fcntl.lockf(self._file.fd, fcntl.LOCK_UN, 1, (space << 32) | (i & 0xFFFFFFFF), os.SEEK_SET)

    def close(self) -> None:
        """This handle is done; the last of the process's handles on the file lets go of everything."""
        shared, self._file = self._file, None
        if shared is None:
            return
        shared.users -= 1
        if shared.users == 0:
            del _files[self._key]
            if shared.fd is not None:
                os.close(shared.fd)
