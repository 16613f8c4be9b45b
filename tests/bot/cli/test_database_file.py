"""The database file itself through the real `paperboy` (issues #12 and #21): a file that is
garbage, damaged or another application's, a folder or file that cannot be written, a disk that
fails, each said in one line naming the database, never an internal error, and nothing written
to a file that is not Paperboy's."""

from __future__ import annotations

import logging
import os
import random
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[3]


def paperboy(db: Path, *argv: str, env: dict[str, str] | None = None, stdin: str | None = None,
             prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """`paperboy --db DB ARGV...` as its own process (`prefix`: what runs it, e.g. setpriv)."""
    environment = {**os.environ, "PAPERBOY_LOG_FILE": str(db.parent / "paperboy.log"), **(env or {})}
    return subprocess.run([*(prefix or []), sys.executable, "-m", "bot", "--db", str(db), *argv], cwd=ROOT,
                          input=stdin or "", capture_output=True, text=True, timeout=120, env=environment)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Every way in: a read, a load, the console's start and the bot's start (before any connection:
# the Discord API it would reach is a closed loopback port).
ENTRY_POINTS: dict[str, tuple[list[str], dict[str, str], str | None]] = {
    "search": (["search", "diffusion"], {}, None),
    "ingest": (["ingest", str(ROOT / "tests" / "fixtures" / "hf-daily-papers-api-sample.json")], {}, None),
    "console": (["console"], {}, "/search diffusion\n"),
    "run": (["run"], {"DISCORD_TOKEN": "abc.def.ghi", "PAPERBOY_FETCH_ENABLED": "false",
                      "PAPERBOY_DISCORD_API_BASE": f"http://127.0.0.1:{_closed_port()}/api/v10"}, None),
}


def refused(db: Path, entry: str, *, prefix: list[str] | None = None,
            env: dict[str, str] | None = None) -> str:
    """Run `entry` on `db`; it must fail with exit status 1 and one line on standard error: returned."""
    argv, extra, stdin = ENTRY_POINTS[entry]
    done = paperboy(db, *argv, env={**extra, **(env or {})}, stdin=stdin, prefix=prefix)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, (done.returncode, done.stderr)
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    return lines[0]


def sample_database(path: Path) -> Path:
    assert main(["--db", str(path), "ingest", "--sample", "--json"]) == 0
    return path


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("content", ["random bytes", "text"])
def test_a_file_that_is_not_a_database_is_named_as_such(tmp_path: Path, entry: str, content: str) -> None:
    db = tmp_path / "paperboy.db"
    data = random.Random(7).randbytes(20_000) if content == "random bytes" else b"my shopping list\n" * 50
    db.write_bytes(data)
    line = refused(db, entry)
    assert line == f"paperboy: the database at {db} is damaged or is not a Paperboy database"
    assert db.read_bytes() == data


def _overwrite_page_of(db: Path, table: str) -> None:
    """Damage the page that holds `table`'s rows: the file still opens, reading the table fails."""
    with closing(sqlite3.connect(db)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    with db.open("r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(random.Random(root).randbytes(page_size))


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_a_paperboy_database_with_a_damaged_page_is_named_as_such(tmp_path: Path, entry: str) -> None:
    db = sample_database(tmp_path / "paperboy.db")
    _overwrite_page_of(db, "papers")
    line = refused(db, entry)
    assert line == f"paperboy: the database at {db} is damaged or is not a Paperboy database"


def _foreign_database(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE papers (id INTEGER PRIMARY KEY, title TEXT, grade REAL)")
        conn.executemany("INSERT INTO papers (title, grade) VALUES (?, ?)", [("Essay", 1.3), ("Thesis", 2.0)])
        conn.execute("CREATE TABLE notes (body TEXT)")
    return path


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_another_applications_database_is_refused_without_writing_a_byte(tmp_path: Path, entry: str) -> None:
    db = _foreign_database(tmp_path / "grades.db")
    before = db.read_bytes(), db.stat().st_mtime_ns
    line = refused(db, entry)
    assert line == (f"paperboy: the database at {db} is not a Paperboy database (it holds another "
                    "application's tables: papers, notes); use another --db")
    assert (db.read_bytes(), db.stat().st_mtime_ns) == before
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # not switched to WAL
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("grades.db-")]  # no -wal, -shm, -journal


@pytest.mark.parametrize("start", ["new path", "empty file", "empty database"])
def test_a_new_path_an_empty_file_or_an_empty_database_becomes_a_paperboy_database(tmp_path: Path,
                                                                                   start: str) -> None:
    db = tmp_path / "paperboy.db"
    if start == "empty file":
        db.touch()
    elif start == "empty database":
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("VACUUM")  # a valid SQLite file with no tables
    done = paperboy(db, "ingest", "--sample")
    assert done.returncode == 0, done.stderr
    assert "144 papers" in done.stdout


@contextmanager
def permissions(path: Path, mode: int) -> Iterator[None]:
    saved = stat.S_IMODE(path.stat().st_mode)
    path.chmod(mode)
    try:
        yield
    finally:
        path.chmod(saved)


def _as_a_user_who_obeys_permissions() -> list[str]:
    """A command prefix under which file permissions bind: none for a normal user; as root (who
    writes anything), root without the capabilities that override file permissions, if setpriv
    exists (the interpreter stays readable: root still owns it)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, and no setpriv to drop the capability that overrides file permissions")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", caps, "--inh-caps", caps]


@pytest.mark.parametrize("entry", ["search", "ingest", "console"])
@pytest.mark.parametrize("what", ["folder", "file"])
def test_a_database_that_cannot_be_written_is_said_so(tmp_path: Path, entry: str, what: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db = sample_database(folder / "paperboy.db")
    prefix = _as_a_user_who_obeys_permissions()
    log = {"PAPERBOY_LOG_FILE": str(tmp_path / "paperboy.log")}
    with permissions(db if what == "file" else folder, 0o444 if what == "file" else 0o555):
        line = refused(db, entry, prefix=prefix, env=log)
    reason = "it is a read-only file" if what == "file" else f"{folder} is a read-only folder"
    assert line == f"paperboy: the database at {db} (or its folder) is not writable: {reason}"


def test_a_disk_that_fails_on_reading_is_one_clear_line(tmp_path: Path) -> None:
    """SQLite maps the database's shared memory from PATH-shm; when that file cannot be sized (here
    a FIFO stands where it goes: the same error a full disk gives) opening fails with a disk I/O
    error. The log file on a full device (/dev/full) adds no traceback of its own."""
    db = sample_database(tmp_path / "paperboy.db")
    os.mkfifo(tmp_path / "paperboy.db-shm")
    env = {"PAPERBOY_LOG_FILE": "/dev/full"} if Path("/dev/full").exists() else {}
    line = refused(db, "search", env=env)
    assert line == (f"paperboy: the database at {db} cannot be read or written: disk I/O error "
                    "(is the disk full or failing?)")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device that is always full)")
def test_a_log_file_on_a_full_disk_adds_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.log_setup import setup_logging
    from bot.config import Settings

    settings = Settings()
    settings.logging.file = "/dev/full"
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging(settings, verbose=False)
        logging.getLogger("paperboy").error("the database at x.db is damaged")
    finally:
        for handler in root.handlers[:]:
            if handler not in saved[0]:
                root.removeHandler(handler)
                handler.close()
        root.setLevel(saved[1])
    assert capsys.readouterr().err == "ERROR: the database at x.db is damaged\n"
