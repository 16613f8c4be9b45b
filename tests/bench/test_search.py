"""bench/search: the query mix runs end to end on a small archive, one row per query and a summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench.search import MIX, _measure
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest


async def test_every_query_of_the_mix_is_measured(db: Database) -> None:
    papers = [PaperRecord(title=f"Quantized diffusion model {i}", abstract="Large language models with hyperpriors.",
                          arxiv_id=f"2509.{i:05d}") for i in range(30)]
    for day in range(3):
        await Loader(db).load(ParsedDigest("hf-daily", dt.date(2025, 9, 8 + day), "hf-api", papers[day::3]))
    rows = await _measure(Path(db.path), 30, repeat=1)
    assert [r.case.split(": ", 1)[1] for r in rows[:-1]] == [
        text + (f" ({kind})" if kind else "") for _, text, kind in MIX]
    by_text = {r.case.split(": ", 1)[1]: r.values for r in rows[:-1]}
    assert by_text["model"]["matches"] == "30" and by_text["zzqxj"]["matches"] == "0"
    assert rows[-1].case.startswith("30 ALL") and rows[-1].values["uncached p95 ms"] is not None
