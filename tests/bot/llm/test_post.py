"""The daily post with the model server healthy, down, slow and timing out, through the app as the
bot and the console wire it: the post reads what is cached and never waits for the model (issue #19)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app import App
from bot.commands import dispatch, press
from bot.config import Settings
from bot.ingest.load import IngestOptions, ingest
from bot.samples import SAMPLE_DATE, SAMPLE_DIGEST
from bot.schedule.clock import ManualClock
from bot.schedule.settings import set_schedule
from bot.status.report import gather, sections
from storage import digests
from testkit.llm_fake import Answer, closed_port_url, fake_llm
from tests.bot.schedule.fakes import FakeOutbound

ARRIVAL = dt.datetime.combine(SAMPLE_DATE, dt.time(5, 0), tzinfo=dt.UTC)
POST_TIME = dt.datetime.combine(SAMPLE_DATE, dt.time(9, 0), tzinfo=dt.UTC)


def _settings(folder: Path, base_url: str, *, timeout: float = 10.0) -> Settings:
    settings = Settings()
    settings.database.path = str(folder / "p.db")
    settings.fetch.enabled = False
    settings.llm.enabled = True
    settings.llm.base_url = base_url
    settings.llm.model = "fake-model"
    settings.llm.timeout_seconds = timeout
    return settings


@asynccontextmanager
async def _app(settings: Settings) -> AsyncIterator[tuple[App, FakeOutbound, ManualClock]]:
    clock = ManualClock(ARRIVAL)
    out = FakeOutbound()
    app = await App.open(settings, out, clock=clock, platform="console")
    try:
        await set_schedule(app.db, "console:lab", channel="console:papers", time="09:00", timezone="UTC",
                           thread=False, now=ARRIVAL)
        outcome = await ingest(app.loader, str(SAMPLE_DIGEST), IngestOptions(date=SAMPLE_DATE, today=SAMPLE_DATE))
        assert outcome.ok, outcome.error
        yield app, out, clock
    finally:
        await app.close()


async def _post(app: App, out: FakeOutbound, clock: ManualClock) -> str:
    clock.set(POST_TIME)
    report, _ = await app.settle()
    assert len(report.sent) == 1 and len(out.messages) == 1
    return "\n".join(c.description for c in out.messages[0].reply.cards)


async def _status(app: App) -> str:
    report = await gather(app.db, app.settings, now=app.clock())
    return dict(sections(report))["Model summaries"]


async def test_healthy_the_post_has_the_paragraph_and_the_tldrs(tmp_path: Path) -> None:
    async with fake_llm() as server, _app(_settings(tmp_path, server.base_url)) as (app, out, clock):
        assert app.services.llm is not None
        await app.services.llm.idle()  # written in the background after the load committed
        assert len(server.requests) == 6
        text = await _post(app, out, clock)
        status = await _status(app)
        page = await dispatch("digest", {}, app.context("console:alice"))
    assert "**Today in papers** (written by a model from the abstracts)" in text
    assert "Today's papers span" in text and text.count("TL;DR: The authors present") == 5
    assert "Today's papers span" in page.cards[0].description
    assert status.startswith("fake-model at http://127.0.0.1:") and "today (2025-09-09 UTC): 6 requests" in status
    assert "0 failed, 0 dropped by the checks" in status and "without model text" not in status


async def test_server_down_the_post_goes_out_extractive_and_status_says_so(tmp_path: Path) -> None:
    async with _app(_settings(tmp_path, closed_port_url())) as (app, out, clock):
        assert app.services.llm is not None
        await app.services.llm.idle()
        text = await _post(app, out, clock)
        await app.services.llm.idle()  # the post found texts missing: asked again, in the background
        status = await _status(app)
    assert "Today in papers" not in text and "TL;DR" not in text
    assert "Highlights" in text  # the extractive summary, as without a model
    assert "12 requests" in status and "12 failed" in status
    assert "daily posts went out without model text once" in status
    assert "went out with the extractive summary (6 texts missing: unreachable: cannot reach the model server" in status


async def test_server_slow_the_post_does_not_wait_for_it(tmp_path: Path) -> None:
    gate = asyncio.Event()  # the server answers nothing until the post is out
    async with fake_llm(gate=gate) as server, _app(_settings(tmp_path, server.base_url)) as (app, out, clock):
        llm = app.services.llm
        assert llm is not None
        await server.arrived.wait()  # the summaries are being asked for
        text = await _post(app, out, clock)
        assert server.answered == 0  # the post went out while every request was still waiting
        assert "Today in papers" not in text and "TL;DR" not in text
        assert "the model was still writing" in await _status(app)
        gate.set()
        await llm.idle()
        page = await dispatch("digest", {}, app.context("console:alice"))
    assert "Today's papers span" in page.cards[0].description  # later views get what was written


async def test_server_past_the_timeout_the_post_goes_out_extractive(tmp_path: Path) -> None:
    async with fake_llm() as server:
        server.script += [Answer(hang=True)] * 12
        async with _app(_settings(tmp_path, server.base_url, timeout=0.3)) as (app, out, clock):
            assert app.services.llm is not None
            await app.services.llm.idle()
            text = await _post(app, out, clock)
            await app.services.llm.idle()
            status = await _status(app)
    assert "Today in papers" not in text and "TL;DR" not in text
    assert "12 failed" in status and "timeout: no answer within 0.3 s" in status


async def test_a_paper_card_gets_its_tldr_on_request(tmp_path: Path) -> None:
    async with fake_llm() as server, _app(_settings(tmp_path, server.base_url)) as (app, _, _clock):
        assert app.services.llm is not None
        await app.services.llm.idle()
        asked = len(server.requests)
        digest = await digests.find_digest(app.db)
        assert digest is not None
        summary = await app.services.summaries.get(app.db, digest)
        highlight = summary.highlights[0].paper.paper_id
        others = [p.paper_id for g in summary.groups for p in g.papers
                  if p.paper_id not in {h.paper.paper_id for h in summary.highlights}]
        other = others[0]
        ctx = app.context("console:alice")
        card = await dispatch("paper", {"title": f"id:{highlight}"}, ctx)
        assert [b.label for b in card.buttons][:1] == ["TL;DR"]
        shown = await press(card.buttons[0].action, ctx)
        assert len(server.requests) == asked  # a highlight's TL;DR is cached
        fresh = await press(f"tldr:{other}", ctx)
        assert len(server.requests) == asked + 1  # another paper's is asked for then
        server.script += [Answer(status=500)] * 4
        failing = await press(f"tldr:{others[1]}", ctx)
    field = shown.cards[0].fields[0]
    assert field.name == "TL;DR (written by fake-model)" and field.value.startswith("The authors present")
    assert fresh.cards[0].fields[0].value.startswith("The authors present")
    assert failing.cards[0].fields[0].name == "TL;DR"
    assert failing.cards[0].fields[0].value.startswith("none this time: HTTP 500 from the model server")


async def test_with_llm_off_nothing_changes(tmp_path: Path) -> None:
    settings = _settings(tmp_path, closed_port_url())
    settings.llm.enabled = False
    async with _app(settings) as (app, out, clock):
        assert app.services.llm is None
        text = await _post(app, out, clock)
        card = await dispatch("paper", {"title": "id:1"}, app.context("console:alice"))
        report = await gather(app.db, app.settings, now=app.clock())
    assert "Today in papers" not in text and "TL;DR" not in [b.label for b in card.buttons]
    assert "Model summaries" not in dict(sections(report)) and report.to_json()["llm"] == {"enabled": False}
