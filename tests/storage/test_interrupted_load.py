"""An interrupted bulk load (kill -9 from outside) leaves a consistent database, and running the
same command again completes it: nothing lost, nothing stored twice. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import asyncpg

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


# Below the title look-up's snapshot threshold (bot/lookup/sync.py SNAPSHOT_AFTER), so the command
# is the load alone.
PG_SIZE = 12_000
PG_CHUNK = 1_000


async def _pg_counts(url: str) -> tuple[int, ...]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT COUNT(*) FROM papers), (SELECT COUNT(DISTINCT arxiv_id) FROM papers),"
            " (SELECT COUNT(*) FROM digest_entries), (SELECT COALESCE(SUM(paper_count), 0) FROM digests),"
            " (SELECT COUNT(*) FROM papers WHERE id NOT IN (SELECT paper_id FROM digest_entries)),"
            " (SELECT COUNT(*) FROM digests AS d WHERE paper_count <>"
            "   (SELECT COUNT(*) FROM digest_entries AS e WHERE e.digest_id = d.id))")
    except asyncpg.UndefinedTableError:  # not migrated yet
        return (0, 0, 0, 0, 0, 0)
    finally:
        await conn.close()
    return tuple(int(v) for v in row)


def test_kill_9_in_the_middle_of_a_snapshot_on_postgresql_then_the_same_command_completes_it(
        tmp_path: Path, pg_url: str) -> None:
    source = corpus.write_corpus(tmp_path / "snapshot.jsonl", PG_SIZE, seed=11)
    env = {**os.environ, "PAPERBOY_INGEST_CHUNK_SIZE": str(PG_CHUNK), "PAPERBOY_LOG_FILE": str(tmp_path / "log")}
    argv = [sys.executable, "-m", "bot", "--db", pg_url, "ingest", str(source), "--json"]
    process = subprocess.Popen(argv, cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while (asyncio.run(_pg_counts(pg_url))[0] < 2 * PG_CHUNK and process.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.05)
    assert process.poll() is None, "the load finished before it could be interrupted; raise PG_SIZE"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    papers, distinct, listed, counted, orphans, miscounted = asyncio.run(_pg_counts(pg_url))
    assert 0 < papers < PG_SIZE and papers == distinct
    # Whole chunks only: every stored paper listed in a digest, every digest's count right.
    assert (orphans, miscounted) == (0, 0) and listed == counted == papers

    again = subprocess.run(argv, cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True,
                           timeout=600)
    assert again.returncode == 0, again.stderr.decode()
    reported = [json.loads(line) for line in again.stdout.decode().splitlines()]
    assert sum(r["new"] for r in reported) == PG_SIZE - papers  # the committed chunks stayed
    assert asyncio.run(_pg_counts(pg_url)) == (PG_SIZE, PG_SIZE, PG_SIZE, PG_SIZE, 0, 0)


def test_ctrl_c_in_the_middle_of_a_snapshot_on_postgresql_rolls_back_the_open_chunks(
        tmp_path: Path, pg_url: str) -> None:
    # A bulk load on PostgreSQL has two transactions open at once (a chunk writing, the next one
    # staging): Ctrl-C rolls both back, leaves no staging table, and the same command completes it.
    source = corpus.write_corpus(tmp_path / "snapshot.jsonl", PG_SIZE, seed=12)
    env = {**os.environ, "PAPERBOY_INGEST_CHUNK_SIZE": str(PG_CHUNK), "PAPERBOY_LOG_FILE": str(tmp_path / "log"),
           "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "bot", "--db", pg_url, "ingest", str(source), "--json"]
    process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True, preexec_fn=_interruptible)
    deadline = time.monotonic() + 120
    while (asyncio.run(_pg_counts(pg_url))[0] < 2 * PG_CHUNK and process.poll() is None
           and time.monotonic() < deadline):
        time.sleep(0.05)
    assert process.poll() is None, "the load finished before it could be interrupted; raise PG_SIZE"
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err.decode()

    papers, distinct, listed, counted, orphans, miscounted = asyncio.run(_pg_counts(pg_url))
    assert 0 < papers < PG_SIZE and papers == distinct and papers % PG_CHUNK == 0
    assert (orphans, miscounted) == (0, 0) and listed == counted == papers
    assert asyncio.run(_pg_value(pg_url, "SELECT COUNT(*) FROM pg_class WHERE relname LIKE 'paperboy_%_in_%'")) == 0

    again = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, timeout=600)
    assert again.returncode == 0, again.stderr.decode()
    reported = [json.loads(line) for line in again.stdout.decode().splitlines()]
    assert sum(r["new"] for r in reported) == PG_SIZE - papers
    assert asyncio.run(_pg_counts(pg_url)) == (PG_SIZE, PG_SIZE, PG_SIZE, PG_SIZE, 0, 0)


async def _pg_value(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


def _interruptible() -> None:
    """In the child: Ctrl-C's default action, even under a test run started in the background by a
    shell, whose children inherit SIGINT ignored (as tests/faults/test_interrupted_load.py)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
