"""The database locked by another process, and the disk full on write: a clear one-line error,
nothing half-stored, reads (search, commands that only read) keep working, and the file passes
`PRAGMA integrity_check` afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bench import corpus
from bot.app import App
from bot.cli import main
from bot.commands import dispatch
from bot.config import Settings
from bot.transports.console_render import ConsoleOutbound
from storage.errors import DatabaseUnavailable
from storage.records import PaperRecord, ParsedDigest
from storage.sqlite.db import SqliteDatabase
from testkit.bot_process import integrity
from testkit.faults.scenarios import PAPERS, ROOT, write_daily_digest

DAY = dt.date(2026, 1, 5)
BUSY_MS = 300  # the write gives up after this; the lock is held far longer
HOLD_SECONDS = 3.0


async def open_app(path: Path) -> App:
    settings = Settings()
    settings.database.path = str(path)
    settings.database.busy_timeout_ms = BUSY_MS
    app = await App.open(settings, ConsoleOutbound(lambda text: None), platform="console")
    await app.loader.load(ParsedDigest("hf-daily", DAY, "hf-api", PAPERS))
    return app


@asynccontextmanager
async def locked_by_another_process(path: Path) -> AsyncIterator[None]:
    """Another process holds an exclusive write transaction on `path` for HOLD_SECONDS."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import sqlite3, sys, time\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(float(sys.argv[2]))\n",
        str(path), str(HOLD_SECONDS), stdout=asyncio.subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert (await asyncio.wait_for(holder.stdout.readline(), 10)).strip() == b"locked"
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have ended (3.13 raises then)
            holder.kill()
        await holder.wait()


def more_papers(n: int, prefix: str = "2602") -> list[PaperRecord]:
    return [PaperRecord(f"Sparse attention study {i}", "A long abstract about attention. " * 40, f"{prefix}.{i:05d}")
            for i in range(n)]


async def counts(app: App) -> tuple[int, int]:
    row = await app.db.fetchone("SELECT (SELECT COUNT(*) FROM papers), (SELECT COUNT(*) FROM digests)")
    assert row is not None
    return int(row[0]), int(row[1])


async def test_a_write_while_another_process_holds_the_lock_fails_clearly_and_reads_go_on(tmp_path: Path) -> None:
    app = await open_app(tmp_path / "paperboy.db")
    try:
        before = await counts(app)
        member = app.context("console:alice")
        async with locked_by_another_process(tmp_path / "paperboy.db"):
            with pytest.raises(DatabaseUnavailable, match="^the database is locked by another process; try again"):
                await app.loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", more_papers(50)))
            refused = await dispatch("subscribe", {"topic": "diffusion"}, member)
            assert refused.private and refused.text.startswith("The archive is busy right now")
            found = await dispatch("search", {"query": "diffusion"}, member)  # reads are not blocked
            assert found.cards and found.cards[0].title == "6 papers match diffusion"
            assert await counts(app) == before
        again = await app.loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", more_papers(50)))
        assert again.new == 50
    finally:
        await app.close()
    assert integrity(tmp_path / "paperboy.db") == "ok"


async def test_paperboy_ingest_on_a_locked_database_is_a_one_line_error(tmp_path: Path) -> None:
    db, source = tmp_path / "paperboy.db", tmp_path / "digest.json"
    write_daily_digest(source, 20)
    await (await open_app(db)).close()
    env = {**os.environ, "PAPERBOY_DATABASE_BUSY_TIMEOUT_MS": str(BUSY_MS), "PAPERBOY_LOG_FILE": str(db) + ".log"}
    async with locked_by_another_process(db):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--db", str(db), "ingest", str(source), "--date", "2026-01-06", cwd=ROOT,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 20)
    lines = err.decode().strip().splitlines()
    assert process.returncode == 1 and len(lines) == 1, err.decode()
    assert lines[0] == "paperboy: the database is locked by another process; try again shortly"
    assert integrity(db) == "ok"


async def test_a_full_disk_refuses_the_load_whole_and_the_archive_stays_readable(tmp_path: Path) -> None:
    app = await open_app(tmp_path / "paperboy.db")
    try:
        before = await counts(app)
        row = await app.db.fetchone("PRAGMA page_count")
        assert row is not None
        # A full disk, as SQLite sees it: the file may not grow past a few more pages.
        await app.db.conn.execute(f"PRAGMA max_page_count = {int(row[0]) + 8}")
        with pytest.raises(DatabaseUnavailable, match="^the disk is full: nothing was written"):
            await app.loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", more_papers(2000)))
        assert await counts(app) == before  # nothing half-stored
        member = app.context("console:alice")
        found = await dispatch("search", {"query": "diffusion"}, member)
        assert found.cards and found.cards[0].title == "6 papers match diffusion"
        await app.db.conn.execute("PRAGMA max_page_count = 1073741823")  # space freed
        again = await app.loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api",
                                                   more_papers(2000)))
        assert again.new == 2000
    finally:
        await app.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "paperboy.db")) as conn, conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")  # raises when damaged


def disk_with_room_for(monkeypatch: pytest.MonkeyPatch, pages: int) -> None:
    """Every SQLite database opened from now on may grow by `pages` pages only: a disk that fills up."""
    original = SqliteDatabase.connect.__func__  # type: ignore[attr-defined]

    async def connect_on_a_small_disk(cls: type[SqliteDatabase], /, path: str | Path, **options: Any) -> SqliteDatabase:
        db: SqliteDatabase = await original(cls, path, **options)
        row = await db.fetchone("PRAGMA page_count")
        assert row is not None
        await db.conn.execute(f"PRAGMA max_page_count = {int(row[0]) + pages}")
        return db

    monkeypatch.setattr(SqliteDatabase, "connect", classmethod(connect_on_a_small_disk))


@pytest.mark.parametrize("room", [1000, 2])
def test_a_disk_that_fills_during_a_streamed_load_says_what_was_committed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], room: int) -> None:
    snapshot = corpus.write_corpus(tmp_path / "snapshot.jsonl", 3000, seed=5)
    db = tmp_path / "paperboy.db"
    monkeypatch.setenv("PAPERBOY_INGEST_CHUNK_SIZE", "500")
    monkeypatch.setenv("PAPERBOY_LOG_FILE", str(tmp_path / "paperboy.log"))
    disk_with_room_for(monkeypatch, room)
    assert main(["--db", str(db), "ingest", str(snapshot)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        papers, digests = conn.execute(
            "SELECT (SELECT COUNT(*) FROM papers), (SELECT COUNT(*) FROM digests)").fetchone()
    assert lines[-1].startswith("paperboy: the disk is full: "), lines
    if room == 2:  # not even the first chunk fits
        assert papers == 0
        assert lines[-1] == (f"paperboy: the disk is full: nothing of {snapshot} was written; free some space and "
                             "load it again")
    else:
        assert 0 < papers < 3000 and papers % 500 == 0  # whole chunks
        assert lines[-1] == (f"paperboy: the disk is full: {papers:,} papers in {digests:,} digests of {snapshot} "
                             "were committed before it filled, the rest was not written; free some space and run "
                             "the same command again to complete it")
    monkeypatch.undo()  # space freed: the same command completes the load
    monkeypatch.setenv("PAPERBOY_LOG_FILE", str(tmp_path / "paperboy.log"))
    assert main(["--db", str(db), "ingest", str(snapshot), "--json"]) == 0
    assert integrity(db) == "ok"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0] == 3000
