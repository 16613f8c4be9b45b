"""A stored paper's close matches (bot/lookup/close.py): found once and kept, topped up with the
papers added since, found ahead for the papers a load lists; on both backends."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.lookup.close import merged
from bot.lookup.index import TitleMatch
from bot.lookup.service import LookupService
from storage import papers as paper_repo
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest, StoredPaper
from tests.bot.lookup.test_index import sample_titles

pytestmark = pytest.mark.both_backends

DAY = dt.date(2025, 9, 9)
SLICE = "SliceGPT: Compress Large Language Models by Deleting Rows and Columns"


@pytest.fixture
async def service(db: Database) -> AsyncIterator[tuple[LookupService, Loader]]:
    svc = LookupService(db, poll_every=3600)
    loader = Loader(db, after_commit=[svc.after_commit])
    papers = [PaperRecord(t, "") for t in sample_titles()] + [PaperRecord(SLICE, "", arxiv_id="2401.15024")]
    await svc.start()
    assert await svc.close_matches.serve_pages() == 0  # as the web archive does: no digest yet
    await loader.load(ParsedDigest("hf-daily", DAY, "hf-page", papers))
    yield svc, loader
    await svc.close()


async def _slice(db: Database) -> StoredPaper:
    paper = await paper_repo.get_by_arxiv_id(db, "2401.15024")
    assert paper is not None
    return paper


async def test_close_matches_are_the_look_up_of_the_title_without_the_paper(
        db: Database, service: tuple[LookupService, Loader]) -> None:
    svc, _ = service
    paper = await _slice(db)
    close = await svc.close_matches.get(paper)
    assert close is not None and 0 < len(close) <= 4
    assert paper.id not in [h.paper_id for h in close]
    looked_up = [h.paper_id for h in await svc.lookup(SLICE, 6) if h.paper_id != paper.id][:4]
    assert [h.paper_id for h in close] == looked_up


async def test_a_load_finds_its_papers_ahead_and_a_page_then_need_not_wait(
        db: Database, service: tuple[LookupService, Loader]) -> None:
    svc, loader = service
    await svc.close_matches.found_ahead()
    paper = await _slice(db)
    assert await svc.close_matches.get(paper, find=False) is not None  # the sample's load listed it
    await loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", [
        PaperRecord("A Paper Nobody Listed Before About Hyena Convolutions", "", arxiv_id="2510.00001")]))
    await svc.close_matches.found_ahead()
    newer = await paper_repo.get_by_arxiv_id(db, "2510.00001")
    assert newer is not None and await svc.close_matches.get(newer, find=False) is not None


async def test_a_process_not_serving_pages_finds_nothing_ahead(db: Database) -> None:
    svc = LookupService(db, poll_every=3600)
    loader = Loader(db, after_commit=[svc.after_commit])
    await svc.start(warm=True)
    try:
        await loader.load(ParsedDigest("hf-daily", DAY, "hf-page", [PaperRecord(SLICE, "", arxiv_id="2401.15024")]))
        await svc.close_matches.found_ahead()
        assert len(svc.close_matches) == 0  # a bot without the archive spends no CPU on its pages
        assert await svc.close_matches.serve_pages() == 1  # the latest digest's, once it serves them
        await svc.close_matches.found_ahead()
        assert await svc.close_matches.get(await _slice(db), find=False) is not None
    finally:
        await svc.close()


async def test_a_paper_not_found_ahead_is_none_until_asked_for(db: Database) -> None:
    svc = LookupService(db, poll_every=3600)
    await Loader(db).load(ParsedDigest("hf-daily", DAY, "hf-page", [PaperRecord(SLICE, "", arxiv_id="2401.15024"),
                                                                     PaperRecord("SliceGPT Again", "")]))
    await svc.start()  # not warm: nothing found ahead
    try:
        paper = await _slice(db)
        assert await svc.close_matches.get(paper, find=False) is None
        found = await svc.close_matches.get(paper)
        assert found is not None and [h.title for h in found] == ["SliceGPT Again"]
        assert await svc.close_matches.get(paper, find=False) == found
    finally:
        await svc.close()


async def test_a_kept_answer_takes_in_closer_papers_added_later(
        db: Database, service: tuple[LookupService, Loader]) -> None:
    svc, loader = service
    paper = await _slice(db)
    before = await svc.close_matches.get(paper)
    assert before is not None
    await loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", [
        PaperRecord("SliceGPT: Compress Large Language Models by Deleting Rows and Columns, Again", "")]))
    kept = await svc.close_matches.get(paper, find=False)  # topped up, not searched afresh
    assert kept is not None and kept[0].title.endswith("Columns, Again")
    fresh = [h.paper_id for h in await svc.lookup(SLICE, 6) if h.paper_id != paper.id][:4]
    assert [h.paper_id for h in kept] == fresh


def test_merged_keeps_the_best_and_the_newer_score_of_a_paper_in_both() -> None:
    day = dt.date(2025, 9, 9)
    kept = [TitleMatch(1, "a", 90.0, day), TitleMatch(2, "b", 80.0, day), TitleMatch(3, "c", 70.0, day)]
    added = [TitleMatch(4, "d", 85.0, day), TitleMatch(2, "b", 60.0, day)]
    assert [(m.paper_id, m.score) for m in merged(kept, added, 3)] == [(1, 90.0), (4, 85.0), (3, 70.0)]
    tied = [TitleMatch(5, "e", 90.0, day + dt.timedelta(days=1))]
    assert [m.paper_id for m in merged(kept, tied, 2)] == [5, 1]  # a tie goes to the newer listing
