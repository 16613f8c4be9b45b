"""bench/search: the query mix runs end to end on a small archive, one row per query and a summary,
on either backend (the filters' days are read from the SQLite copy, as the bench does)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bench.search import MIX, _measure
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest

pytestmark = pytest.mark.both_backends


async def test_every_query_of_the_mix_is_measured(db: Database, db_address: str, tmp_path: Path) -> None:
    papers = [PaperRecord(title=f"Quantized diffusion model {i}", abstract="Large language models with hyperpriors.",
                          arxiv_id=f"2509.{i:05d}") for i in range(30)]
    lite = tmp_path / "lite.db"
    backend = "postgres" if db_address.startswith("postgresql") else "sqlite"
    async with await open_database(lite) as copy:
        for target in (db, copy) if backend == "postgres" else (db,):
            for day in range(3):
                await Loader(target).load(ParsedDigest("hf-daily", dt.date(2025, 9, 8 + day), "hf-api", papers[day::3]))
    rows = await _measure(Path(db_address) if backend == "sqlite" else lite, 30, 1, backend,
                          db_address if backend == "postgres" else None)
    assert [r.case.split(": ", 1)[1] for r in rows[:-1]] == [
        text + (f" ({kind})" if kind else "") for _, text, kind in MIX]
    by_text = {r.case.split(": ", 1)[1]: r.values for r in rows[:-1]}
    assert by_text["model"]["matches"] == "30" and by_text["zzqxj"]["matches"] == "0"
    assert rows[-1].case.startswith(f"30 {backend} ALL") and rows[-1].values["uncached p95 ms"] is not None
