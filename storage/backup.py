"""Consistent copies of a live database (`paperboy backup`) and putting one back (`paperboy restore`).

A running bot keeps its database in WAL mode: recent commits may sit in `paperboy.db-wal`, so
copying the main file with `cp` while it runs can give a torn or stale copy. These functions use
SQLite's online backup API instead: the copy is one consistent snapshot (the bot keeps writing
meanwhile), checked with `PRAGMA integrity_check` before it counts, and written under a temporary
name so a failed or interrupted backup never leaves a half file under the name asked for.

Restore copies a checked backup *into* the database through SQLite too (never a file rename,
which would leave the old `-wal` beside the new file), after saving the current one beside it,
and only while no bot or console holds the database (storage.instance_lock).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from storage.address import is_postgres, shown_address, sqlite_path
from storage.errors import StorageError
from storage.instance_lock import exclusive
from storage.sqlite.db import migrations

_MAGIC = b"SQLite format 3\x00"


class BackupError(StorageError):
    """A copy that cannot be made or used; the message names the file."""


@dataclass(frozen=True, slots=True)
class CopyInfo:
    """A checked Paperboy database file."""

    path: str
    size_bytes: int
    schema_version: int
    papers: int
    digests: int


@dataclass(frozen=True, slots=True)
class BackupResult:
    copy: CopyInfo
    source: str
    seconds: float


@dataclass(frozen=True, slots=True)
class RestoreResult:
    restored: CopyInfo          # the database as it now is
    source: str
    previous: str | None        # where the database it replaced was saved, if there was one
    seconds: float


def _connect_existing(path: Path, *, read_only: bool) -> sqlite3.Connection:
    """A connection to a file that must already be an SQLite database (never creates one)."""
    if not path.exists():
        raise BackupError(f"{path}: no such file")
    if not path.is_file():
        raise BackupError(f"{path}: not a regular file")
    try:
        with path.open("rb") as f:
            magic = f.read(len(_MAGIC))
    except OSError as exc:
        raise BackupError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if magic != _MAGIC:
        raise BackupError(f"{path} is not an SQLite database")
    mode = "ro" if read_only else "rw"
    try:
        return sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: cannot open it ({exc})") from None


def inspect(path: str | Path, *, check: str = "integrity", label: str | None = None) -> CopyInfo:
    """Check that `path` is an intact Paperboy database this build can use: `PRAGMA
    integrity_check` (`check` "quick": quick_check; "none": only the tables and migrations), its
    recorded migrations all known here. Errors call the file `label` (default: its path)."""
    path = Path(path)
    label = label or str(path)
    with closing(_connect_existing(path, read_only=True)) as conn:
        try:
            problems = [r[0] for r in conn.execute(f"PRAGMA {check}_check")] if check != "none" else ["ok"]
            if problems != ["ok"]:
                raise BackupError(f"{label} is damaged: {'; '.join(problems[:3])}")
            if conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                            "AND name IN ('schema_migrations', 'papers', 'digests')").fetchone()[0] != 3:
                raise BackupError(f"{label} is an SQLite database but not a Paperboy database")
            versions = {int(r[0]) for r in conn.execute("SELECT version FROM schema_migrations")}
            papers = int(conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0])
            digests = int(conn.execute("SELECT COUNT(*) FROM digests").fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{label} is damaged or not a Paperboy database ({exc})") from None
    unknown = sorted(versions - {v for v, _, _ in migrations()})
    if unknown:
        raise BackupError(f"{label} was written by a newer Paperboy (migration {unknown[0]} is unknown to this "
                          "one); upgrade Paperboy first")
    return CopyInfo(str(path), path.stat().st_size, max(versions, default=0), papers, digests)


def _copy(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    # pages=-1: one step under one read transaction, so the copy is a single snapshot even
    # while another process writes (a stepwise copy would restart at each of its commits).
    source.backup(target, pages=-1)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_only(database: str | Path, command: str) -> None:
    if is_postgres(database):
        raise BackupError(f"paperboy {command} copies a SQLite file, and the database is PostgreSQL at "
                          f"{shown_address(database)}: use pg_dump and pg_restore, or paperboy migrate-db "
                          "to copy it to or from a SQLite file")


def backup_name(now: dt.datetime | None = None) -> str:
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return f"paperboy-{moment.strftime('%Y%m%dT%H%M%SZ')}.db"


def backup(source: str | Path, destination: str | Path, *, overwrite: bool = False,
           check: str = "integrity") -> BackupResult:
    """Copy the database `source` (live or not) to `destination` (a file, or a folder to put a
    dated file in) and check the copy. Raises BackupError, leaving nothing at `destination`,
    when the source is not a Paperboy database or the copy does not check out."""
    started = time.monotonic()
    _sqlite_only(source, "backup")
    source, target = Path(sqlite_path(source)).expanduser(), Path(destination).expanduser()
    if target.is_dir():
        target = target / backup_name()
    if target.exists() and not overwrite:
        raise BackupError(f"{target} already exists; choose another name or pass --overwrite")
    if target.exists() and target.resolve() == source.resolve():
        raise BackupError(f"{target} is the database itself; back it up somewhere else")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}: no such folder")
    if not source.exists():
        raise BackupError(f"{source}: no such database, nothing to back up (is --db right?)")
    inspect(source, check="none")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with closing(_connect_existing(source, read_only=False)) as src, \
                closing(sqlite3.connect(partial, isolation_level=None)) as dst:
            _copy(src, dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        info = inspect(partial, check=check, label=f"the copy of {source}")
        _fsync(partial)
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backing up {source} to {target} failed: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        for leftover in (partial, partial.with_name(partial.name + "-journal")):
            leftover.unlink(missing_ok=True)
    return BackupResult(CopyInfo(str(target), info.size_bytes, info.schema_version, info.papers, info.digests),
                        str(source), time.monotonic() - started)


def restore(source: str | Path, database: str | Path) -> RestoreResult:
    """Replace the database with the checked backup `source`. Refused while a bot or console uses
    the database. The database it replaces is first saved as `<name>.before-restore-<time>`.
    An older backup is fine: the missing migrations run when Paperboy next opens it."""
    started = time.monotonic()
    _sqlite_only(database, "restore")
    source, target = Path(source).expanduser(), Path(sqlite_path(database)).expanduser()
    if target.exists() and source.resolve() == target.resolve():
        raise BackupError(f"{source} is the database itself; nothing to restore")
    inspect(source)
    with exclusive(target):
        previous = None
        if target.exists() and target.stat().st_size > 0:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            previous = str(backup(target, target.with_name(f"{target.name}.before-restore-{stamp}"),
                                  check="quick").copy.path)
        try:
            with closing(_connect_existing(source, read_only=True)) as src, \
                    closing(sqlite3.connect(target, isolation_level=None)) as dst:
                _copy(src, dst)
        except sqlite3.Error as exc:
            kept = f"; the database before it is saved as {previous}" if previous else ""
            raise BackupError(f"restoring {source} into {target} failed: {exc}{kept}") from None
        restored = inspect(target, check="quick")
    return RestoreResult(restored, str(source), previous, time.monotonic() - started)
