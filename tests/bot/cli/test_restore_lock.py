"""`paperboy` commands and `paperboy restore` exclude each other (issue #20), through the real CLI.

A restore holds `<database>.lock` exclusively while it copies the backup in (storage.instance_lock);
every command that opens the database holds it shared. So a command started during a restore
refuses at once with a clear message instead of writing into a database being replaced, and a
restore started while a command runs refuses instead of replacing the database under it."""

from __future__ import annotations

import http.server
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.cli import main
from storage.backup import backup
from storage.instance_lock import exclusive

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "fixtures" / "ingest" / "hf-api-latex-titles.json"
SAMPLE = ROOT / "tests" / "fixtures" / "hf-daily-papers-page-sep-9.txt"
RESTORING = "a restore is replacing this database; try again when it has finished"

# Every command that opens the database, with arguments that would change it (or, for the ones
# that only report, read it). Each must refuse while a restore runs and leave the database alone.
COMMANDS = [
    ["ingest", str(FIXTURE)],
    ["fetch"],  # the inbox only (the test's config): no network
    ["subscribe", "console:alice", "diffusion"],
    ["unsubscribe", "console:bob", "1"],
    ["subscriptions", "console:bob", "--pause"],
    ["schedule", "set", "console:lab", "--channel", "console:papers", "--time", "10:00", "--tz", "Europe/Paris"],
    ["schedule", "pause", "console:lab"],
    ["schedule", "remove", "console:lab"],
    ["paper", "flash attention"],  # may save the title index snapshot
    ["vote", "console:alice", "flash attention"],
    ["library", "console:alice", "add", "flash attention"],
    ["similar", "--rebuild"],
    ["backup", "BACKUP"],
    ["search", "diffusion"], ["digest"], ["digests"], ["export"], ["stats"], ["status"], ["sources"],
    ["posts"], ["deliveries"], ["schedule", "list"], ["subscriptions"], ["summarize", "--dry-run"], ["top", "--json"],
    ["similar", "flash attention"], ["recommend", "console:alice", "--json"],
]


def test_every_command_that_opens_the_database_is_checked() -> None:
    from bot.cli import COMMANDS as ALL

    # demo, console, run and web hold the lock through App.open (tests/storage/test_backup.py,
    # tests/bot/web/test_serving.py);
    # sync-commands opens the database as the others do but needs Discord; config opens nothing;
    # restore is the other side; migrate-db names its own databases, holding FROM shared and TO
    # alone (tests/bot/cli/test_migrate_db.py).
    elsewhere = {"demo", "console", "run", "web", "sync-commands", "config", "restore", "migrate-db"}
    assert {argv[0] for argv in COMMANDS} == set(ALL) - elsewhere


@pytest.fixture
def live(tmp_path: Path) -> Path:
    """A database with the sample digest, a subscription and a schedule; a config whose only source
    is an empty inbox."""
    db = tmp_path / "live.db"
    (tmp_path / "inbox").mkdir()
    (tmp_path / "paperboy.toml").write_text(
        f'[fetch]\nhf_enabled = false\ninbox_enabled = true\ninbox_path = "{tmp_path / "inbox"}"\n')
    assert main(["--db", str(db), "ingest", str(SAMPLE), "--date", "2025-09-09"]) == 0
    assert main(["--db", str(db), "subscribe", "console:bob", "attention"]) == 0
    assert main(["--db", str(db), "schedule", "set", "console:lab", "--channel", "console:papers", "--time", "09:00",
                 "--tz", "Europe/Berlin"]) == 0
    return db


def _dump(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.iterdump())


def _cli(capsys: pytest.CaptureFixture[str], db: Path, argv: list[str]) -> tuple[int, str]:
    capsys.readouterr()
    status = main(["--db", str(db), "--config", str(db.parent / "paperboy.toml"), *argv])
    return status, capsys.readouterr().err


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_command_refuses_while_a_restore_runs(live: Path, argv: list[str],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(live.parent / "copy.db") if a == "BACKUP" else a for a in argv]
    before = _dump(live)
    with exclusive(live):  # what `paperboy restore` holds while it copies a backup in
        status, err = _cli(capsys, live, argv)
    assert status == 1 and err == f"paperboy: {live}: {RESTORING}\n"
    assert _dump(live) == before
    assert not (live.parent / "copy.db").exists()
    status, err = _cli(capsys, live, argv)  # once the restore is done, the command works
    assert status == 0, err


def test_a_command_in_another_process_refuses_while_a_restore_runs(live: Path) -> None:
    before = _dump(live)
    env = {**os.environ, "PAPERBOY_LOGGING_FILE": str(live.parent / "paperboy.log")}
    with exclusive(live):
        done = subprocess.run([sys.executable, "-m", "bot", "--db", str(live), "subscribe", "console:carol", "llm"],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=False)
    assert done.returncode == 1 and done.stderr == f"paperboy: {live}: {RESTORING}\n" and not done.stdout
    assert _dump(live) == before


class _HeldDigest(http.server.BaseHTTPRequestHandler):
    """Serves the fixture digest only once the test lets it: while it waits, the `paperboy ingest`
    that asked for it is a running command with the database open."""

    asked = threading.Event()
    answer = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        type(self).asked.set()
        type(self).answer.wait(120)
        body = FIXTURE.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
        pass


@pytest.fixture
def held_digest() -> Iterator[tuple[str, type[_HeldDigest]]]:
    handler = type("Held", (_HeldDigest,), {"asked": threading.Event(), "answer": threading.Event()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/digest.json", handler
    finally:
        handler.answer.set()
        server.shutdown()
        server.server_close()


def test_restore_refuses_while_a_command_writes(live: Path, held_digest: tuple[str, type[_HeldDigest]],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    url, digest = held_digest
    backup(live, live.parent / "b.db")
    env = {**os.environ, "PAPERBOY_LOGGING_FILE": str(live.parent / "paperboy.log"), "NO_PROXY": "127.0.0.1",
           "no_proxy": "127.0.0.1"}
    ingest = subprocess.Popen([sys.executable, "-m", "bot", "--db", str(live), "ingest", url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        assert digest.asked.wait(120), "paperboy ingest never asked for the digest"
        status, err = _cli(capsys, live, ["restore", str(live.parent / "b.db")])  # the ingest is mid-load
        assert status == 1 and "is in use by a running Paperboy" in err and "paperboy command" in err
        assert not list(live.parent.glob("live.db.before-restore-*"))
    finally:
        digest.answer.set()
        out, errors = ingest.communicate(timeout=120)
    assert ingest.returncode == 0 and "hf-daily 2026-03-02: 7 papers" in out, errors
    status, err = _cli(capsys, live, ["restore", str(live.parent / "b.db")])  # the ingest is done
    assert status == 0, err
