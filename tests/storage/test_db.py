"""The connection: pragmas, migrations recorded and refused when newer, transactions roll back."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import aiosqlite
import pytest

from storage.backends import open_database
from storage.db import Database
from storage.errors import DatabaseUnavailable, NotPaperboyDatabase, SchemaTooNew
from storage.sqlite.db import SqliteDatabase, migrations, split_sql


async def test_fresh_database_is_migrated_in_wal_with_foreign_keys(db: Database) -> None:
    assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
    assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
    latest = migrations()[-1][0]
    assert await db.schema_version() == latest
    rows = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
    assert [r[0] for r in rows] == [v for v, _, _ in migrations()]


async def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    async with await open_database(path) as first:
        assert await first.schema_version() > 0
    async with await open_database(path) as second:
        assert await second.migrate() == []


async def test_newer_schema_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    async with await open_database(path) as db:
        await db.execute(
            "INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, 'future', 'x')")
    with pytest.raises(SchemaTooNew, match="version 9999"):
        await open_database(path)


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO digests(source, date, format, fetched_at, updated_at)"
                               " VALUES ('s','2025-01-01','f','t','t')")
            raise RuntimeError("boom")
    assert (await db.fetchone("SELECT COUNT(*) FROM digests"))[0] == 0
    # The connection is still usable afterwards.
    assert await db.execute(
        "INSERT INTO digests(source, date, format, fetched_at, updated_at) VALUES ('s','2025-01-01','f','t','t')"
    ) == 1


def test_split_sql_keeps_trigger_bodies_whole() -> None:
    script = """-- c
CREATE TABLE a(x);
CREATE TRIGGER t AFTER INSERT ON a BEGIN
  INSERT INTO a VALUES (1);
  INSERT INTO a VALUES (2);
END;
"""
    parts = split_sql(script)
    assert len(parts) == 2
    assert parts[1].startswith("CREATE TRIGGER") and parts[1].endswith("END;")
    for part in parts:
        assert sqlite3.complete_statement(part)


async def test_a_migration_landed_out_of_order_is_still_applied(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.sqlite.db

    bundled = migrations()
    assert len(bundled) >= 3
    # A database made by a build that had every migration but the second one.
    monkeypatch.setattr(storage.sqlite.db, "migrations", lambda: [bundled[0], *bundled[2:]])
    async with await open_database(tmp_path / "x.db"):
        pass
    monkeypatch.setattr(storage.sqlite.db, "migrations", lambda: bundled)
    async with await open_database(tmp_path / "x.db") as db:
        rows = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r[0] for r in rows] == [v for v, _, _ in bundled]


@pytest.mark.parametrize("version", [2, 10])
async def test_a_recorded_migration_in_a_gap_of_the_bundled_numbers_is_refused(tmp_path: Path, version: int) -> None:
    bundled = {v for v, _, _ in migrations()}
    assert version not in bundled and version < max(bundled)  # a gap, below the latest
    path = tmp_path / "x.db"
    async with await open_database(path) as db:
        await db.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, 'newer', 'x')",
                         (version,))
    with pytest.raises(SchemaTooNew, match=rf"^the database schema includes migration {version}, which this "
                                           rf"Paperboy \(migrations up to {max(bundled)}\) does not have: a newer "
                                           "Paperboy wrote it; upgrade Paperboy or use another --db$"):
        await (await open_database(path)).close()


async def test_another_applications_database_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA journal_mode = WAL")  # its own WAL: still nothing of Paperboy's added
        conn.execute("CREATE TABLE papers (id INTEGER PRIMARY KEY, title TEXT)")
    before = path.read_bytes()
    with pytest.raises(NotPaperboyDatabase, match="^the database at .*other.db is not a Paperboy database"):
        await (await open_database(path)).close()
    assert path.read_bytes() == before
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["papers"]


async def test_a_write_to_a_read_only_database_says_it_is_not_writable(tmp_path: Path) -> None:
    """Read-only as SQLite sees it (a read-only connection), whoever runs the test."""
    path = tmp_path / "x.db"
    await (await open_database(path)).close()
    conn = await aiosqlite.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
    db = SqliteDatabase(conn, str(path))
    try:
        with pytest.raises(DatabaseUnavailable, match=f"^the database at {path} \\(or its folder\\) is not writable$"):
            await db.execute("INSERT INTO digests(source, date, format, fetched_at, updated_at)"
                             " VALUES ('s','2025-01-01','f','t','t')")
    finally:
        await db.close()


async def test_a_damaged_page_met_by_a_read_is_named(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    async with await open_database(path) as db:
        root = (await db.fetchone("SELECT rootpage FROM sqlite_master WHERE name = 'digests'"))[0]
        page_size = (await db.fetchone("PRAGMA page_size"))[0]
    with path.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * page_size)
    async with await open_database(path) as db:
        with pytest.raises(NotPaperboyDatabase, match="is damaged or is not a Paperboy database$"):
            await db.fetchall("SELECT * FROM digests")
