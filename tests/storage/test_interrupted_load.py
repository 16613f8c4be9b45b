"""An interrupted bulk load (kill -9 from outside) leaves a consistent database, and running the
same command again completes it: nothing lost, nothing stored twice."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from bench import corpus

ROOT = Path(__file__).resolve().parents[2]
SIZE = 40_000
CHUNK = 2_000


def _papers(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn, conn:
            return int(conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0])
    except sqlite3.OperationalError:  # not migrated yet
        return 0


def _ingest(db: Path, source: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PAPERBOY_INGEST_CHUNK_SIZE": str(CHUNK), "PAPERBOY_LOG_FILE": str(db) + ".log"}
    return subprocess.Popen([sys.executable, "-m", "bot", "--db", str(db), "ingest", str(source), "--json"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_kill_9_in_the_middle_of_a_snapshot_then_the_same_command_completes_it(tmp_path: Path) -> None:
    source = corpus.write_corpus(tmp_path / "snapshot.jsonl", SIZE, seed=11)
    db = tmp_path / "paperboy.db"
    process = _ingest(db, source)
    deadline = time.monotonic() + 60
    while _papers(db) < 2 * CHUNK and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the load finished before it could be interrupted; raise SIZE"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    process.stdout.close()  # type: ignore[union-attr]
    process.stderr.close()  # type: ignore[union-attr]

    interrupted = _papers(db)
    assert 0 < interrupted < SIZE
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:  # recovering the WAL needs a writable connection
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # rank 1: the search index also matches the stored papers row by row (no chunk half-indexed).
        conn.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)")
        # Whole chunks only: every stored paper is listed in a digest, no half-written chunk.
        orphans = conn.execute(
            "SELECT COUNT(*) FROM papers WHERE id NOT IN (SELECT paper_id FROM digest_entries)").fetchone()[0]
        assert orphans == 0

    again = _ingest(db, source)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err.decode()
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT arxiv_id) FROM papers").fetchone() == (SIZE, SIZE)
        listed = conn.execute("SELECT COUNT(*) FROM digest_entries").fetchone()[0]
        assert listed == SIZE
        assert conn.execute("SELECT SUM(paper_count) FROM digests").fetchone()[0] == SIZE
        conn.execute("INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)")
        # The bulk load set the title index aside while it ran; the completed load rebuilt it.
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'papers_title_key'").fetchone()
