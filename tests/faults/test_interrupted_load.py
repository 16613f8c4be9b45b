"""Ctrl-C in the middle of a bulk load (`paperboy ingest` of a snapshot big enough for the parsing
worker process): SIGINT to the process group, as a terminal sends it. The open chunk is rolled
back, the title index the bulk load dropped is back, the worker is gone, the command says how many
papers stay and exits 130; running it again finishes the load."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.corpus import write_corpus
from bot.ingest.load import IngestOptions
from testkit.bot_process import integrity, query

ROOT = Path(__file__).resolve().parents[2]
PAPERS = 10_000
CHUNK = 1_000


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_corpus(tmp_path_factory.mktemp("snapshot") / "arxiv-snapshot.json", PAPERS)
    assert path.stat().st_size >= IngestOptions().worker_min_bytes  # parsed in the worker process
    return path


def _ingest(db: Path, snapshot: Path, *, pause: tuple[Path, str] | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOY_", "DISCORD_"))}
    env.update(PYTHONPATH=str(ROOT), PAPERBOY_LOG_FILE=str(db) + ".log", PAPERBOY_INGEST_CHUNK_SIZE=str(CHUNK))
    entry = ["-m", "bot"] if pause is None else ["-m", "testkit.faults.pause_mid_load", str(pause[0]), pause[1]]
    # A session of its own: the signal goes to its process group (the command and its worker), as
    # Ctrl-C in a terminal does, and to nothing else.
    return subprocess.Popen([sys.executable, *entry, "--db", str(db), "ingest", str(snapshot)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_interruptible)


def _interruptible() -> None:
    """In the child: Ctrl-C's default action, even when the test run itself was started in the
    background by a shell (`make test &`), which makes SIGINT ignored, and children inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("where", ["begin", "written"])
def test_ctrl_c_mid_load_rolls_back_the_chunk_restores_the_index_and_says_what_stays(
        tmp_path: Path, snapshot: Path, where: str) -> None:
    """"begin": the signal lands while a chunk's BEGIN runs (it used to leave the transaction open:
    "cannot start a transaction within a transaction" as an internal error, the index dropped);
    "written": with a whole chunk written and not committed."""
    db, marker = tmp_path / "paperboy.db", tmp_path / "paused"
    load = _ingest(db, snapshot, pause=(marker, where))
    deadline = time.monotonic() + 240
    while not marker.exists() and load.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), load.communicate(timeout=60)
    committed = int(marker.read_text(encoding="utf-8"))
    assert 0 < committed < PAPERS
    assert query(db, "SELECT name FROM sqlite_master WHERE name = 'papers_title_key'") == []  # dropped for the load

    os.killpg(load.pid, signal.SIGINT)
    try:
        out, err = load.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(load.pid, signal.SIGKILL)  # not left running to trouble the tests after this one
        load.communicate()
        pytest.fail("the interrupted load did not stop within 240 s of SIGINT")
    assert load.returncode == 130, out + err
    assert err.strip() == f"paperboy: {snapshot}: interrupted: {committed:,} papers committed, re-run to finish"
    assert query(db, "SELECT COUNT(*) FROM papers") == [(committed,)]  # the open chunk rolled back
    assert query(db, "SELECT name FROM sqlite_master WHERE name = 'papers_title_key'") == [("papers_title_key",)]
    assert integrity(db) == "ok"
    assert _group_gone(load.pid)  # the parsing worker was stopped too
    assert "Traceback" not in Path(str(db) + ".log").read_text(encoding="utf-8")

    again = _ingest(db, snapshot)
    out, err = again.communicate(timeout=240)
    assert again.returncode == 0, out + err
    assert query(db, "SELECT COUNT(*), COUNT(DISTINCT arxiv_id) FROM papers") == [(PAPERS, PAPERS)]
    assert query(db, "SELECT name FROM sqlite_master WHERE name = 'papers_title_key'") == [("papers_title_key",)]
