"""bench/summary: the per-phrase FTS5 baseline counts exact phrases, whatever the words hold."""

from __future__ import annotations

import datetime as dt

from bench.summary import phrase_document_count
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest


async def test_phrase_document_count_quotes_its_input(db: Database) -> None:
    abstracts = ["graph neural networks", "neural graph networks", 'a "neural" OR networks']
    papers = [PaperRecord(title=f"Paper {i}", abstract=a, arxiv_id=f"2509.{i:05d}") for i, a in enumerate(abstracts)]
    await Loader(db).load(ParsedDigest("hf-daily", dt.date(2025, 9, 9), "hf-api", papers))
    assert await phrase_document_count(db, ["neural", "networks"]) == 1
    assert await phrase_document_count(db, ['"neural"', "OR"]) == 1
