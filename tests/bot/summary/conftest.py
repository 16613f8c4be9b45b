"""Archives for the summary tests: the real sample digest, and small hand-made ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.ingest.formats import ParseContext, open_input, parse
from storage import digests as digest_repo
from storage.db import Database
from storage.loader import Loader
from storage.records import DigestInfo, PaperRecord, ParsedDigest

SAMPLE_DATE = dt.date(2025, 9, 9)


def sample_records(fixtures: Path) -> list[PaperRecord]:
    path = str(fixtures / "hf-daily-papers-page-sep-9.txt")
    with open_input(path) as stream:
        _, batches = parse(stream, ParseContext(name=path, today=dt.date(2025, 9, 10)))
        return [p for batch in batches for p in batch.papers]


@pytest.fixture
async def sample(db: Database, fixtures: Path) -> DigestInfo:
    """The Sep 9 Hugging Face digest (144 real papers) alone in the archive."""
    result = await Loader(db).load(ParsedDigest("hf-daily", SAMPLE_DATE, "hf-page", sample_records(fixtures)))
    info = await digest_repo.get_digest(db, result.digest_id)
    assert info is not None
    return info


async def load(db: Database, papers: list[PaperRecord], day: dt.date, source: str = "hf-daily") -> DigestInfo:
    result = await Loader(db).load(ParsedDigest(source, day, "hf-api", papers))
    info = await digest_repo.get_digest(db, result.digest_id)
    assert info is not None
    return info
