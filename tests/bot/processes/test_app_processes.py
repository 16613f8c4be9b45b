"""A started App registers itself with its shards and runs the upkeep only while it holds the
lease; a second app on the same database waits its turn; a clean close leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from bot.chat.shards import ShardSet
from bot.config import Settings
from storage import processes
from tests.bot.schedule.fakes import FakeOutbound


async def test_started_apps_register_and_one_keeps_up_the_archive(tmp_path: Path) -> None:
    settings = Settings()
    settings.database.path = str(tmp_path / "paperboy.db")
    settings.fetch.enabled = False
    first = await App.open(settings, FakeOutbound(), platform="discord", shards=ShardSet.parse(["0-3"], 8))
    second = await App.open(settings, FakeOutbound(), platform="discord")
    try:
        assert first.services.lookup.sync.upkeep  # not started: a one-shot command keeps its own snapshot
        await first.start(notify_interval=3600)
        await second.start(notify_interval=3600)
        rows = await processes.list_processes(first.db)
        assert [(p.shards, p.command) for p in rows] == [("0-3 of 8", "run"), (None, "run")]
        assert first.holds == {"upkeep"} and second.holds == set()  # no fetching: no fetch lease asked for
        assert first.services.lookup.sync.upkeep and not second.services.lookup.sync.upkeep
    finally:
        await first.close()
    try:
        assert [p.shards for p in await processes.list_processes(second.db)] == [None]
        assert second._coordinator is not None
        await second._coordinator.beat()  # its next heartbeat: the lease given up on close is free
        assert second.holds == {"upkeep"} and second.services.lookup.sync.upkeep
    finally:
        await second.close()
    check = await App.open(settings, FakeOutbound())
    try:
        assert await processes.list_processes(check.db) == [] and await processes.list_leases(check.db) == []
    finally:
        await check.close()
