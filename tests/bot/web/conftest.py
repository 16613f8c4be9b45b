"""The web archive over an App on a temporary database: the sample digest (144 real papers, 9 Sep
2025), a second day with hostile titles, and a client talking to it through aiohttp's test server."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App
from bot.config import Settings
from bot.ingest.load import IngestOptions, ingest
from bot.samples import SAMPLE_DATE, SAMPLE_DIGEST
from bot.schedule.clock import ManualClock
from bot.web.app import make_app
from bot.web.server import NoOutbound
from storage.records import PaperRecord, ParsedDigest

NOW = dt.datetime(2025, 9, 11, 8, 0, tzinfo=dt.UTC)
HOSTILE_DAY = dt.date(2025, 9, 10)
SCRIPT_TITLE = "<script>alert('pwned')</script> Attention Is All You Need Again"
MENTION_TITLE = "@everyone **Bold** [click](javascript:alert(1)) Diffusion"
HOSTILE = [
    PaperRecord(title=SCRIPT_TITLE, abstract="We show <img src=x onerror=alert(1)> diffusion models win by 12%.",
                arxiv_id="2509.00001", authors=["Eve <b>Hacker</b>"],
                links={"arxiv": "https://arxiv.org/abs/2509.00001", "github": "javascript:alert(1)"}, upvotes=50),
    PaperRecord(title=MENTION_TITLE, abstract="A diffusion paper that says @here and `code` and $\\alpha$-flows.",
                upvotes=40),
    PaperRecord(title="Control \x01 characters \x0b in a diffusion title", abstract="Plain diffusion text.",
                upvotes=1),
]


async def open_archive(tmp_path: Path, settings: Settings | None = None) -> App:
    settings = settings or Settings()
    settings.database.path = str(tmp_path / "paperboy.db")
    app = await App.open(settings, NoOutbound(), clock=ManualClock(NOW), platform="web")
    outcome = await ingest(app.loader, str(SAMPLE_DIGEST), IngestOptions(date=SAMPLE_DATE, today=SAMPLE_DATE))
    assert outcome.ok, outcome.error
    await app.loader.load(ParsedDigest("hf-daily", HOSTILE_DAY, "hf-api", HOSTILE))
    return app


@pytest.fixture
async def archive(tmp_path: Path) -> AsyncIterator[App]:
    app = await open_archive(tmp_path)
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
async def client(archive: App) -> AsyncIterator[TestClient[object, object]]:
    async with TestClient(TestServer(make_app(archive.services))) as test_client:
        yield test_client
