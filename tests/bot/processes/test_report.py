"""The processes as `paperboy status` and `/status` show them (bot/processes/report.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.commands.dispatch import dispatch
from bot.config import ProcessSettings
from bot.processes.report import age, gather_processes
from storage import processes
from storage.db import Database, now_utc
from tests.bot.commands.conftest import open_app

T0 = dt.datetime(2026, 12, 5, 15, 0, tzinfo=dt.UTC)
TTL = dt.timedelta(seconds=30)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.mark.both_backends
async def test_live_and_gone_processes_with_what_each_holds(db: Database) -> None:
    live = await processes.register(db, host="alpha", pid=11, shards="0-3", command="run", now=at(0))
    dead = await processes.register(db, host="beta", pid=22, shards="4-7", command="run", now=at(0))
    assert await processes.acquire(db, "fetch", live, now=at(0), ttl=TTL)
    assert await processes.acquire(db, "upkeep", dead, now=at(0), ttl=TTL)
    await processes.heartbeat(db, live, now=at(100))
    await processes.renew(db, "fetch", live, now=at(100), ttl=TTL)
    report = await gather_processes(db, ProcessSettings(), at(104))
    assert report.text(operator=True).splitlines() == [
        "alpha pid 11 · shards 0-3 · heartbeat 4 s ago · holds fetch",
        "beta pid 22 · shards 4-7 · gone: no heartbeat for 104 s",
        "upkeep: held by no process (the next heartbeat takes it)"]
    assert report.text(operator=False).splitlines()[:2] == [
        f"process {live} · shards 0-3 · heartbeat 4 s ago · holds fetch",
        f"process {dead} · shards 4-7 · gone: no heartbeat for 104 s"]
    data = report.to_json()
    assert [(p["host"], p["pid"], p["alive"], p["holds"], p["heartbeat_age_seconds"]) for p in data["processes"]] == [
        ("alpha", 11, True, ["fetch"], 4.0), ("beta", 22, False, [], 104.0)]
    assert data["unheld_leases"] == ["upkeep"]
    assert (await gather_processes(db, ProcessSettings(), at(104), ["upkeep"])).unheld == ["upkeep"]


async def test_nothing_running_says_so(db: Database) -> None:
    assert (await gather_processes(db, ProcessSettings(), T0)).text(operator=True) == (
        "none running (each `paperboy run` registers here)")


@pytest.mark.parametrize(("seconds", "shown"), [(0, "0 s"), (119.9, "119 s"), (120, "2 min"), (7199, "119 min"),
                                                (7200, "2 h"), (172_799, "47 h"), (172_800, "2 d")])
def test_ages_read_as_people_say_them(seconds: float, shown: str) -> None:
    assert age(seconds) == shown


async def test_the_status_card_lists_processes_without_host_names(tmp_path: Path) -> None:
    app, _ = await open_app(tmp_path, [])
    try:
        me = await processes.register(app.db, host="db-host.internal", pid=4242, shards="0-3", command="run",
                                      now=now_utc())
        admin = app.context("console:root", guild_id="console:lab", channel_id="console:general", is_admin=True)
        reply = await dispatch("status", {}, admin)
        [card] = reply.cards
        text = {f.name: f.value for f in card.fields}["Processes"]
        assert text.startswith(f"process {me} · shards 0-3 · heartbeat ")
        assert "db-host" not in str(reply) and "4242" not in str(reply)
    finally:
        await app.close()
