"""The composition root: every process wires its features through `App` (and `build_loader`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from bot.app import App
from bot.schedule.clock import ManualClock
from storage import digests, processes
from tests.bot.schedule.fakes import FakeOutbound
from tests.bot.sources.test_cli import settings_for
from tests.bot.sources.upstream import Upstream, hf_items, hf_page, upstream  # noqa: F401


async def test_a_started_app_fetches_its_sources_and_a_console_app_does_not(tmp_path: Path,
                                                                          upstream: Upstream) -> None:  # noqa: F811
    upstream.serve("/api/daily_papers", hf_page(hf_items()))  # whatever day is asked for
    settings = settings_for(tmp_path, upstream)

    console = await App.open(settings, FakeOutbound(), clock=ManualClock(dt.datetime.now(dt.UTC)),
                             platform="console")
    try:
        await console.settle()  # what the console does on /tick: posts and notifications only
        assert upstream.requests == []
    finally:
        await console.close()

    bot = await App.open(settings, FakeOutbound(), platform="discord")  # the system clock, as `paperboy run`
    try:
        await bot.start(notify_interval=3600)
        for _ in range(500):  # the poll job's first run is due at once
            if await digests.find_digest(bot.db, source="hf-daily"):
                break
            await asyncio.sleep(0.02)
        digest = await digests.find_digest(bot.db, source="hf-daily")
        assert digest is not None and digest.papers == len(hf_items())
    finally:
        await bot.close()


async def test_an_app_that_loses_the_fetch_lease_stops_fetching_and_takes_it_back_when_free(
        tmp_path: Path, upstream: Upstream) -> None:  # noqa: F811
    upstream.serve("/api/daily_papers", hf_page(hf_items()))
    bot = await App.open(settings_for(tmp_path, upstream), FakeOutbound(), platform="discord")
    try:
        await bot.start(notify_interval=3600)
        coordinator = bot._coordinator
        assert coordinator is not None and bot.holds == {"fetch", "upkeep"} and bot._polling is not None
        # Another process took it (this one stalled past the lease): the next heartbeat stops fetching.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        assert await processes.acquire(bot.db, "fetch", 10**9, now=later, ttl=dt.timedelta(seconds=30))
        await coordinator.beat(later)
        assert bot.holds == {"upkeep"} and bot._polling is None
        # That one died in turn: once its lease expired, this one fetches again.
        await coordinator.beat(later + dt.timedelta(seconds=30))
        assert bot.holds == {"fetch", "upkeep"} and bot._polling is not None
    finally:
        await bot.close()
