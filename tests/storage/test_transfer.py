"""The transfer's view of each backend's schema (#16): every table and column an archive holds is
one the copy knows, on both backends, so nothing is silently left behind; a database with one it
does not know is refused before anything is copied. (The round trip itself is tested through
`paperboy migrate-db`, tests/bot/cli/test_migrate_db.py.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from storage.backends import open_database
from storage.db import Database
from storage.transfer import CACHES, TABLES, TableSum, TransferError, migrate, parse_time, stored_columns, time_text

pytestmark = pytest.mark.both_backends


async def test_the_copy_knows_every_table_and_column_of_the_schema(db: Database) -> None:
    expected = {t.name: set(t.names) for t in TABLES}
    found = await stored_columns(db)
    assert set(found) == set(expected) | set(CACHES)
    assert {name: found[name] for name in expected} == expected


async def test_a_table_the_copy_does_not_know_is_refused_before_copying(db: Database, tmp_path: Path) -> None:
    await db.execute("CREATE TABLE llm_answers (prompt text PRIMARY KEY, answer text)")
    other = await open_database(tmp_path / "target.db")
    try:
        with pytest.raises(TransferError, match="has a table migrate-db does not know, llm_answers"):
            await migrate(db, other)
        with pytest.raises(TransferError, match="has a table migrate-db does not know, llm_answers"):
            await migrate(other, db)
    finally:
        await other.close()


def test_times_keep_their_microseconds_and_read_back_in_utc() -> None:
    moment = dt.datetime(2025, 9, 9, 6, 30, 1, 250, tzinfo=dt.UTC)
    assert time_text(moment) == "2025-09-09T06:30:01.000250Z"
    assert time_text(moment.replace(microsecond=0)) == "2025-09-09T06:30:01Z"
    assert parse_time("2025-09-09T08:30:01.000250+02:00") == moment
    assert parse_time("2025-09-09T06:30:01") == moment.replace(microsecond=0)


def test_a_checksum_ignores_row_order_and_sees_any_change() -> None:
    table = next(t for t in TABLES if t.name == "app_state")  # key, value, updated_at
    rows = [("a", "1", dt.datetime(2025, 9, 9, tzinfo=dt.UTC)), ("b", "2", None)]
    one, two, changed = TableSum(), TableSum(), TableSum()
    one.add(table, rows)
    two.add(table, rows[::-1])
    changed.add(table, [rows[0], ("b", "3", None)])
    assert (one.rows, one.checksum) == (two.rows, two.checksum)
    assert one.checksum != changed.checksum
