"""Bulk loads parsed in a separate process store exactly what an in-process load stores, report bad
input with the same one-line error, and never leave the parsing process behind."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bench import corpus
from bot.ingest.load import IngestOptions, IngestOutcome, ingest
from storage.backends import open_database
from storage.loader import Loader

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures"
IN_PROCESS = 1 << 62  # worker_min_bytes that no file reaches
APART = 0  # every streaming file goes to the worker process

_CONTENT = [
    "SELECT arxiv_id, title_key, title, abstract, authors, links, categories, keywords, published, first_listed"
    " FROM papers ORDER BY arxiv_id, title_key",
    "SELECT d.source, d.date, d.format, d.paper_count, p.arxiv_id, p.title_key, e.position, e.upvotes, e.comments"
    " FROM digest_entries AS e JOIN digests AS d ON d.id = e.digest_id JOIN papers AS p ON p.id = e.paper_id"
    " ORDER BY d.source, d.date, e.position, p.title_key",
]


async def _load(db_path: Path, target: Path, worker_min_bytes: int) -> IngestOutcome:
    async with await open_database(db_path) as db:
        options = IngestOptions(chunk_size=50, worker_min_bytes=worker_min_bytes, today=dt.date(2025, 9, 10))
        return await ingest(Loader(db), str(target), options)


def _content(db_path: Path) -> list[list[tuple[object, ...]]]:
    with contextlib.closing(sqlite3.connect(db_path)) as conn, conn:
        return [conn.execute(sql).fetchall() for sql in _CONTENT]


def _export(tmp_path: Path) -> Path:
    """Paperboy's own export of the 144-paper sample digest (papers with and without arXiv ids)."""
    db = str(tmp_path / "source.db")
    command = [sys.executable, "-m", "bot", "--db", db]
    subprocess.run([*command, "ingest", "--sample"], cwd=ROOT, check=True, capture_output=True)
    out = tmp_path / "export.jsonl"
    out.write_bytes(subprocess.run([*command, "export"], cwd=ROOT, check=True, capture_output=True).stdout)
    return out


@pytest.mark.parametrize("kind", ["snapshot", "export"])
async def test_a_load_parsed_apart_stores_what_an_in_process_load_stores(tmp_path: Path, kind: str) -> None:
    source = corpus.write_corpus(tmp_path / "s.jsonl", 400, seed=5) if kind == "snapshot" else _export(tmp_path)
    here = await _load(tmp_path / "here.db", source, IN_PROCESS)
    apart = await _load(tmp_path / "apart.db", source, APART)
    assert here.ok and apart.ok, (here.error, apart.error)
    assert apart.format == here.format
    assert [(d.source, d.date, d.papers, d.new) for d in apart.digests] == \
        [(d.source, d.date, d.papers, d.new) for d in here.digests]
    assert _content(tmp_path / "apart.db") == _content(tmp_path / "here.db")
    # And loading it again through the worker changes nothing.
    again = await _load(tmp_path / "apart.db", source, APART)
    assert sum(d.new + d.updated for d in again.digests) == 0
    assert _content(tmp_path / "apart.db") == _content(tmp_path / "here.db")


@pytest.mark.parametrize("bad_line", [
    b"{not json\n",
    b'{"id": "2101.00001", "title": "T", "abstract": "A", "versions": [{"created": "yesterday"}]}\n',
    b"\xff\xfe bad bytes\n",
])
async def test_a_bad_line_in_the_worker_is_skipped_and_reported_as_in_process(
        tmp_path: Path, bad_line: bytes) -> None:
    good = corpus.write_corpus(tmp_path / "good.jsonl", 120, seed=3).read_bytes().splitlines(keepends=True)
    source = tmp_path / "bad.jsonl"
    source.write_bytes(b"".join(good[:110]) + bad_line + b"".join(good[110:]))
    here = await _load(tmp_path / "here.db", source, IN_PROCESS)
    apart = await _load(tmp_path / "apart.db", source, APART)
    assert here.error is None and here.skipped == 1 and "line 111" in here.notes[0]
    assert (apart.error, apart.skipped, apart.notes) == (here.error, here.skipped, here.notes)
    assert sum(d.papers for d in here.digests) == 120
    assert _content(tmp_path / "apart.db") == _content(tmp_path / "here.db")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_killing_the_loader_ends_its_parsing_process(tmp_path: Path) -> None:
    source = corpus.write_corpus(tmp_path / "s.jsonl", 20_000, seed=7)
    script = textwrap.dedent(f"""
        import asyncio, datetime as dt
        from bot.ingest.load import IngestOptions, ingest
        from storage.backends import open_database
        from storage.db import Database
        from storage.loader import Loader

        async def main():
            async with await open_database({str(tmp_path / "p.db")!r}) as db:
                await ingest(Loader(db), {str(source)!r}, IngestOptions(chunk_size=200, worker_min_bytes=0))

        asyncio.run(main())
    """)
    loader = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        workers: list[int] = []
        while not workers and loader.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            workers = _children(loader.pid)
        assert workers, "the loader started no parsing process"
        time.sleep(0.3)  # in the middle of the load
        assert loader.poll() is None, "the load finished before it could be interrupted; raise the size"
        os.kill(loader.pid, signal.SIGKILL)
        loader.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in workers), "the parsing process outlived its loader"
    finally:
        if loader.poll() is None:
            loader.kill()
            loader.wait()
