"""storage.instance_lock.open_held: the one way a process opens a database it uses (App.open and
every `paperboy` command): held while open, and a failed open leaves no hold of its own behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.errors import NotPaperboyDatabase
from storage.instance_lock import DatabaseInUse, exclusive, hold_shared, open_held


async def test_an_open_database_is_held_until_its_hold_is_released(tmp_path: Path) -> None:
    path = str(tmp_path / "paperboy.db")
    db, in_use = await open_held(path, busy_timeout_ms=1000)
    try:
        with pytest.raises(DatabaseInUse), exclusive(path):
            pass  # a restore is refused while the database is open
    finally:
        await db.close()
        in_use.release()
    with exclusive(path):
        pass


async def test_a_failed_open_lets_go_of_the_hold_it_took(tmp_path: Path) -> None:
    path = tmp_path / "paperboy.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(NotPaperboyDatabase):
        await open_held(str(path), busy_timeout_ms=1000)
    with exclusive(path):
        pass


async def test_a_failed_open_keeps_the_hold_the_caller_took(tmp_path: Path) -> None:
    path = tmp_path / "paperboy.db"
    path.write_bytes(b"not a database" * 100)
    held = hold_shared(path)  # `paperboy backup` holds before it opens
    try:
        with pytest.raises(NotPaperboyDatabase):
            await open_held(str(path), busy_timeout_ms=1000, held=held)
        with pytest.raises(DatabaseInUse), exclusive(path):
            pass
    finally:
        held.release()
