"""A streamed load keeps the query planner's statistics current (issue #21): running an interrupted
snapshot load again plans every chunk's "which ids are stored?" check with the arXiv id index,
not a scan of every paper for every id, on an archive whose statistics were taken while it was small."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from bench import corpus
from bot.ingest.load import IngestOptions, ingest
from storage.backends import open_database
from storage.db import Database
from storage.loader import Loader, PreparedRun
from storage.records import LoadResult, PaperRecord, ParsedDigest
from storage.sqlite.loader import STORED_IDS

PAPERS, CHUNK = 3000, 500
IN_PROCESS, APART = 1 << 62, 0  # worker_min_bytes: parse in this process, or in the worker process


class Interrupted(Exception):
    pass


class WatchingLoader(Loader):
    """Notes how the stored-ids check is planned as each chunk starts; stops after `stop_after` chunks."""

    def __init__(self, db: Database, stop_after: int | None = None) -> None:
        super().__init__(db)
        self.plans: list[str] = []
        self.stop_after = stop_after

    async def load_many(self, digests: Iterable[ParsedDigest | PreparedRun], **options: Any) -> list[LoadResult]:
        if self.stop_after is not None and len(self.plans) == self.stop_after:
            raise Interrupted("killed mid-load")
        rows = await self.db.fetchall(f"EXPLAIN QUERY PLAN {STORED_IDS}", (json.dumps(["2101.00001"]),))
        self.plans.append(" / ".join(r["detail"] for r in rows))
        return await super().load_many(digests, **options)


@pytest.mark.parametrize("worker_min_bytes", [IN_PROCESS, APART])
async def test_running_an_interrupted_snapshot_load_again_plans_every_chunk_with_the_index(
        tmp_path: Path, worker_min_bytes: int) -> None:
    snapshot = corpus.write_corpus(tmp_path / "snapshot.jsonl", PAPERS, seed=3)
    options = IngestOptions(chunk_size=CHUNK, worker_min_bytes=worker_min_bytes, today=dt.date(2025, 9, 10))
    async with await open_database(tmp_path / "paperboy.db") as db:
        # The archive as it was when its statistics were last taken: a day of papers without ids.
        await Loader(db).load(ParsedDigest("hf-daily", dt.date(2025, 9, 9), "hf-page",
                                           [PaperRecord(f"Untitled idea {i}", "Words.") for i in range(150)]))
        await db.execute("ANALYZE")
        first = await ingest(WatchingLoader(db, stop_after=3), str(snapshot), options)
        assert first.error is not None and "Interrupted" in first.error

        again = WatchingLoader(db)
        outcome = await ingest(again, str(snapshot), options)
        assert outcome.ok and sum(d.papers for d in outcome.digests) == PAPERS
        assert len(again.plans) == PAPERS // CHUNK
        for plan in again.plans:
            assert "SEARCH p USING COVERING INDEX sqlite_autoindex_papers_1 (arxiv_id=?)" in plan, again.plans
        stat = await db.fetchone("SELECT stat FROM sqlite_stat1 WHERE idx = 'sqlite_autoindex_papers_1'")
        assert stat is not None and int(stat[0].split()[0]) > PAPERS // 2  # taken after the load, not before
