"""Two processes watching one inbox: each file is claimed by one of them, the other skips it without
an error or a back-off; files claimed by a process that died go back into the inbox."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.app import ClockedLoader
from bot.sources.inbox import CLAIMED, Inbox
from bot.sources.poller import Poller
from storage import digests, fetch_state
from storage.db import Database
from storage.loader import Loader
from tests.bot.sources.upstream import NOW, FakeTime, make_client

ROOT = Path(__file__).resolve().parents[3]


def drop(folder: Path, fixtures: Path, count: int) -> list[str]:
    """`count` RSS files (each its own titles), dated an hour ago: settled."""
    folder.mkdir(parents=True, exist_ok=True)
    sample = (fixtures / "arxiv-rss-sample.xml").read_text(encoding="utf-8")
    names = []
    for i in range(count):
        path = folder / f"feed-{i}.xml"
        path.write_text(sample.replace("<title>", f"<title>F{i} "), encoding="utf-8")
        os.utime(path, (time.time() - 3600, time.time() - 3600))
        names.append(path.name)
    return names


class ListedEarlier(Inbox):
    """An inbox whose listing (three files) was taken before another process claimed them."""

    def waiting(self) -> list[Path]:
        return [self.folder / f"feed-{i}.xml" for i in range(3)]


async def test_a_file_another_process_claimed_is_skipped_without_a_failure(
        tmp_path: Path, db: Database, fixtures: Path) -> None:
    inbox_dir = tmp_path / "inbox"
    names = drop(inbox_dir, fixtures, 3)
    other = Inbox(inbox_dir, settle_s=0.0, claimant=os.getpid() + 1)
    late = ListedEarlier(inbox_dir, settle_s=0.0)
    assert [p.name for p in late.waiting()] == names

    # The other process claims and loads them all between this one's listing and its claims.
    assert sorted(f.name for f in await other.process(Loader(db))) == names
    poller = Poller(db, Loader(db), make_client(FakeTime()), [], inbox=late, clock=lambda: NOW)
    try:
        [outcome] = (await poller.poll_once(NOW, force=True)).outcomes
    finally:
        await poller.close()
    assert (outcome.source, outcome.status, outcome.error) == ("inbox", "empty", None)
    status = await fetch_state.get_status(db, "inbox")
    assert (status.consecutive_failures, status.backoff_until) == (0, None)
    assert sorted(p.name for p in (inbox_dir / "processed").iterdir()) == names
    assert not (inbox_dir / "failed").exists()
    assert list((inbox_dir / CLAIMED).iterdir()) == []  # each claim folder is removed once done


async def test_files_claimed_by_a_process_that_died_go_back_into_the_inbox(
        tmp_path: Path, db: Database, fixtures: Path) -> None:
    inbox_dir = tmp_path / "inbox"
    drop(inbox_dir, fixtures, 1)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,  # noqa: ASYNC221
                          text=True, check=True)
    dead = Inbox(inbox_dir, settle_s=0.0, claimant=int(gone.stdout))
    assert dead.claim(inbox_dir / "feed-0.xml") == inbox_dir / CLAIMED / gone.stdout.strip() / "feed-0.xml"
    # It died before loading: the next poll of a live process puts the file back and loads it.
    [done] = await Inbox(inbox_dir, settle_s=0.0).process(Loader(db))
    assert (done.name, done.outcome.ok, done.outcome.input) == ("feed-0.xml", True, str(inbox_dir / "feed-0.xml"))
    assert (inbox_dir / "processed" / "feed-0.xml").is_file()
    assert list((inbox_dir / CLAIMED).iterdir()) == []


async def test_a_failed_file_is_named_as_it_was_dropped(tmp_path: Path, db: Database) -> None:
    inbox_dir = tmp_path / "inbox"
    inbox_dir.mkdir()
    (inbox_dir / "broken.json").write_text('[{"paper": ')
    [done] = await Inbox(inbox_dir, settle_s=0.0).process(Loader(db))
    error = (inbox_dir / "failed" / "broken.json.error.txt").read_text()
    assert error.startswith(f"{inbox_dir / 'broken.json'}, line 1: invalid JSON") and CLAIMED not in error
    assert done.outcome.error == error.strip()


def test_two_fetch_inbox_commands_at_once_share_the_files(tmp_path: Path, fixtures: Path) -> None:
    """Two `paperboy fetch inbox` started together on thirty files: every file is loaded once,
    by one of them, and neither reports a failure (one used to fail with "No such file" and its
    source backed off for 15 minutes)."""
    inbox_dir = tmp_path / "inbox"
    names = drop(inbox_dir, fixtures, 30)
    env = {**os.environ, "HOME": str(tmp_path), "PAPERBOY_LOG_FILE": str(tmp_path / "log"),
           "PAPERBOY_FETCH_INBOX_PATH": str(inbox_dir), "PAPERBOY_FETCH_INBOX_SETTLE_SECONDS": "0",
           # What is shared here is the files. Thirty loads each, back to back, on a loaded CI machine
           # can keep the other process from the write lock past the 5 s default (SQLite's busy
           # handler is not fair), which is "try again", not this test's subject.
           "PAPERBOY_DATABASE_BUSY_TIMEOUT_MS": "60000"}
    argv = [sys.executable, "-m", "bot", "--db", str(tmp_path / "p.db"), "fetch", "inbox", "--json"]
    runs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
            for _ in range(2)]
    outputs = [run.communicate(timeout=240) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out + err
        assert "No such file" not in out + err and '"failed"' not in out
    assert sorted(p.name for p in (inbox_dir / "processed").iterdir()) == sorted(names)
    assert not (inbox_dir / "failed").exists()
    status = subprocess.run([sys.executable, "-m", "bot", "--db", str(tmp_path / "p.db"), "sources", "--json"],
                            capture_output=True, text=True, cwd=ROOT, env=env, check=True, timeout=240)
    [inbox] = [json.loads(line) for line in status.stdout.splitlines() if '"source": "inbox"' in line]
    assert (inbox["consecutive_failures"], inbox["backing_off"]) == (0, False)


async def test_inbox_files_are_loaded_by_the_callers_loader_with_its_clock(tmp_path: Path, db: Database,
                                                                          fixtures: Path) -> None:
    drop(tmp_path / "inbox", fixtures, 1)
    simulated = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    [done] = await Inbox(tmp_path / "inbox", settle_s=0.0).process(ClockedLoader(db, lambda: simulated))
    assert done.outcome.ok and done.results
    digest = await digests.find_digest(db)
    assert digest is not None and digest.fetched_at == simulated
