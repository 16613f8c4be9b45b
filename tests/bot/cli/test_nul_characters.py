"""A NUL character in a digest's text ("\\u0000" in JSON): PostgreSQL's text refuses it, SQLite
would keep it. Both backends store the text without it, and the ingest report names where each
was removed (file, item or line, fields), as it does for text it cuts."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest
from tests.bot.cli.test_bad_input import api_item
from tests.storage import raw

pytestmark = pytest.mark.both_backends


async def _papers(address: str) -> list[tuple[Any, ...]]:
    async with await open_database(address) as db:
        return await raw.rows(db, "SELECT arxiv_id, title, abstract, authors FROM papers ORDER BY arxiv_id")


def test_nul_characters_in_a_digest_are_removed_and_reported(db_address: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    daily = tmp_path / "daily.json"
    daily.write_text(json.dumps([api_item(title="Flash\u0000Attention", summary="Fast and\u0000 exact.")]))
    snapshot = tmp_path / "snapshot.jsonl"
    record = {"id": "2401.00002", "title": "Clean title", "abstract": "Also clean.", "categories": "cs.LG",
              "authors": "A. Nul\u0000l, B. Author", "versions": [{"version": "v1",
                                                                "created": "Mon, 8 Jan 2024 10:00:00 GMT"}]}
    snapshot.write_text(json.dumps(record) + "\n")

    assert main(["--db", db_address, "ingest", str(daily), "--date", "2025-09-09"]) == 0
    out = capsys.readouterr().out
    assert f"note: {daily}, item 1 (arXiv 2306.07629): NUL characters removed from title, abstract" in out
    assert main(["--db", db_address, "ingest", str(snapshot)]) == 0
    out = capsys.readouterr().out
    assert f"note: {snapshot}, line 1 (arXiv 2401.00002): NUL characters removed from authors" in out

    papers = asyncio.run(_papers(db_address))
    assert [p[:3] for p in papers] == [("2306.07629", "FlashAttention", "Fast and exact."),
                                       ("2401.00002", "Clean title", "Also clean.")]
    assert "\x00" not in repr(papers)


async def test_a_record_built_in_code_is_stored_without_its_nul_characters(db: Database) -> None:
    paper = PaperRecord("Null\x00 Results", "An abstract\x00.", "2402.00001", authors=["A.\x00 B."])
    await Loader(db).load(ParsedDigest("hf-daily", dt.date(2025, 9, 9), "hf-api", [paper]))
    assert await raw.rows(db, "SELECT title, abstract FROM papers") == [("Null Results", "An abstract.")]
