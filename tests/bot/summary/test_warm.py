"""The summary is composed after its digest's load commits, so the daily post, /digest and the home
page find it ready: one compose per digest shared with whoever asks meanwhile, stopped cleanly
when the app closes, and the phrase counts no recent digest uses forgotten (bot.summary.warm)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import App
from bot.commands import dispatch
from bot.config import Settings
from bot.schedule.clock import ManualClock
from bot.summary import Summary, compose, themes
from bot.summary.cache import SummaryCache
from bot.summary.warm import EVICT_EVERY, KEEP_DAYS, SummaryWarmer, evict, phrase_keys
from bot.transports.console_render import ConsoleOutbound
from storage import digests as digest_repo
from storage import summary_stats
from storage.db import Database
from storage.records import DigestInfo, ParsedDigest
from tests.bot.summary.conftest import SAMPLE_DATE, load, sample_records

pytestmark = pytest.mark.both_backends

NOW = dt.datetime(2025, 9, 9, 14, 0, tzinfo=dt.UTC)


async def open_app(db_address: str) -> App:
    """The console's app (no processes: it holds the upkeep work itself) at NOW, simulated."""
    settings = Settings()
    settings.database.url = db_address
    return await App.open(settings, ConsoleOutbound(lambda _: None), clock=ManualClock(NOW))


@pytest.fixture
async def app(db_address: str) -> AsyncIterator[App]:
    opened = await open_app(db_address)
    yield opened
    await opened.close()


def count_counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every archive count a compose takes (term or phrase), as it is taken."""
    calls: list[str] = []
    for name in ("live_term_counts", "live_phrase_counts"):
        real = getattr(summary_stats, name)

        def counted(*args: Any, _real: Callable[..., Any] = real, _name: str = name, **kwargs: Any) -> Any:
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(summary_stats, name, counted)
    return calls


class Gate:
    """A composer that waits to be let through, and says what became of each compose."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.go = asyncio.Event()
        self.calls = 0
        self.cancelled = 0

    async def __call__(self, db: Database, digest: DigestInfo) -> Summary:
        self.calls += 1
        self.started.set()
        try:
            await self.go.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return await compose(db, digest)


async def test_a_load_warms_its_summary_so_the_digest_asked_for_next_counts_nothing(
        app: App, fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_counting(monkeypatch)
    await app.loader.load(ParsedDigest("hf-daily", SAMPLE_DATE, "hf-page", sample_records(fixtures)))
    assert app.warmer is not None
    await app.warmer.idle()
    assert "live_phrase_counts" in calls  # the warm-up counted the digest's phrases
    calls.clear()
    member = app.context("console:alice", guild_id="console:lab", channel_id="console:general")
    reply = await dispatch("digest", {}, member)
    assert "**144 papers**" in reply.cards[0].description
    digest = await digest_repo.find_digest(app.db)
    assert digest is not None
    await app.services.summaries.get(app.db, digest)  # what the daily post and the home page ask
    assert calls == []


async def test_an_old_digest_or_a_process_without_the_upkeep_lease_warms_nothing_on_load(
        app: App, fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert app.warmer is not None
    calls = count_counting(monkeypatch)
    papers = sample_records(fixtures)
    await app.loader.load(ParsedDigest("hf-daily", SAMPLE_DATE - dt.timedelta(days=30), "hf-page", papers[:20]))
    app.warmer.active = False  # another process holds the upkeep lease: it warms
    await app.loader.load(ParsedDigest("hf-daily", SAMPLE_DATE, "hf-page", papers))
    await app.warmer.idle()
    assert calls == []
    # That process's upkeep round finds the latest digest cold and warms it.
    app.warmer.active = True
    await app.warmer.upkeep()
    assert "live_phrase_counts" in calls
    calls.clear()
    await app.warmer.upkeep()  # warm already: a look-up in the cache
    assert calls == []


async def test_a_request_during_the_warm_up_waits_for_the_same_compose(db: Database, fixtures: Path) -> None:
    digest = await load(db, sample_records(fixtures)[:30], SAMPLE_DATE)
    gate = Gate()
    cache = SummaryCache(composer=gate)
    warmer = SummaryWarmer(db, cache, clock=ManualClock(NOW))
    warming = warmer.warm(digest)
    again = warmer.warm(digest)  # the same digest loaded again meanwhile: after the first, not beside it
    await gate.started.wait()
    asked = asyncio.ensure_future(cache.get(db, digest))
    await asyncio.sleep(0)
    gate.go.set()
    summary = await asked
    await asyncio.gather(warming, again)
    assert gate.calls == 1 and summary.digest_id == digest.id
    assert await cache.get(db, digest) is summary


async def test_closing_the_app_stops_a_warm_up_in_progress(db_address: str, fixtures: Path) -> None:
    app = await open_app(db_address)
    gate = Gate()
    app.services.summaries.composer = gate
    try:
        await app.loader.load(ParsedDigest("hf-daily", SAMPLE_DATE, "hf-page", sample_records(fixtures)[:30]))
        await asyncio.wait_for(gate.started.wait(), 10)
    finally:
        await app.close()
    assert gate.cancelled == 1
    assert app.warmer is not None and not app.warmer._tasks


async def test_phrase_counts_no_recent_digest_uses_are_forgotten_once_old(db: Database, fixtures: Path) -> None:
    papers = sample_records(fixtures)
    await load(db, papers[:40], SAMPLE_DATE)
    used = sorted(phrase_keys([themes.Document(i, p.title, p.abstract) for i, p in enumerate(papers[:40])]))
    assert used
    long_ago = NOW - dt.timedelta(days=KEEP_DAYS + 5)
    await summary_stats.save_term_counts(db, [(used[0], 7, 100), ("graph kernel", 3, 100), ("diffus", 9, 100)],
                                         now=long_ago)
    await summary_stats.save_term_counts(db, [("fresh phrase", 3, 100)], now=NOW - dt.timedelta(days=1))
    assert await evict(db, NOW) == 1
    left = await summary_stats.cached_term_counts(db, [used[0], "graph kernel", "diffus", "fresh phrase"])
    assert sorted(t for t, _, _ in left) == sorted([used[0], "diffus", "fresh phrase"])
    # The digest's days long past too, its phrases go as well.
    assert await evict(db, NOW + dt.timedelta(days=KEEP_DAYS + 1)) == 2


async def test_the_upkeep_forgets_old_phrase_counts_every_few_hours(db: Database) -> None:
    clock = ManualClock(NOW)
    warmer = SummaryWarmer(db, SummaryCache(), clock=clock)
    old = NOW - dt.timedelta(days=KEEP_DAYS + 1)
    await summary_stats.save_term_counts(db, [("graph kernel", 3, 100)], now=old)
    await warmer.upkeep()
    assert await summary_stats.cached_term_counts(db, ["graph kernel"]) == []
    await summary_stats.save_term_counts(db, [("graph kernel", 3, 100)], now=old)
    clock.advance(EVICT_EVERY / 2)
    await warmer.upkeep()
    assert len(await summary_stats.cached_term_counts(db, ["graph kernel"])) == 1  # not due yet
    clock.advance(EVICT_EVERY / 2)
    await warmer.upkeep()
    assert await summary_stats.cached_term_counts(db, ["graph kernel"]) == []
