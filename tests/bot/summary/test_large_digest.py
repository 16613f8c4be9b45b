"""A digest of thousands of papers: /digest composes it off the event loop, once for all its pages."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.corpus import generate
from bot.app import App
from bot.commands import Context
from bot.commands.dispatch import dispatch, press
from bot.summary import Summary, compose, themes
from bot.summary.cache import SummaryCache
from storage.db import Database
from storage.records import DigestInfo, PaperRecord
from tests.bot.commands.conftest import open_app
from tests.bot.summary.conftest import load

DAY = dt.date(2025, 9, 12)
WAIT = 60.0  # seconds a phase waits for the loop to run: only reached when the loop is held (a failure)

compose_module = importlib.import_module("bot.summary.compose")


def synthetic(size: int, first: int = 0) -> list[PaperRecord]:
    """`size` papers with the corpus generator's realistic titles and abstracts."""
    return [PaperRecord(title=" ".join(r["title"].split()), abstract=" ".join(r["abstract"].split()),
                        arxiv_id=f"2512.{first + i:05d}", upvotes=i % 7)
            for i, r in enumerate(generate(size, seed=21))]


def test_assignment_is_the_best_scored_theme_holding_each_paper() -> None:
    found = [themes.Theme("a", (3, 1), 9.0), themes.Theme("b", (1, 2, 4), 5.0), themes.Theme("c", (4, 5), 1.0)]
    assert themes.assign(found, [1, 2, 3, 4, 5, 6]) == {1: 0, 2: 1, 3: 0, 4: 1, 5: 2, 6: None}


async def test_composing_a_large_digest_leaves_the_event_loop_free(db: Database,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Each in-memory phase of compose waits, inside itself, for a coroutine on the loop to tick
    again: it can only see that tick when it runs in a worker thread. On the loop, nothing else
    runs until it returns, and the wait gives up (`WAIT`)."""
    digest = await load(db, synthetic(2000), DAY)
    ticks = 0
    tick = threading.Condition()
    saw_loop_run: dict[str, bool] = {}

    def waits_for_a_tick(name: str, phase: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with tick:
                start = ticks
                saw_loop_run[name] = tick.wait_for(lambda: ticks > start, timeout=WAIT)
            return phase(*args, **kwargs)
        return wrapped

    for module, name in ((themes, "_phrases"), (themes, "select"), (compose_module, "_assemble")):
        monkeypatch.setattr(module, name, waits_for_a_tick(name, getattr(module, name)))

    async def ticker(done: asyncio.Event) -> None:
        nonlocal ticks
        while not done.is_set():
            with tick:
                ticks += 1
                tick.notify_all()
            await asyncio.sleep(0.001)

    done = asyncio.Event()
    ticking = asyncio.create_task(ticker(done))
    try:
        summary = await compose(db, digest)
    finally:
        done.set()
        await ticking
    assert saw_loop_run == {"_phrases": True, "select": True, "_assemble": True}
    assert summary.papers == 2000
    assert summary.themes
    assert sum(len(g.papers) for g in summary.groups) == 2000


async def _counting(app: App) -> list[int]:
    composed: list[int] = []

    async def counted(db: Database, digest: DigestInfo) -> Summary:
        composed.append(digest.id)
        return await compose(db, digest)

    app.services.summaries.composer = counted
    return composed


async def test_paging_through_the_full_list_composes_the_summary_once(tmp_path: Path) -> None:
    app, _ = await open_app(tmp_path, [])
    try:
        await load(app.db, synthetic(400), DAY)
        composed = await _counting(app)
        ctx = app.context("console:alice", guild_id="console:lab", channel_id="console:general")
        first = await dispatch("digest", {}, ctx)
        second = await press(first.buttons[0].action or "", ctx)
        third = await press(second.buttons[-1].action or "", ctx)
        assert "Page 3" in (third.cards[0].footer or "")
        assert len(composed) == 1
        # Two presses at once wait for one compose.
        app.services.summaries.clear()
        await asyncio.gather(press(second.buttons[-1].action or "", ctx), press(first.buttons[0].action or "", ctx))
        assert len(composed) == 2
    finally:
        await app.close()


async def test_a_load_that_changes_the_archive_composes_afresh(tmp_path: Path) -> None:
    app, _ = await open_app(tmp_path, [])
    try:
        digest = await load(app.db, synthetic(300), DAY)
        composed = await _counting(app)
        ctx: Context = app.context("console:alice", guild_id="console:lab", channel_id="console:general")
        first = await dispatch("digest", {}, ctx)
        before = await press(first.buttons[0].action or "", ctx)
        # A later day's digest: the archive the themes are measured against changed.
        await load(app.db, synthetic(50, first=5000), DAY + dt.timedelta(days=1))
        after = await press(first.buttons[0].action or "", ctx)
        assert composed == [digest.id, digest.id]
        assert after.cards[0].title == before.cards[0].title
    finally:
        await app.close()


async def test_a_failed_compose_is_not_kept(db: Database) -> None:
    digest = await load(db, synthetic(20), DAY)
    calls: list[int] = []

    async def flaky(db: Database, digest: DigestInfo) -> Summary:
        calls.append(digest.id)
        if len(calls) == 1:
            raise RuntimeError("the first compose fails")
        return await compose(db, digest)

    cache = SummaryCache(composer=flaky)
    with pytest.raises(RuntimeError):
        await cache.get(db, digest)
    assert (await cache.get(db, digest)).papers == 20
    assert (await cache.get(db, digest)).papers == 20
    assert len(calls) == 2
