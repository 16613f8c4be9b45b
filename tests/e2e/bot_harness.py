"""The production Discord bot (PaperboyClient + App) against the loopback fake, for the test_bot_* files.

    async with running_bot(world, settings) as run:      # a fresh client and app on settings' database
        handle = await world.fake.slash("search", {"query": "diffusion"}, guild=..., user=...)
        message = await handle.original_response()

Background jobs are not started: tests move `run.clock` and call `run.app.settle()` (daily posts,
then notifications), so every send happens at a known moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import App
from bot.config import Settings
from bot.ingest.load import IngestOptions, ingest
from bot.samples import SAMPLE_DATE, SAMPLE_DIGEST
from bot.schedule.clock import ManualClock
from bot.transports.discord_bot import PaperboyClient, Timing
from testkit.discord_fake.fixtures import World, bounded, make_world, running_client
from testkit.discord_fake.records import InteractionHandle

# Defer after 0.12 s, so tests see both answers in one request and deferred ones.
FAST = Timing(defer_after=0.12, suggest_budget=0.2)
SAMPLE_ARRIVAL = dt.datetime.combine(SAMPLE_DATE, dt.time(5, 0), tzinfo=dt.UTC)


__all__ = ["BotRun", "World", "bounded", "load_sample", "make_settings", "make_world", "private_answer", "running_bot"]


@dataclass
class BotRun:
    client: PaperboyClient
    app: App
    clock: ManualClock


def make_settings(folder: Path) -> Settings:
    settings = Settings()
    settings.database.path = str(folder / "bot.db")
    settings.fetch.enabled = False
    return settings


@asynccontextmanager
async def running_bot(world: World, settings: Settings, *, clock: ManualClock | None = None,
                      timing: Timing = FAST, sync: bool = True) -> AsyncIterator[BotRun]:
    clock = clock or ManualClock(SAMPLE_ARRIVAL)
    client = PaperboyClient(settings, start_jobs=False, sync=sync, timing=timing, guild_ready_timeout=0.05)
    app = await App.open(settings, client.outbound, clock=clock, platform="discord")
    client.attach(app)
    try:
        async with running_client(world.fake, client):
            yield BotRun(client, app, clock)
    finally:
        await app.close()


async def load_sample(run: BotRun) -> None:
    outcome = await ingest(run.app.loader, str(SAMPLE_DIGEST), IngestOptions(date=SAMPLE_DATE, today=SAMPLE_DATE))
    assert outcome.ok, outcome.error


async def private_answer(click: InteractionHandle) -> dict[str, Any]:
    """A button's answer for the presser only, as Discord received it (content, embeds...): at once
    (an ephemeral message), or, when the work outlasted the deferral (FAST's 0.12 s, on a busy
    machine), a deferred update and then an ephemeral follow-up. Either way every request was
    accepted and the shared message is not what answers."""
    response = await click.response()
    assert response.ok
    if response.callback_type == 6:  # deferred: the answer follows
        message = await click.followup()
        assert message.ephemeral
        data = message.data
    else:
        assert response.callback_type == 4 and click.ephemeral
        data = response.data
    assert all(a.ok for a in click.attempts)
    return dict(data)
