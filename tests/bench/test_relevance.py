"""bench/relevance: known items of every age are asked for and scored, beside exact BM25."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from bench.common import spread
from bench.relevance import _measure
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest

WORDS = ["sparse", "routing", "vision", "quantized", "agents", "speculative", "splatting", "retrieval", "graph"]


async def test_known_items_are_found_and_reported(db: Database) -> None:
    for day in range(9):
        papers = [PaperRecord(title=f"{WORDS[day].title()} {WORDS[(day + k) % 9]} study {day}-{k}",
                              abstract=f"We study {WORDS[day]} with {WORDS[(day * 2 + k) % 9]} heads {day}x{k} "
                                       f"and distinctive{day}{k} tokens in chart{k}{day} form.",
                              arxiv_id=f"25{day:02d}.{k:05d}") for k in range(4)]
        await Loader(db).load(ParsedDigest("hf-daily", dt.date(2025, 1, 1 + day), "hf-api", papers))
    rows = await _measure(Path(db.path), 36, argparse.Namespace(items=9, seed=1, repeat=2))
    total = next(r for r in rows if r.case.endswith("ALL known items")).values
    assert total["items"] and total["success@1"] == 1.0 and total["BM25 success@10"] == 1.0
    assert "(" in str(total["paperboy p95 ms"]) and total["load avg"] is not None
    ages = [r.case for r in rows if r.case.startswith("36 title words")]
    assert ages == [f"36 title words, {a}" for a in ("oldest third", "middle third", "newest third", "all ages")]
    assert rows[-1].case == "36 topical ALL"


def test_spread_is_the_median_and_the_range() -> None:
    assert spread([3.0, 1.0, 2.0]) == "2 (1-3)"
    assert spread([4.0, 1.0, 2.0, 3.0]) == "2.5 (1-4)"
