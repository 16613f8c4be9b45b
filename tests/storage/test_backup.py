"""`paperboy backup` / `restore`: a checked, consistent copy of a live WAL database, never a half
file; restore refused while a bot holds the database, and only from an intact Paperboy database."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from storage.backup import BackupError, backup, inspect, restore
from storage.instance_lock import DatabaseInUse, exclusive, hold_shared

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in list(os.environ):
        if var.startswith("PAPERBOY_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("PAPERBOY_LOGGING_FILE", str(tmp_path / "paperboy.log"))
    yield tmp_path
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_paperboy", False)]:
        root.removeHandler(handler)
        handler.close()


@pytest.fixture
def loaded(cli: Path) -> Path:
    db = cli / "live.db"
    assert main(["--db", str(db), "ingest", str(FIXTURES / "hf-daily-papers-page-sep-9.txt"),
                 "--date", "2025-09-09"]) == 0
    return db


def _papers(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        count = int(conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0])
    conn.close()
    return count


def test_backup_of_a_live_wal_database_has_every_commit_and_is_one_file(loaded: Path, cli: Path) -> None:
    writer = sqlite3.connect(loaded, isolation_level=None)  # a running bot: WAL, its commits not checkpointed
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("UPDATE papers SET title = title || ' (v2)' WHERE id = 1")
        assert (cli / "live.db-wal").stat().st_size > 0
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("DELETE FROM papers")  # in flight: not in a consistent copy
        result = backup(loaded, cli / "copy.db")
        writer.execute("ROLLBACK")
    finally:
        writer.close()
    assert result.copy.papers == 144 and result.copy.digests == 1 and result.copy.path == str(cli / "copy.db")
    with sqlite3.connect(cli / "copy.db") as conn:
        assert conn.execute("SELECT title FROM papers WHERE id = 1").fetchone()[0].endswith(" (v2)")
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert sorted(p.name for p in cli.iterdir() if p.name.startswith(("copy", ".copy"))) == ["copy.db"]


def test_backup_refuses_what_it_cannot_vouch_for_and_leaves_nothing(loaded: Path, cli: Path) -> None:
    damaged = cli / "damaged.db"
    shutil.copy(loaded, damaged)
    with sqlite3.connect(damaged) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with damaged.open("r+b") as f:  # overwrite pages in the middle of the file with garbage
        f.seek(4096 * 5)
        f.write(b"\xff" * 4096 * 20)
    with pytest.raises(BackupError, match="damaged"):
        backup(damaged, cli / "out.db")
    (cli / "notes.txt").write_text("hello")
    with pytest.raises(BackupError, match="notes.txt is not an SQLite database"):
        backup(cli / "notes.txt", cli / "out.db")
    other = sqlite3.connect(cli / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.close()
    with pytest.raises(BackupError, match="other.db is an SQLite database but not a Paperboy database"):
        backup(cli / "other.db", cli / "out.db")
    with pytest.raises(BackupError, match="no such database, nothing to back up"):
        backup(cli / "missing.db", cli / "out.db")
    assert not [p for p in cli.iterdir() if "out.db" in p.name or "missing" in p.name]
    backup(loaded, cli / "out.db")
    with pytest.raises(BackupError, match="already exists; choose another name or pass --overwrite"):
        backup(loaded, cli / "out.db")


def test_backup_into_a_folder_through_the_cli(loaded: Path, cli: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (cli / "backups").mkdir()
    capsys.readouterr()
    assert main(["--db", str(loaded), "backup", str(cli / "backups")]) == 0
    made = list((cli / "backups").iterdir())
    assert len(made) == 1 and made[0].name.startswith("paperboy-") and _papers(made[0]) == 144
    out = capsys.readouterr().out
    assert out.startswith(f"Backed up {loaded} to {made[0]}: 144 papers, 1 digests") and "integrity check ok" in out


def test_restore_is_refused_while_a_bot_holds_the_database(loaded: Path, cli: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    backup(loaded, cli / "b.db")
    running = hold_shared(loaded)  # what App.open holds for `paperboy run` and the console
    try:
        capsys.readouterr()
        assert main(["--db", str(loaded), "restore", str(cli / "b.db")]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is in use by a running Paperboy" in err
    finally:
        running.release()
    with exclusive(loaded), pytest.raises(DatabaseInUse, match="a restore is replacing this database"):
        hold_shared(loaded)  # and a bot does not start in the middle of a restore


def test_restore_replaces_the_database_and_keeps_the_one_it_replaced(loaded: Path, cli: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    backup(loaded, cli / "b.db")
    reader = sqlite3.connect(loaded, isolation_level=None)  # a connection left open (not a bot) sees the restore
    try:
        reader.execute("DELETE FROM papers WHERE id > 100")
        capsys.readouterr()
        assert main(["--db", str(loaded), "restore", str(cli / "b.db")]) == 0
        assert reader.execute("SELECT COUNT(*) FROM papers").fetchone()[0] == 144
    finally:
        reader.close()
    out = capsys.readouterr().out
    saved = next(cli.glob("live.db.before-restore-*"))
    assert f"saved as {saved}" in out and _papers(saved) == 100
    assert inspect(loaded).papers == 144


def test_restore_refuses_a_newer_or_foreign_backup(loaded: Path, cli: Path) -> None:
    backup(loaded, cli / "newer.db")
    with sqlite3.connect(cli / "newer.db") as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', '2030-01-01T00:00:00Z')")
    conn.close()
    with pytest.raises(BackupError, match="written by a newer Paperboy"):
        restore(cli / "newer.db", loaded)
    with pytest.raises(BackupError, match="no such file"):
        restore(cli / "missing.db", loaded)
    assert inspect(loaded).papers == 144 and not list(cli.glob("live.db.before-restore-*"))


def test_restore_into_a_new_place(loaded: Path, cli: Path) -> None:
    backup(loaded, cli / "b.db")
    result = restore(cli / "b.db", cli / "new" / "paperboy.db")
    assert result.previous is None and result.restored.papers == 144


async def test_the_bot_and_the_console_hold_the_database_while_open(tmp_path: Path) -> None:
    from bot.app import App
    from bot.config import Settings
    from bot.transports.console_render import ConsoleOutbound

    settings = Settings()
    settings.database.path = str(tmp_path / "p.db")
    app = await App.open(settings, ConsoleOutbound(lambda text: None), platform="console")
    try:
        with pytest.raises(DatabaseInUse), exclusive(settings.db_path):
            pass
    finally:
        await app.close()
    with exclusive(settings.db_path):  # released on close
        pass
