"""`paperboy ingest` says the same thing on SQLite and on PostgreSQL: every digest's counts (new,
merged, updated, unchanged, kept, removed) for a sequence of loads through the real CLI, and the
same papers, digests and entries stored."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bench import corpus
from bot.cli import main
from storage.backends import open_database
from tests.storage import raw

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _loads(tmp_path: Path) -> list[list[str]]:
    """Inputs that exercise identity by id and by title, adoption, re-loads and a streamed file."""
    snapshot = corpus.write_corpus(tmp_path / "snapshot.jsonl", 600, seed=5)
    hf = str(FIXTURES / "hf-daily-papers-api-sample.json")
    day = FIXTURES / "real" / "hf-api_2026-06-12_sotawhat.json"
    earlier = json.loads(day.read_text(encoding="utf-8"))[:5]  # a smaller capture of a day that grows
    for item in earlier:
        item["paper"]["upvotes"] = max(item["paper"]["upvotes"] - 10, 0)
    smaller = tmp_path / "hf-smaller.json"
    smaller.write_text(json.dumps(earlier), encoding="utf-8")
    return [
        [str(FIXTURES / "hf-daily-papers-page-sep-9.txt"), "--date", "2025-09-09"],  # titles only
        [hf],
        [hf],  # again: unchanged
        [str(FIXTURES / "arxiv-api-sample.xml")],
        [str(FIXTURES / "ingest" / "arxiv-snapshot-sample.jsonl")],
        [str(FIXTURES / "ingest" / "paperboy-export-sample.jsonl")],
        [str(snapshot)],
        [str(snapshot)],  # a streamed file again: nothing new
        [str(FIXTURES / "hf-daily-papers-page-sep-9.txt"), "--date", "2025-09-09", "--prune"],
        [str(day)],
        [str(smaller)],  # entries kept, upvotes not lowered
        [str(smaller), "--prune"],  # entries removed
    ]


def _ingest(address: str, argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    status = main(["--db", address, "ingest", *argv, "--json"])
    out = capsys.readouterr().out
    assert status == 0, out
    return [{k: v for k, v in json.loads(line).items() if k != "file"} for line in out.splitlines()]


async def _stored(address: str) -> list[list[tuple[Any, ...]]]:
    async with await open_database(address) as db:
        return [await raw.rows(db, sql) for sql in (
            "SELECT id, arxiv_id, title_key, title, abstract, first_listed, published FROM papers ORDER BY id",
            "SELECT id, source, date, format, paper_count FROM digests ORDER BY id",
            "SELECT digest_id, paper_id, position, upvotes, comments FROM digest_entries ORDER BY 1, 2",
        )]


def test_the_same_loads_report_and_store_the_same_on_both_backends(
        tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERBOY_INGEST_CHUNK_SIZE", "100")  # several chunks, each several runs
    # Files kept beside the database (log, instance lock) stay in tmp_path whatever a URL makes of them.
    monkeypatch.chdir(tmp_path)
    sqlite = str(tmp_path / "p.db")
    for argv in _loads(tmp_path):
        assert _ingest(pg_url, argv, capsys) == _ingest(sqlite, argv, capsys), argv
    assert asyncio.run(_stored(pg_url)) == asyncio.run(_stored(sqlite))
