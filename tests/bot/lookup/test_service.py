"""The look-up service and `paperboy paper`: ids and URLs, autocomplete limits, loads, odd input."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.cli.common import CliContext, CliError
from bot.cli.lookup import run_paper
from bot.config import Settings
from bot.display.tex import tex_to_text
from bot.lookup.service import LookupService
from storage.db import Database
from storage.loader import Loader
from storage.records import PaperRecord, ParsedDigest
from storage.sqlite.db import SqliteDatabase
from tests.bot.lookup.test_index import held_by_another_thread, sample_titles

Starter = Callable[[LookupService], Awaitable[LookupService]]

pytestmark = pytest.mark.both_backends

DAY = dt.date(2025, 9, 9)
LONG = ("An Extremely Long Title About Efficient Sparse Mixture-of-Experts Inference On Commodity Hardware "
        "With Speculative Decoding And Quantisation For Everyone")


async def load_sample(db: Database, loader: Loader | None = None) -> None:
    papers = [PaperRecord(t, "") for t in sample_titles()]
    papers.append(PaperRecord("SliceGPT: Compress Large Language Models by Deleting Rows and Columns", "",
                              arxiv_id="2401.15024"))
    papers.append(PaperRecord(LONG, "", arxiv_id="2409.00001"))
    await (loader or Loader(db)).load(ParsedDigest("hf-daily", DAY, "hf-page", papers))


@pytest.fixture
async def service(db: Database) -> AsyncIterator[LookupService]:
    await load_sample(db)
    svc = LookupService(db)
    await svc.start()
    yield svc
    await svc.close()


@pytest.fixture
async def started() -> AsyncIterator[Starter]:
    """Start a service for the test, closed after it (on PostgreSQL each listens on a connection)."""
    opened: list[LookupService] = []

    async def start(svc: LookupService) -> LookupService:
        await svc.start()
        opened.append(svc)
        return svc

    yield start
    for svc in opened:
        await svc.close()


@pytest.mark.parametrize("query", ["2401.15024", "arXiv:2401.15024v2", "https://arxiv.org/abs/2401.15024v3",
                                   "https://arxiv.org/pdf/2401.15024.pdf", "https://huggingface.co/papers/2401.15024"])
async def test_arxiv_id_or_url_is_an_exact_hit(service: LookupService, query: str) -> None:
    hits = await service.lookup(query)
    assert [(h.arxiv_id, h.score) for h in hits] == [("2401.15024", 100.0)]
    assert hits[0].first_listed == DAY


async def test_unknown_arxiv_id_finds_nothing(service: LookupService) -> None:
    assert await service.lookup("2101.99999") == []


async def test_hits_carry_title_id_dates_and_score(service: LookupService) -> None:
    hits = await service.lookup("flashatention fast memory efficent exact", 3)
    assert hits[0].title.startswith("FlashAttention:")
    assert hits[0].arxiv_id is None and hits[0].value == f"id:{hits[0].paper_id}"
    assert hits[0].first_listed == DAY and 0 < hits[0].score <= 100


@pytest.mark.parametrize("typed", ["s", "sl", "slic", "efficient", "diffusion models", "lo", "an extremely long"])
async def test_autocomplete_fits_discord_and_resolves_back(service: LookupService, typed: str) -> None:
    choices = await service.autocomplete(typed)
    assert len(choices) <= 25
    for choice in choices:
        assert 0 < len(choice.name) <= 100 and 0 < len(choice.value) <= 100
        paper = await service.resolve(choice.value)
        # Shown readable ("$Δ$-DiT" as "Δ-DiT"), resolved to the paper as stored.
        assert paper is not None and choice.name.startswith(tex_to_text(paper.title)[:20])


async def test_autocomplete_truncates_long_titles_on_a_word_with_an_ellipsis(service: LookupService) -> None:
    choices = await service.autocomplete("extremely long title efficient sparse")
    first = choices[0]
    assert first.value == "arxiv:2409.00001"
    assert first.name.endswith("… (2409.00001)") and len(first.name) <= 100
    assert LONG.startswith(first.name.removesuffix("… (2409.00001)"))
    assert first.name.removesuffix("… (2409.00001)").split()[-1] in LONG.split()  # a whole word


async def test_autocomplete_completes_the_word_being_typed(service: LookupService) -> None:
    choices = await service.autocomplete("squeezel")
    assert choices and choices[0].name.startswith("SqueezeLLM")


@pytest.mark.parametrize(("typed", "title"), [("flash att", "FlashAttention:"), ("squeezel", "SqueezeLLM")])
async def test_a_look_up_sent_with_an_unfinished_last_word_still_finds_the_paper(
        service: LookupService, typed: str, title: str) -> None:
    hits = await service.lookup(typed)
    assert hits and hits[0].title.startswith(title)


@pytest.mark.parametrize("autocomplete", [False, True])
async def test_new_papers_are_found_after_a_load(db: Database, autocomplete: bool, started: Starter) -> None:
    svc = LookupService(db, poll_every=3600)  # our own loads are seen at once, whatever the interval
    loader = Loader(db, after_commit=[svc.after_commit])
    await load_sample(db, loader)
    await started(svc)

    async def values() -> list[str]:  # the same query twice: autocomplete must forget its answer
        if autocomplete:
            return [c.value for c in await svc.autocomplete("hyena hierarchy")]
        return [h.value for h in await svc.lookup("hyena hierarchy")]

    assert "arxiv:2302.10866" not in await values()
    await loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", [
        PaperRecord("Hyena Hierarchy: Towards Larger Convolutional Language Models", "", arxiv_id="2302.10866")]))
    assert (await values())[0] == "arxiv:2302.10866"


@pytest.mark.parametrize("query", ["", "   ", "🙂", "مرحبا بالعالم", "x" * 100_000, "\u202e\x00", "id:", "id:99999999",
                                   "arxiv:", "the of and"])
async def test_odd_queries_answer_without_crashing(service: LookupService, query: str) -> None:
    assert len(await service.lookup(query)) <= 5
    assert len(await service.autocomplete(query)) <= 25


def _ctx(db: Database, query: str, *, json_out: bool, limit: int = 2) -> CliContext:
    ctx = CliContext(settings=Settings(), args=argparse.Namespace(query=query, limit=limit, json=json_out))
    ctx._db = db
    return ctx


async def test_cli_reads_queries_from_stdin_and_answers_each_as_a_json_line(
        service: LookupService, db: Database, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("SliceGPT\n\ndKV Cache\n2401.15024\n🙂\n"))
    assert await run_paper(_ctx(db, "-", json_out=True)) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["query"] for line in lines] == ["SliceGPT", "", "dKV Cache", "2401.15024", "🙂"]
    assert lines[0]["hits"][0]["title"].startswith("SliceGPT") and lines[1]["hits"] == []
    assert lines[2]["hits"][0]["title"].startswith("dKV-Cache")
    assert lines[3]["hits"][0] | {"paper_id": 0} == {
        "paper_id": 0, "title": "SliceGPT: Compress Large Language Models by Deleting Rows and Columns",
        "arxiv_id": "2401.15024", "value": "arxiv:2401.15024", "published": None, "first_listed": "2025-09-09",
        "score": 100.0}
    assert all(len(line["hits"]) <= 2 for line in lines)


async def test_cli_text_output_and_errors(service: LookupService, db: Database,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_paper(_ctx(db, "Quamba 2", json_out=False)) == 0
    assert "Quamba2:" in capsys.readouterr().out.splitlines()[0]
    assert await run_paper(_ctx(db, "zzzzqqq", json_out=False)) == 1
    with pytest.raises(CliError, match="QUERY is empty"):
        await run_paper(_ctx(db, "  ", json_out=False))
    with pytest.raises(CliError, match="--limit"):
        await run_paper(_ctx(db, "x", json_out=False, limit=1000))


async def test_equal_matches_go_to_the_paper_listed_more_then_upvoted_then_newest(db: Database,
                                                                                   started: Starter) -> None:
    loader = Loader(db)
    old = PaperRecord("SliceGPT: An Old Paper", "", arxiv_id="2001.00001")
    await loader.load(ParsedDigest("hf-daily", DAY, "hf-api", [old, PaperRecord("SliceGPT: Upvoted", "",
                                                                                 arxiv_id="2001.00002", upvotes=50)]))
    await loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", [
        old, PaperRecord("SliceGPT: A Newer Paper", "", arxiv_id="2001.00003")]))
    await loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=2), "hf-api", [
        PaperRecord("SliceGPT: The Newest Paper", "", arxiv_id="2001.00004")]))
    svc = await started(LookupService(db))
    hits = await svc.lookup("SliceGPT", 4)
    assert len({h.score for h in hits}) == 1
    assert [h.arxiv_id for h in hits] == ["2001.00001", "2001.00002", "2001.00004", "2001.00003"]


async def test_serving_rewrites_the_snapshot_once_enough_was_loaded(db: Database,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.lookup.sync.SNAPSHOT_AFTER", 2)
    await load_sample(db)
    svc = LookupService(db)
    assert not (await svc.start()).from_snapshot
    await Loader(db).load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", [
        PaperRecord(f"Hyena Hierarchy Part {n}", "", arxiv_id=f"2302.1086{n}") for n in range(3)]))
    assert (await svc.lookup("hyena hierarchy"))[0].title.startswith("Hyena")
    await svc.close()
    again = await (svc := LookupService(db)).start()
    await svc.close()
    assert again.from_snapshot and again.replayed == 0


TYPED = ["s", "sl", "slic", "efficient", "diffusion models", "lo", "flash att", "2401.15024", "id:1", "🙂"]


async def test_remembered_autocomplete_answers_equal_fresh_ones(service: LookupService, db: Database,
                                                                started: Starter) -> None:
    fresh = await started(LookupService(db, answers_kept=0))
    for typed in TYPED + TYPED:  # the second round is answered from memory
        assert await service.autocomplete(typed) == await fresh.autocomplete(typed)


async def test_other_processes_loads_are_polled_for_once_per_interval_by_all_callers_together(
        db: Database, monkeypatch: pytest.MonkeyPatch, started: Starter) -> None:
    await load_sample(db)
    svc = await started(LookupService(db, poll_every=3600))
    polls = 0
    refresh = svc.sync.refresh

    async def counted() -> int:
        nonlocal polls
        polls += 1
        return await refresh()

    monkeypatch.setattr(svc.sync, "refresh", counted)
    await Loader(db).load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", [
        PaperRecord("Hyena Hierarchy: Towards Larger Convolutional Language Models", "")]))
    for _ in range(500):  # PostgreSQL announces the load: an announcement heard mid-poll asks for another
        if not svc.pushed or svc._dirty:
            break
        await asyncio.sleep(0.01)
    answers = await asyncio.gather(*(svc.autocomplete(t) for t in ["hyena hier", "slic", "lo", "hyena hier"]))
    assert polls == 1 and answers[0][0].name.startswith("Hyena") and answers[0] == answers[3]
    await svc.lookup("squeezellm")
    assert polls == 1
    svc.poll_every = 0
    await svc.lookup("squeezellm")
    assert polls == 2


async def test_a_periodic_poll_does_not_hold_up_look_ups_but_our_own_load_does(
        db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if not isinstance(db, SqliteDatabase):
        pytest.skip("SQLite only: on PostgreSQL another process's load is announced, and the next look-up "
                    "waits for it as for our own (test_sync_processes.py)")
    await load_sample(db)
    svc = LookupService(db, poll_every=0)
    await svc.start()
    assert await svc.autocomplete("slic")  # the first poll, waited for
    release = asyncio.Event()
    refresh = svc.sync.refresh

    async def slow() -> int:
        await release.wait()
        return await refresh()

    monkeypatch.setattr(svc.sync, "refresh", slow)
    # Another process's load, seen by the periodic poll under way once it finishes.
    await Loader(db).load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=1), "hf-api", [
        PaperRecord("Hyena Hierarchy: Towards Larger Convolutional Language Models", "")]))
    answered = await asyncio.wait_for(svc.autocomplete("hyena hier"), timeout=10)
    assert not any(c.name.startswith("Hyena") for c in answered)  # from the index as it was
    assert svc._polling is not None and not svc._polling.done()
    # One of our own loads: the next look-up waits until the index has it.
    loader = Loader(db, after_commit=[svc.after_commit])
    await loader.load(ParsedDigest("hf-daily", DAY + dt.timedelta(days=2), "hf-api", [
        PaperRecord("Mamba: Linear-Time Sequence Modeling with Selective State Spaces", "")]))
    waiting = asyncio.ensure_future(svc.autocomplete("mamba linear"))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # held until the poll under way and a fresh one have run
    release.set()
    assert (await asyncio.wait_for(waiting, timeout=10))[0].name.startswith("Mamba")
    assert (await svc.autocomplete("hyena hier"))[0].name.startswith("Hyena")
    await svc.close()



async def test_look_ups_answer_the_same_while_another_thread_holds_the_index(service: LookupService) -> None:
    free = [await service.autocomplete(typed) for typed in ("squeez", "slicegpt")]
    service._answers.clear()
    with held_by_another_thread(service.sync.index):
        busy = [asyncio.ensure_future(service.autocomplete(typed)) for typed in ("squeez", "slicegpt")]
        await asyncio.sleep(0.05)
        assert not any(task.done() for task in busy)  # waiting in the search thread, not on the loop
    assert [await task for task in busy] == free
