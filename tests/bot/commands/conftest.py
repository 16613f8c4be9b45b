"""An App on a temporary database with the sample digest loaded, a simulated clock, and a console
outbound that records what the bot sends; contexts for a member, an admin and a DM."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import App
from bot.commands import Context
from bot.config import Settings
from bot.ingest.load import IngestOptions, ingest
from bot.samples import SAMPLE_DATE, SAMPLE_DIGEST
from bot.schedule.clock import ManualClock
from bot.transports.console_render import ConsoleOutbound
from tests.bot.sources.upstream import upstream  # noqa: F401 - a loopback web server, for /ingest URLs

START = dt.datetime(2025, 9, 9, 5, 0, tzinfo=dt.UTC)


async def open_app(tmp_path: Path, written: list[str]) -> tuple[App, ManualClock]:
    settings = Settings()
    settings.database.path = str(tmp_path / "paperboy.db")
    clock = ManualClock(START)
    app = await App.open(settings, ConsoleOutbound(written.append), clock=clock)
    outcome = await ingest(app.loader, str(SAMPLE_DIGEST), IngestOptions(date=SAMPLE_DATE, today=SAMPLE_DATE))
    assert outcome.ok, outcome.error
    return app, clock


@pytest.fixture
def written() -> list[str]:
    return []


@pytest.fixture
async def app(tmp_path: Path, written: list[str]) -> AsyncIterator[App]:
    opened, _ = await open_app(tmp_path, written)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def member(app: App) -> Context:
    return app.context("console:alice", guild_id="console:lab", channel_id="console:general", user_name="alice")


@pytest.fixture
def admin(app: App) -> Context:
    return app.context("console:root", guild_id="console:lab", channel_id="console:general", is_admin=True)


@pytest.fixture
def direct(app: App) -> Context:
    """A member writing to the bot in a direct message (no server)."""
    return app.context("console:alice", is_admin=True)
